"""Labeled Faces in the Wild (LFW) for the paper profile, read straight from its JPEG folders.

scikit-learn's `fetch_lfw_people` caches its result with `joblib.Memory`, which unpickles
`lfw_home/joblib/.../output.pkl` without any check: anyone who can write that folder can run
code in every later session. So the library never calls it. It downloads the same archive
(sha256 as published by scikit-learn), extracts it in scikit-learn's layout
(`<data_home>/lfw_home/lfw_funneled/<Person_Name>/*.jpg`, so an existing scikit-learn copy
is reused), selects, crops and orders the pictures exactly as `fetch_lfw_people` does, and
caches the faces as safetensors with a sha256 sidecar (`cache.cached_tensors`).
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..cache import cached_tensors, config_hash
from ..config import cache_dir
from ..download import QUICK_ALTERNATIVE, DownloadError, download, is_reachable
from .dataset import FaceDataset

# Where LFW comes from (figshare mirror of vis-www.cs.umass.edu/lfw), with the sha256 that
# scikit-learn publishes for each archive (sklearn/datasets/_lfw.py).
LFW_SOURCE = "https://ndownloader.figshare.com/files/5976015"
LFW_ARCHIVES = {
    True: ("lfw-funneled.tgz", "b47c8422c8cded889dc5a13418c4bc2abbda121092b3533a83306f90d900100a"),
    False: ("lfw.tgz", "055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0"),
}
LFW_PLAIN_SOURCE = "https://ndownloader.figshare.com/files/5976018"
# LFW pictures are 250x250 with the (funneled) face in the middle: a square 125-pixel
# window over the face, the height of scikit-learn's default slice.
LFW_SLICE = (slice(70, 195), slice(63, 188))
LFW_SHUFFLE_SEED = 42  # fetch_lfw_people's fixed shuffle of the pictures
LFW_CACHE_VERSION = 1


class LFWUnavailableError(DownloadError):
    """LFW is neither in the cache nor downloadable."""


def lfw_data_home() -> Path:
    """scikit-learn's data_home for LFW inside the package cache."""
    return cache_dir() / "sklearn"


def _folder(data_home: Path, funneled: bool) -> Path:
    return data_home / "lfw_home" / ("lfw_funneled" if funneled else "lfw")


def _lfw_present(data_home: Path, funneled: bool) -> bool:
    return _folder(data_home, funneled).is_dir()


def fetch_lfw_folder(data_home: Path, funneled: bool = True, connect_timeout: float = 5.0) -> Path:
    """Download (sha256-checked) and extract LFW into `<data_home>/lfw_home`; return the
    picture folder. The archive is extracted beside it first and renamed into place."""
    name, sha256 = LFW_ARCHIVES[funneled]
    url = LFW_SOURCE if funneled else LFW_PLAIN_SOURCE
    where = data_home / "lfw_home"
    where.mkdir(parents=True, exist_ok=True)
    archive = download(
        url, where / name, sha256, what=f"LFW ({name}, ~230 MB)", connect_timeout=connect_timeout
    )
    final = _folder(data_home, funneled)
    with tempfile.TemporaryDirectory(dir=where, prefix=".extract-") as tmp:
        with tarfile.open(archive, "r:gz") as tar:
            safe = getattr(tarfile, "data_filter", None)  # no links or paths out of tmp
            tar.extractall(tmp, **({"filter": safe} if safe else {}))
        os.replace(Path(tmp) / final.name, final)
    archive.unlink()
    return final


def lfw_listing(folder: Path, min_faces_per_person: int) -> tuple[list[str], list[Path]]:
    """People with at least `min_faces_per_person` pictures, as `fetch_lfw_people` selects
    them: (one name per picture, "Ann_Lee" -> "Ann Lee"; picture paths), in name order."""
    names, paths = [], []
    for person in sorted(os.listdir(folder)):
        sub = folder / person
        if not sub.is_dir():
            continue
        files = [sub / f for f in sorted(os.listdir(sub))]
        if len(files) >= min_faces_per_person:
            names += [person.replace("_", " ")] * len(files)
            paths += files
    return names, paths


def read_faces(paths: list[Path], order: np.ndarray, image_size: int) -> torch.Tensor:
    """The LFW_SLICE window of each picture (in `order`), resized, as uint8 [N, 3, S, S]."""
    (top, bottom), (left, right) = ((s.start, s.stop) for s in LFW_SLICE)
    out = torch.empty(len(order), 3, image_size, image_size, dtype=torch.uint8)
    for i, k in enumerate(order):
        with Image.open(paths[k]) as img:
            face = img.convert("RGB").crop((left, top, right, bottom))
        if face.size != (image_size, image_size):
            face = face.resize((image_size, image_size), Image.Resampling.LANCZOS)
        out[i] = torch.from_numpy(np.array(face)).permute(2, 0, 1)
    return out


