"""Faces from a folder with one sub-folder per identity (FaceScrub, PubFig, your photos).

    root/
      Alice/  001.jpg 002.png ...
      Bob/    a.jpg b.jpg ...

Input files are only ever opened for reading. Every problem in the layout is collected
first and reported in one `DatasetLayoutError` that lists each offending path and the fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image

from .dataset import FaceDataset
from .files import (
    center_square,
    decode_problem,
    file_problem,
    is_ignored,
    is_image_name,
    shown_path,
    to_tensor,
)


class DatasetLayoutError(ValueError):
    """A folder that cannot be read as one-sub-folder-per-identity faces.

    `problems` holds (path, what is wrong and how to fix it) pairs, one per offence.
    """

    def __init__(self, root: Path, problems: list[tuple[str, str]]) -> None:
        self.root = root
        self.problems = problems
        lines = "\n".join(f"  - {shown_path(path)}: {msg}" for path, msg in problems)
        super().__init__(
            f"{len(problems)} problem(s) in the face folder {root}:\n{lines}\n"
            "Expected layout: one sub-folder per person, each holding that person's "
            "pictures (root/<person>/<picture>.jpg). Input files were not modified."
        )


def _load_one(path: Path, image_size: int, align: bool) -> tuple[torch.Tensor | None, str | None]:
    """Decode one picture and make it a square uint8 tensor, or say what is wrong."""
    img, problem = decode_problem(path)
    if problem:
        return None, problem
    if not align:
        return to_tensor(center_square(img, image_size)), None
    from .align import crop_faces

    face = crop_faces([img], image_size, skip_missing=True)[0]
    if face is None:
        return None, "no face found by MTCNN; crop it by hand, remove it, or load with align=False"
    return face, None


def scan_identity_folder(
    root: str | os.PathLike, *, max_per_identity: int | None = None
) -> tuple[dict[str, list[Path]], list[tuple[str, str]]]:
    """Walk the layout without decoding: (identity -> picture paths, layout problems)."""
    root = Path(root)
    problems: list[tuple[str, str]] = []
    if not root.exists():
        return {}, [(str(root), "does not exist; check the path")]
    if not root.is_dir():
        return {}, [
            (
                str(root),
                "is a file, not a folder; give the folder that holds one sub-folder per person",
            )
        ]
    people: dict[str, list[Path]] = {}
    for entry in sorted(root.iterdir()):
        if is_ignored(entry):
            continue
        if entry.is_file():
            if is_image_name(entry):
                problems.append(
                    (
                        str(entry),
                        "loose picture at the top level; move it into "
                        "the sub-folder of the person it shows",
                    )
                )
            continue
        if not entry.is_dir():
            continue
        files, extra = [], []
        for item in sorted(entry.iterdir()):
            if is_ignored(item):
                continue
            if item.is_dir():
                extra.append(
                    (
                        str(item),
                        "nested folder inside an identity folder; move its "
                        "pictures up one level or out of the dataset",
                    )
                )
            elif is_image_name(item):
                problem = file_problem(item)
                if problem:  # a named pipe would block the loader
                    extra.append((str(item), problem))
                else:
                    files.append(item)
            else:
                extra.append(
                    (
                        str(item),
                        f"not an image (suffix {item.suffix or 'none'!r}); "
                        "remove it or convert it to JPEG/PNG",
                    )
                )
        problems.extend(extra)
        if not files and not extra:
            problems.append((str(entry), "empty identity folder; add pictures or remove it"))
            continue
        people[entry.name] = files[:max_per_identity] if max_per_identity else files
    if not people and not problems:
        problems.append(
            (
                str(root),
                "no identity sub-folders; make one folder per person "
                "and put that person's pictures in it",
            )
        )
    return people, problems


def load_identity_folder(
    root: str | os.PathLike,
    *,
    image_size: int = 112,
    min_pictures: int = 2,
    align: bool = False,
    max_per_identity: int | None = None,
    name: str | None = None,
    workers: int | None = None,
) -> FaceDataset:
    """Load every identity folder under `root` as a `FaceDataset` of square uint8 faces.

    Pictures are center-cropped and resized (antialiased) to `image_size`, or, with
    `align=True`, cropped around the face MTCNN finds (needs facenet-pytorch; pictures
    without a face are reported as problems). `max_per_identity` keeps the first pictures
    of each folder in name order. Raises `DatasetLayoutError` listing every problem.
    """
    if image_size <= 0:
        raise ValueError(f"image_size must be positive, got {image_size}")
    if min_pictures < 1:
        raise ValueError(f"min_pictures must be at least 1, got {min_pictures}")
    if max_per_identity is not None and max_per_identity < 1:
        raise ValueError(f"max_per_identity must be at least 1 or None, got {max_per_identity}")
    root = Path(root).expanduser()
    people, problems = scan_identity_folder(root, max_per_identity=max_per_identity)

    all_paths = [p for files in people.values() for p in files]
    n_workers = 1 if align else (workers or min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        results = list(pool.map(lambda p: _load_one(p, image_size, align), all_paths))
    good: dict[str, list[tuple[Path, torch.Tensor]]] = {}
    loaded = dict(zip(all_paths, results))
    for person, files in people.items():
        for path in files:
            tensor, err = loaded[path]
            if err:
                problems.append((str(path), err))
            else:
                good.setdefault(person, []).append((path, tensor))

    for person in people:
        n = len(good.get(person, []))
        if n < min_pictures:
            problems.append(
                (
                    str(root / person),
                    f"{n} usable picture(s), fewer than "
                    f"min_pictures={min_pictures}; add pictures, "
                    "remove the folder, or lower min_pictures",
                )
            )
    if problems:
        raise DatasetLayoutError(root, problems)

    identities = sorted(good)
    images, labels, paths = [], [], []
    for label, person in enumerate(identities):
        for path, tensor in good[person]:
            images.append(tensor)
            labels.append(label)
            paths.append(str(path))
    return FaceDataset(
        name=name or root.name,
        images=torch.stack(images),
        labels=torch.as_tensor(labels),
        identities=identities,
        paths=paths,
        meta={
            "source": str(root),
            "aligned": align,
            "image_size": image_size,
            "min_pictures": min_pictures,
            "max_per_identity": max_per_identity,
        },
    )


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\- ]+", "_", name).strip(" .")
    return cleaned or "identity"


def save_identity_folder(
    ds: FaceDataset, root: str | os.PathLike, identities: Iterable[int] | None = None
) -> Path:
    """Write a dataset as root/<identity>/<identity>_<k>.png (for demos and tests)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    wanted = set(range(ds.n_identities) if identities is None else identities)
    counters: dict[int, int] = {}
    for i in range(len(ds)):
        label = int(ds.labels[i])
        if label not in wanted:
            continue
        k = counters[label] = counters.get(label, 0) + 1
        folder = root / _safe_name(ds.identities[label])
        folder.mkdir(exist_ok=True)
        arr = ds.images[i].permute(1, 2, 0).cpu().numpy()
        Image.fromarray(arr).save(folder / f"{folder.name}_{k:04d}.png")
    return root
