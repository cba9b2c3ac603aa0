"""dlib-resnet speed: loading the vendored weights, and embedding 100 generated pictures.

    FACECURE_THREADS=1 python benchmarks/dlib_resnet.py [--n 100] [--size 64]

Runs on the CPU with the threads `facecure_lib.config.set_threads` picks (FACECURE_THREADS
overrides); pictures are upscaled to 150x150 inside the extractor. Prints seconds.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from facecure_lib.config import set_threads
from facecure_lib.data.generate import generate_faces
from facecure_lib.models.dlib_resnet import load_dlib_resnet
from facecure_lib.recognition import embed


def run(n: int = 100, size: int = 64) -> dict:
    """Seconds to load the network and to embed n generated pictures of `size` px."""
    ds = generate_faces(max(2, n // 20 + 1), 20, size, seed=0, cache=False, progress=False)
    images = ds.images[:n]
    t = time.perf_counter()
    model = load_dlib_resnet()
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    embed(model, images, batch_size=50, device=torch.device("cpu"), cache=False)
    embed_s = time.perf_counter() - t
    return {
        "threads": torch.get_num_threads(),
        "pictures": len(images),
        "size": size,
        "load_s": round(load_s, 3),
        "embed_s": round(embed_s, 3),
        "total_s": round(load_s + embed_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    set_threads()
    print(json.dumps(run(args.n, args.size)))


if __name__ == "__main__":
    main()
