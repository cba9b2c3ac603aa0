"""Labeled Faces in the Wild (LFW) through scikit-learn, for the paper profile."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..config import cache_dir
from ..download import QUICK_ALTERNATIVE, DownloadError, is_reachable
from .dataset import FaceDataset

# Where scikit-learn fetches LFW from (figshare mirror of vis-www.cs.umass.edu/lfw).
LFW_SOURCE = "https://ndownloader.figshare.com/files/5976015"
# LFW pictures are 250x250 with the (funneled) face in the middle: a square 125-pixel
# window over the face, the height of scikit-learn's default slice.
LFW_SLICE = (slice(70, 195), slice(63, 188))


class LFWUnavailableError(DownloadError):
    """LFW is neither in the cache nor downloadable."""


def lfw_data_home() -> Path:
    """scikit-learn's data_home for LFW inside the package cache."""
    return cache_dir() / "sklearn"


def _lfw_present(data_home: Path, funneled: bool) -> bool:
    folder = data_home / "lfw_home" / ("lfw_funneled" if funneled else "lfw")
    return folder.is_dir()


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

    Uses `sklearn.datasets.fetch_lfw_people(color=True)` with its own checksummed
    download (~230 MB) into `<cache>/sklearn` unless `data_home` is given. Offline,
    fails fast with a message naming the quick profile and `load_identity_folder`.
    """
    if image_size <= 0:
        raise ValueError(f"image_size must be positive, got {image_size}")
    if min_faces_per_person < 2:
        raise ValueError("min_faces_per_person must be at least 2 (a 70/30 split needs two)")
    from sklearn.datasets import fetch_lfw_people

    home = Path(data_home) if data_home is not None else lfw_data_home()
    where = home / "lfw_home"
    if not _lfw_present(home, funneled):
        if not download_if_missing:
            raise LFWUnavailableError(
                f"LFW is not in {where} and download_if_missing=False. {_alternatives(where)}"
            )
        if not is_reachable(LFW_SOURCE, timeout=connect_timeout):
            raise LFWUnavailableError(
                f"Cannot download LFW (lfw-funneled.tgz, ~230 MB) from {LFW_SOURCE}: the "
                f"server is unreachable (offline?). {_alternatives(where)}"
            )
    crop = LFW_SLICE[0].stop - LFW_SLICE[0].start
    try:
        bunch = fetch_lfw_people(
            data_home=str(home),
            funneled=funneled,
            resize=None,
            min_faces_per_person=min_faces_per_person,
            color=True,
            slice_=LFW_SLICE,
            download_if_missing=download_if_missing,
            n_retries=1,
            delay=0.1,
        )
    except OSError as err:
        raise LFWUnavailableError(
            f"LFW could not be loaded from {where}: {err}. {_alternatives(where)}"
        ) from err
    except ValueError as err:  # min_faces_per_person too restrictive
        raise ValueError(f"LFW in {where}: {err}") from err

    faces = np.asarray(bunch.images)  # [N, crop, crop, 3] floats in [0, 1]
    labels = np.asarray(bunch.target)
    keep = _first_per_identity(labels, max_per_identity)
    images = []
    for face in faces[keep]:
        img = Image.fromarray(np.clip(np.rint(face * 255.0), 0, 255).astype(np.uint8))
        if img.size != (image_size, image_size):
            img = img.resize((image_size, image_size), Image.Resampling.LANCZOS)
        images.append(torch.from_numpy(np.array(img)).permute(2, 0, 1))
    return FaceDataset(
        name="lfw",
        images=torch.stack(images),
        labels=torch.as_tensor(labels[keep]),
        identities=[str(n) for n in bunch.target_names],
        paths=None,
        meta={
            "source": str(where),
            "funneled": funneled,
            "crop": crop,
            "min_faces_per_person": min_faces_per_person,
            "max_per_identity": max_per_identity,
        },
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
