"""Write tests/fixtures/dlib_parity.npz: face-api.js's descriptors of synthetic pictures.

The fixture holds 42 pictures (uint8 [N, 150, 150, 3], RGB, HWC) and the descriptors
face-api.js computes for them in node (float32 [N, 128]), with the versions used. No real
person's photo: generated faces (`facecure_lib.data.generate.generate_faces`, several
identities at 64 px upscaled, and some at 96, 150 and 224 px), uniform noise, gradients,
flat colours and synthetic shapes.

What is compared: the pictures are fed to `faceRecognitionNet.computeFaceDescriptor` as
150x150 int32 tensors, so face-api.js neither pads nor resizes them; its own normalisation,
(pixel - mean RGB) / 255 in @vladmandic/face-api 1.7.15, is part of the reference. The test
applies that same normalisation and runs the backbone alone (the extractor itself divides by
256 like dlib; see facecure_lib/models/dlib_resnet.py).

Regenerate (needs node >= 18 and the npm registry; node_modules/ is not committed):

    cd scripts/dlib_parity && npm ci && cd ../..
    PYTHONPATH=. python scripts/dlib_parity/make_fixture.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "dlib_parity.npz"
SIZE = 150


def _resize(images: torch.Tensor) -> np.ndarray:
    """uint8 [N, 3, h, w] -> uint8 [N, 150, 150, 3] (bilinear, as the Extractor resizes)."""
    x = F.interpolate(images.float(), size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def faces() -> np.ndarray:
    """20 generated faces: 12 at 64 px (4 identities), 4 at 96, 2 at 150, 2 at 224."""
    from facecure_lib.data.generate import generate_faces

    out = []
    for n_ids, k, size, seed in ((4, 3, 64, 0), (2, 2, 96, 1), (2, 2, 150, 2), (2, 2, 224, 3)):
        ds = generate_faces(n_ids, k, size, seed=seed, cache=False, progress=False)
        take = torch.arange(len(ds))[: {64: 12, 96: 4, 150: 2, 224: 2}[size]]
        out.append(_resize(ds.images[take]))
    return np.concatenate(out)


def noise(rng: np.random.Generator) -> np.ndarray:
    """6 uniform-noise pictures (full range), 2 faint noise around grey."""
    full = rng.integers(0, 256, (6, SIZE, SIZE, 3), dtype=np.uint8)
    faint = np.clip(128 + rng.normal(0, 6, (2, SIZE, SIZE, 3)), 0, 255).round()
    return np.concatenate([full, faint.astype(np.uint8)])


def gradients() -> np.ndarray:
    """6 ramps: horizontal, vertical, diagonal, per-channel, radial, inverted horizontal."""
    t = np.linspace(0.0, 1.0, SIZE)
    yy, xx = np.meshgrid(t, t, indexing="ij")
    r = np.clip(np.hypot(yy - 0.5, xx - 0.5) / 0.71, 0, 1)
    grey = [xx, yy, (xx + yy) / 2, r, 1 - xx]
    pics = [np.repeat(g[..., None], 3, axis=2) for g in grey]
    pics.insert(3, np.stack([xx, yy, 1 - xx], axis=2))
    return (np.stack(pics) * 255).round().astype(np.uint8)


def shapes(rng: np.random.Generator) -> np.ndarray:
    """8 synthetic pictures: flat colours (black, white, the mean colour) and shapes."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    flat = [
        np.full((SIZE, SIZE, 3), c, np.uint8) for c in ((0, 0, 0), (255, 255, 255), (123, 117, 104))
    ]
    pics = list(flat)
    disc = np.zeros((SIZE, SIZE, 3), np.uint8) + np.uint8([40, 90, 160])
    disc[(yy - 75) ** 2 + (xx - 70) ** 2 < 45**2] = (230, 180, 150)
    pics.append(disc)
    rect = np.zeros((SIZE, SIZE, 3), np.uint8) + 200
    rect[30:110, 40:120] = (20, 120, 60)
    rect[60:80, 10:140] = (250, 30, 30)
    pics.append(rect)
    pics.append(((((yy // 15) + (xx // 15)) % 2) * 255)[..., None].repeat(3, 2).astype(np.uint8))
    pics.append(((np.sin(xx / 4.0) > 0) * 255)[..., None].repeat(3, 2).astype(np.uint8))
    blobs = np.zeros((SIZE, SIZE, 3), np.uint8) + 90
    for _ in range(6):
        cy, cx, rad = rng.integers(20, 130), rng.integers(20, 130), rng.integers(8, 30)
        blobs[(yy - cy) ** 2 + (xx - cx) ** 2 < rad**2] = rng.integers(0, 256, 3)
    pics.append(blobs)
    return np.stack(pics)


def make_inputs(seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """All fixture pictures, uint8 [N, 150, 150, 3], and a kind for each."""
    rng = np.random.default_rng(seed)
    parts = {"face": faces(), "noise": noise(rng), "gradient": gradients(), "shape": shapes(rng)}
    kinds = [k for k, v in parts.items() for _ in range(len(v))]
    return np.ascontiguousarray(np.concatenate(list(parts.values()))), kinds


def run_node(images: np.ndarray) -> tuple[np.ndarray, dict]:
    """face-api.js's descriptors of the pictures (node, tfjs cpu backend) and its versions."""
    if not (HERE / "node_modules").is_dir():
        sys.exit(f"run `npm ci` in {HERE} first")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images.tofile(tmp / "in.u8")
        subprocess.run(
            [
                "node",
                str(HERE / "reference.js"),
                str(tmp / "in.u8"),
                str(len(images)),
                str(tmp / "out.f32"),
                str(tmp / "info.json"),
            ],
            check=True,
            cwd=HERE,
        )
        desc = np.fromfile(tmp / "out.f32", "<f4").reshape(len(images), 128)
        info = json.loads((tmp / "info.json").read_text())
    return desc, info


def main() -> None:
    torch.set_num_threads(1)
    from facecure_lib.cache import file_sha256

    images, kinds = make_inputs()
    desc, info = run_node(images)
    model_dir = HERE / "node_modules" / "@vladmandic" / "face-api" / "model"
    info["sha256"] = {p.name: file_sha256(p) for p in sorted(model_dir.glob("face_recogn*"))}
    info["input"] = "uint8 RGB 150x150, fed as is; face-api normalises (x - mean) / 255"
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        FIXTURE,
        images=images,
        descriptors=desc.astype(np.float32),
        kinds=np.array(kinds),
        info=np.array(json.dumps(info, sort_keys=True)),
    )
    print(f"wrote {FIXTURE} ({len(images)} pictures, {FIXTURE.stat().st_size / 1e6:.2f} MB)")
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