def load_lfw(
    min_faces_per_person: int = 20,
    image_size: int = 112,
    *,
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
    funneled: bool = True,
    max_per_identity: int | None = None,
    connect_timeout: float = 5.0,
) -> FaceDataset:
    """People of LFW with at least `min_faces_per_person` pictures, as square uint8 faces.

    The same people, pictures, crop and order as `sklearn.datasets.fetch_lfw_people(
    color=True, slice_=LFW_SLICE)`, without its pickle cache (see the module docstring).
    Downloads (~230 MB, sha256-checked) into `<cache>/sklearn` unless `data_home` is given;
    offline, fails fast with a message naming the quick profile and `load_identity_folder`.
    """
    if image_size <= 0:
        raise ValueError(f"image_size must be positive, got {image_size}")
    if min_faces_per_person < 2:
        raise ValueError("min_faces_per_person must be at least 2 (a 70/30 split needs two)")
    home = Path(data_home) if data_home is not None else lfw_data_home()
    where = home / "lfw_home"
    folder = _folder(home, funneled)
    if not folder.is_dir():
        _check_can_fetch(where, download_if_missing, connect_timeout)
        try:
            fetch_lfw_folder(home, funneled, connect_timeout)
        except (DownloadError, OSError, tarfile.TarError) as err:
            raise LFWUnavailableError(
                f"LFW could not be loaded from {where}: {err}. {_alternatives(where)}"
            ) from err
    names, paths = lfw_listing(folder, min_faces_per_person)
    if not paths:
        raise ValueError(
            f"LFW in {where}: min_faces_per_person={min_faces_per_person} is too restrictive"
        )
    identities = sorted(set(names))
    labels = np.searchsorted(identities, names)
    order = np.arange(len(paths))
    np.random.RandomState(LFW_SHUFFLE_SEED).shuffle(order)
    order = order[_first_per_identity(labels[order], max_per_identity)]
    key = {
        "version": LFW_CACHE_VERSION,
        "folder": str(folder.resolve()),
        "files": config_hash([(str(p), p.stat().st_size) for p in paths]),
        "slice": [[s.start, s.stop] for s in LFW_SLICE],
        "image_size": image_size,
        "order": config_hash(order.tolist()),
    }
    faces = cached_tensors("lfw", key, lambda: {"images": read_faces(paths, order, image_size)})
    return FaceDataset(
        name="lfw",
        images=faces["images"],
        labels=torch.as_tensor(labels[order]),
        identities=identities,
        paths=None,
        meta={
            "source": str(where),
            "funneled": funneled,
            "crop": LFW_SLICE[0].stop - LFW_SLICE[0].start,
            "min_faces_per_person": min_faces_per_person,
            "max_per_identity": max_per_identity,
        },
    )


def _check_can_fetch(where: Path, download_if_missing: bool, connect_timeout: float) -> None:
    if not download_if_missing:
        raise LFWUnavailableError(
            f"LFW is not in {where} and download_if_missing=False. {_alternatives(where)}"
        )
    if not is_reachable(LFW_SOURCE, timeout=connect_timeout):
        raise LFWUnavailableError(
            f"Cannot download LFW (lfw-funneled.tgz, ~230 MB) from {LFW_SOURCE}: the "
            f"server is unreachable (offline?). {_alternatives(where)}"
        )


def _first_per_identity(labels: np.ndarray, limit: int | None) -> np.ndarray:
    if limit is None:
        return np.arange(len(labels))
    if limit < 2:
        raise ValueError(f"max_per_identity must be at least 2 or None, got {limit}")
    seen: dict[int, int] = {}
    keep = []
    for i, label in enumerate(labels.tolist()):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] <= limit:
            keep.append(i)
    return np.asarray(keep)


def _alternatives(where: Path) -> str:
    return (
        f"Use {QUICK_ALTERNATIVE}; or put LFW there yourself "
        f"({where}/lfw_funneled/<Person_Name>/<Person_Name>_0001.jpg plus pairs*.txt); "
        "or load any folder with one sub-folder per person through "
        "facecure_lib.data.folder.load_identity_folder(root)."
    )
