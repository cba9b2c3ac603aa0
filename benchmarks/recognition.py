"""Recognition speed: embeddings/s per extractor, and 1-NN search time as the gallery grows.

    python benchmarks/recognition.py [--quick]

The 1-NN method is the one `facecure_lib.recognition.nearest_neighbors` uses (exact
Euclidean distances with torch.cdist + a per-identity min); FAISS (`faiss-cpu`, exact
IndexFlatL2) is timed beside it when installed.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from facecure_lib.config import set_threads
from facecure_lib.recognition import embed, nearest_neighbors


def embeddings_per_second(names: list[str], n: int = 512) -> dict[str, float]:
    """Embeddings/s of each quick extractor on n generated pictures (no cache)."""
    from facecure_lib.scenario import load_scenario
    from facecure_lib.zoo import load_extractor

    sc = load_scenario("quick", progress=False)
    imgs = sc.ds.images[:n]
    out = {}
    for name in names:
        model = load_extractor(name, sc, progress=False)
        embed(model, imgs[:64], cache=False)  # warm-up
        t = time.perf_counter()
        embed(model, imgs, cache=False)
        out[name] = round(n / (time.perf_counter() - t), 1)
    return out


def search_times(
    sizes: list[int], n_probes: int = 1000, dim: int = 128, n_ids: int = 1000
) -> list[dict]:
    """Seconds to answer n_probes 1-NN queries against galleries of growing size."""
    try:
        import faiss
    except ImportError:
        faiss = None
    g = torch.Generator().manual_seed(0)
    rows = []
    for size in sizes:
        gallery = torch.randn(size, dim, generator=g)
        labels = torch.randint(min(n_ids, size), (size,), generator=g)
        probes = torch.randn(n_probes, dim, generator=g)
        t = time.perf_counter()
        for i in range(0, n_probes, 250):  # bounded memory: 250 x size distances at a time
            nearest_neighbors(gallery, labels, probes[i : i + 250], 1)
        row = {
            "gallery": size,
            "probes": n_probes,
            "torch_cdist_s": round(time.perf_counter() - t, 3),
        }
        if faiss is not None:
            index = faiss.IndexFlatL2(dim)
            index.add(gallery.numpy())
            t = time.perf_counter()
            index.search(probes.numpy(), 1)
            row["faiss_flat_s"] = round(time.perf_counter() - t, 3)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", help="write the figures to this file too")
    args = ap.parse_args()
    set_threads()
    from facecure_lib.zoo import TIMELINE

    res = {
        "embeddings_per_s": embeddings_per_second(TIMELINE[:2] if args.quick else TIMELINE),
        "search": search_times([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]),
    }
    print(json.dumps(res, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
