"""The paper profile's faces: LFW, or any folder with one sub-folder per person.

`load_paper_dataset()` reads `FACECURE_DATASET` when no dataset is named ("lfw" by default),
so one setting points every notebook (and `run_all`) at another folder, e.g. the small face
folder of the paper-smoke test.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .dataset import FaceDataset, subset
from .folder import load_identity_folder
from .lfw import load_lfw

DATASET_ENV = "FACECURE_DATASET"
# LFW (13,233 pictures of 5,749 people): how many people have at least k pictures, i.e.
# the identities of fetch_lfw_people(min_faces_per_person=k). Known counts only.
LFW_PEOPLE_WITH_AT_LEAST = {2: 1680, 10: 158, 20: 62, 70: 7}
PUBLIC_FRACTION = 0.5  # load_scenario makes half of the identities public by default


def private_identities(n_identities: int, public_fraction: float = PUBLIC_FRACTION) -> int:
    """How many identities stay private when `load_scenario` makes a fraction public."""
    return n_identities - int(n_identities * public_fraction)


def lfw_min_faces(min_private: int = 50, min_pictures: int = 10) -> int:
    """The LFW threshold `min_faces_per_person` for the wanted sizes: the largest known
    threshold of at least `min_pictures` pictures per person (every attacker needs them)
    whose people still leave `min_private` private identities after the public/private split.

    With the defaults: 10 (158 people, 79 private); 20 would leave 31 (62 people).
    """
    fits = [
        k
        for k, n in LFW_PEOPLE_WITH_AT_LEAST.items()
        if k >= min_pictures and private_identities(n) >= min_private
    ]
    if not fits:
        known = ", ".join(f">= {k}: {n} people" for k, n in LFW_PEOPLE_WITH_AT_LEAST.items())
        raise ValueError(
            f"No known LFW threshold gives {min_private} private identities with at least "
            f"{min_pictures} pictures each (LFW: {known}). Lower min_private or min_pictures, "
            "or use a larger folder of faces."
        )
    return max(fits)


def load_paper_dataset(
    dataset: str | os.PathLike | None = None,
    image_size: int = 112,
    seed: int = 0,
    *,
    min_private: int = 50,
    min_pictures: int = 10,
    max_identities: int | None = None,
    max_pictures: int | None = None,
) -> FaceDataset:
    """The faces of the paper profile: "lfw", or the path of a folder with one sub-folder
    per person (each with at least `min_pictures` pictures). None reads `FACECURE_DATASET`
    ("lfw" if unset). LFW keeps the people with enough pictures for `min_private` private
    identities (`lfw_min_faces`). `max_identities` keeps a `seed`-chosen subset of people,
    `max_pictures` a `seed`-chosen subset of each person's pictures (in their order).
    """
    dataset = dataset or os.environ.get(DATASET_ENV) or "lfw"
    if str(dataset).strip().lower() == "lfw":
        k = lfw_min_faces(min_private, min_pictures)
        ds = load_lfw(min_faces_per_person=k, image_size=image_size)
    else:
        ds = load_identity_folder(
            _existing_folder(dataset), image_size=image_size, min_pictures=min_pictures
        )
    if max_identities is not None and max_identities < ds.n_identities:
        if max_identities < 2:
            raise ValueError(f"max_identities must be at least 2 or None, got {max_identities}")
        rng = np.random.default_rng(seed)
        keep = sorted(rng.choice(ds.n_identities, size=max_identities, replace=False).tolist())
        ds = subset(ds, keep, ds.name)
    if max_pictures is not None:
        ds = at_most_pictures(ds, max_pictures, seed)
    return ds


def at_most_pictures(ds: FaceDataset, k: int, seed: int = 0) -> FaceDataset:
    """The dataset with at most `k` pictures of each person (a seeded choice, order kept)."""
    if k < 2:
        raise ValueError(f"max_pictures must be at least 2 (a 70/30 split) or None, got {k}")
    rng = np.random.default_rng(seed)
    keep = []
    for label in range(ds.n_identities):
        idx = ds.indices_of(label).numpy()
        keep.append(np.sort(rng.choice(idx, size=k, replace=False)) if len(idx) > k else idx)
    order = torch.as_tensor(np.sort(np.concatenate(keep)))
    if len(order) == len(ds):
        return ds
    paths = [ds.paths[i] for i in order.tolist()] if ds.paths else None
    meta = {**ds.meta, "max_pictures_per_identity": k}
    return replace(ds, images=ds.images[order], labels=ds.labels[order], paths=paths, meta=meta)


def _existing_folder(dataset: str | os.PathLike) -> Path:
    path = Path(dataset).expanduser()
    if path.is_dir():
        return path
    what = "is a file, not a folder" if path.exists() else "is neither 'lfw' nor an existing folder"
    raise ValueError(
        f"Unknown dataset {str(dataset)!r}: it {what}. Use dataset='lfw' (downloads LFW), or "
        "the path of a folder with one sub-folder per person (root/<person>/<picture>.jpg), "
        f"e.g. {DATASET_ENV}=/path/to/faces."
    )
