"""Paper-profile stand-ins for offline tests and the paper-smoke run: a small face folder in
LFW's layout, and a `FACECURE_MIRROR` folder with random-weight stand-ins (seeded, real
architectures, the real file names and formats) for every paper asset plus its SHA256SUMS.

Stand-ins are saved in half precision where the real file is large (load_state_dict casts
to the model's float32; OpenAI's own CLIP release is half precision too). OpenAI's
ViT-B-32.pt is a TorchScript archive; its stand-in is a plain state dict of both towers,
which `read_state_dict` reads with weights_only (TorchScript is only ever opened when its
hash is OpenAI's). The LAION ViT-B/16 stand-in holds the image tower only (`visual.*`), all
the extractor loads. Pytest fixtures: `paper_mirror` (sets FACECURE_MIRROR, FACECURE_CACHE,
TORCH_HOME and FACECURE_DATASET to temporary folders). Outside pytest:

    python -m tests.paper_fixtures OUT   # writes OUT/mirror and OUT/faces, prints the exports
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from PIL import Image

from facecure_lib.asset_registry import ASSETS
from facecure_lib.data.paper_data import DATASET_ENV
from facecure_lib.mirror import MIRROR_ENV, reset_announcements, write_manifest

FACES = {"identities": 24, "pictures": 12, "size": 112}


def write_face_folder(
    root: str | Path, n_identities: int = 24, per_identity: int = 12, size: int = 112, seed: int = 0
) -> Path:
    """Generated faces as `<root>/<Person_Name>/<Person_Name>_0001.jpg` (LFW's layout)."""
    from facecure_lib.data.generate import generate_faces

    ds = generate_faces(n_identities, per_identity, size, seed, cache=False, progress=False)
    root = Path(root)
    counts: dict[int, int] = {}
    for image, label in zip(ds.images, ds.labels.tolist()):
        person = f"Generated_Person{label:03d}"
        counts[label] = counts.get(label, 0) + 1
        folder = root / person
        folder.mkdir(parents=True, exist_ok=True)
        picture = Image.fromarray(image.permute(1, 2, 0).numpy())
        picture.save(folder / f"{person}_{counts[label]:04d}.jpg", quality=95)
    return root


def _half(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}


def _facenet(name: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        from facecure_lib.models.pretrained import build_backbone

        sd = _half(build_backbone(name).state_dict())
        sd["logits.weight"] = torch.zeros(8, 512, dtype=torch.half)  # releases keep their head
        sd["logits.bias"] = torch.zeros(8, dtype=torch.half)
        torch.save(sd, path)

    return write


def _arcface(path: Path) -> None:
    from safetensors.torch import save_file

    from facecure_lib.models.iresnet import iresnet50

    sd = {k: v for k, v in iresnet50().state_dict().items() if "num_batches" not in k}
    save_file({k: v.contiguous() for k, v in _half(sd).items()}, str(path))  # as py-feat's


def _clip_b32(path: Path) -> None:
    from facecure_lib.models.pretrained import create_open_clip

    torch.save(_half(create_open_clip("ViT-B-32", quick_gelu=True).state_dict()), path)


def _clip_b16(path: Path) -> None:
    from facecure_lib.models.pretrained import build_backbone

    visual = build_backbone("clip-vit-b16-laion2b").state_dict()
    torch.save(_half({f"visual.{k}": v for k, v in visual.items()}), path)


def _torchvision(builder: str, half: bool) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import torchvision

        sd = getattr(torchvision.models, builder)(weights=None).state_dict()
        torch.save(_half(sd) if half else sd, path)

    return write


STANDINS: dict[str, Callable[[Path], None]] = {
    "facenet-vggface2": _facenet("facenet-vggface2"),
    "facenet-casia-webface": _facenet("facenet-casia-webface"),
    "arcface-r50-webface600k": _arcface,
    "clip-vit-b32-openai": _clip_b32,
    "clip-vit-b16-laion2b": _clip_b16,
    "mobilenet-v2-imagenet": _torchvision("mobilenet_v2", half=False),
    "alexnet-imagenet": _torchvision("alexnet", half=True),
}


def write_standin_mirror(root: str | Path, seed: int = 0, assets: list[str] | None = None) -> Path:
    """Random-weight stand-ins of the paper assets under their file names + SHA256SUMS."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(assets or list(STANDINS)):
        torch.manual_seed(seed + i)
        STANDINS[name](root / ASSETS[name].file_name)
    write_manifest(root)
    return root


@pytest.fixture(scope="session")
def standin_files(tmp_path_factory) -> tuple[Path, Path]:
    """(mirror folder, face folder), written once per test session."""
    base = tmp_path_factory.mktemp("paper")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        mirror = write_standin_mirror(base / "mirror")
        faces = write_face_folder(base / "faces", FACES["identities"], FACES["pictures"])
    finally:
        torch.set_num_threads(before)
    return mirror, faces


@pytest.fixture()
def paper_mirror(standin_files, tmp_path, monkeypatch) -> Path:
    """The stand-in mirror in use: FACECURE_MIRROR, a fresh FACECURE_CACHE and TORCH_HOME,
    and FACECURE_DATASET = the stand-in face folder. Returns the mirror folder."""
    mirror, faces = standin_files
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv(DATASET_ENV, str(faces))
    reset_announcements()  # each test sees the mirror warnings
    return mirror


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a stand-in mirror and face folder.")
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    mirror = write_standin_mirror(args.out / "mirror")
    faces = write_face_folder(args.out / "faces", FACES["identities"], FACES["pictures"])
    print(f"export {MIRROR_ENV}={mirror.resolve()} {DATASET_ENV}={faces.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
