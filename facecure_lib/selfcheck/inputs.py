"""Reading one person's photo folder: list and pair the files, decode them read-only, crop
clean and cloaked versions identically, and fingerprint the folder so that a check can
prove it never changed a byte of it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..cache import file_sha256
from ..data.files import (
    IMAGE_SUFFIXES,
    center_square,
    decode_problem,
    file_problem,
    is_ignored,
    to_tensor,
)
from ..progress import tqdm
from .names import pair_names, pattern_regex, resolve_pattern
from .pairs import implausible_pairs, orientation_problem, size_problem
from .spec import MIN_PICTURES, CheckInputError


@dataclass
class PhotoFolder:
    """The pictures of a photo folder, paired (no pixels read yet)."""

    folder: Path
    clean: list[Path]
    cloaked: list[Path] | None
    pattern: str
    notes: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def scan_photos(
    folder: str | os.PathLike,
    pattern: str = "fawkes",
    builtin_attack: bool = False,
    raise_problems: bool = True,
) -> PhotoFolder:
    """List and pair the photos of `folder` without decoding them.

    With `builtin_attack`, only clean photos are used (cloaked files are ignored, with a
    note). Otherwise every clean photo needs its cloaked version and vice versa. Raises
    `CheckInputError` naming each problem; with `raise_problems=False`, pairing problems are
    returned in `.problems` (with the usable pairs) so that `load_photos` can add its own.
    A missing folder, a file or a folder without pictures always raises.
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise CheckInputError(folder, [(str(folder), "does not exist; check the path")])
    if not folder.is_dir():
        raise CheckInputError(
            folder,
            [
                (
                    str(folder),
                    "is a file, not a folder; give the folder that holds one person's photos",
                )
            ],
        )
    pattern = resolve_pattern(pattern)
    notes, names, unusable = [], [], []
    for entry in sorted(folder.iterdir()):
        if is_ignored(entry):
            continue
        if entry.is_dir():
            notes.append(f"sub-folder {entry.name}/ ignored (only the top level is read)")
        elif entry.suffix.lower() in IMAGE_SUFFIXES:
            problem = file_problem(entry)
            if problem:  # a named pipe would block the reader; a newline breaks pairing
                unusable.append((str(entry), problem))
            else:
                names.append(entry.name)
        else:
            notes.append(f"{entry.name} ignored (not a picture)")
    if not names:
        raise CheckInputError(
            folder,
            unusable
            + [
                (
                    str(folder),
                    "no pictures found ("
                    f"{', '.join(sorted(IMAGE_SUFFIXES))}); put one "
                    "person's photos directly in this folder",
                )
            ],
        )
    pairs, unpaired, orphans, problems = pair_names(names, pattern)
    problems = unusable + [(str(folder / n), msg) for n, msg in problems]
    if builtin_attack:
        if pairs or orphans:
            notes.append(
                f"{len(pairs) + len(orphans)} cloaked file(s) matching {pattern!r} "
                "ignored: the built-in attack cloaks the clean photos itself"
            )
        clean = sorted(set(unpaired) | set(pairs))
        if not clean:
            problems.append(
                (
                    str(folder),
                    f"no clean photos (every picture matches the cloaked pattern {pattern!r})",
                )
            )
        if problems and raise_problems:
            raise CheckInputError(folder, problems)
        return PhotoFolder(folder, [folder / n for n in clean], None, pattern, notes, problems)
    if not pairs and not orphans:
        problems.append(
            (
                str(folder),
                f"no cloaked photos named like {pattern!r}; set the "
                "pattern your tool uses (--pattern fawkes, lowkey or e.g. "
                "'{stem}_protected.jpg'), or cloak the clean photos with "
                "a built-in attack (--attack fawkes_v10)",
            )
        )
    else:
        for n in orphans:
            problems.append(
                (
                    str(folder / n),
                    "cloaked photo without its clean partner "
                    f"(expected a clean file named like "
                    f"'{pattern_regex(pattern).match(n).group('stem')}"
                    ".<suffix>'); add the original or remove it",
                )
            )
        for n in unpaired:
            expected = pattern.format(stem=Path(n).stem, ext=Path(n).suffix)
            problems.append(
                (
                    str(folder / n),
                    f"clean photo without its cloaked version "
                    f"{expected!r}; cloak it, remove it, or set "
                    "--pattern",
                )
            )
    if problems and raise_problems:
        raise CheckInputError(folder, problems)
    clean = sorted(pairs)
    return PhotoFolder(
        folder,
        [folder / n for n in clean],
        [folder / pairs[n] for n in clean],
        pattern,
        notes,
        problems,
    )


@dataclass
class Photos:
    """One person's photos as square uint8 [N, 3, S, S] tensors (cloaked: None if absent)."""

    names: list[str]
    clean: torch.Tensor
    cloaked: torch.Tensor | None
    cloaked_names: list[str] | None = None


def face_box(img: Image.Image) -> np.ndarray | None:
    """The largest face's box in a photo (MTCNN, needs facenet-pytorch), or None."""
    from ..data.align import face_box as detect

    return detect(img)


def crop(img: Image.Image, box: np.ndarray | None, size: int) -> torch.Tensor:
    """The centre square (no box) or the face box of a photo, resized to `size`, as uint8."""
    if box is None:
        return to_tensor(center_square(img, size))
    from ..data.align import crop_box

    return crop_box(img, box, size)


def load_photos(
    photos: PhotoFolder,
    image_size: int,
    align: bool = False,
    min_pictures: int = MIN_PICTURES,
    progress: bool = True,
) -> Photos:
    """Decode (read-only), crop and resize every photo; `CheckInputError` names each problem.

    Clean and cloaked versions of a photo get exactly the same crop: the centre square, or
    with `align` the box MTCNN finds on the clean photo (so the cloak is not cropped away).
    """
    if min_pictures < 2:
        raise ValueError(f"min_pictures must be at least 2, got {min_pictures}")
    problems: list[tuple[str, str]] = list(photos.problems)
    names, clean, cloaked, cloaked_names = [], [], [], []
    partners = photos.cloaked or [None] * len(photos.clean)
    for path, partner in tqdm(
        list(zip(photos.clean, partners)), desc="reading photos", disable=not progress, leave=False
    ):
        turned = orientation_problem(path, partner) if partner is not None else None
        if turned:  # before decoding: both files would decode, just not alike
            problems.append((str(partner), turned))
            continue
        img, err = decode_problem(path)
        if err:
            problems.append((str(path), err))
        other = None
        if partner is not None:
            other, err2 = decode_problem(partner)
            if err2:
                problems.append((str(partner), err2))
            elif img is not None and other.size != img.size:
                problems.append((str(partner), size_problem(path, partner, img.size, other.size)))
                continue
        if img is None or (partner is not None and other is None):
            continue
        box = None
        if align:
            box = face_box(img)
            if box is None:
                problems.append(
                    (
                        str(path),
                        "no face found; crop the photo around the face, "
                        "remove it, or run without --align",
                    )
                )
                continue
        names.append(path.name)
        clean.append(crop(img, box, image_size))
        if other is not None:
            cloaked.append(crop(other, box, image_size))
            cloaked_names.append(partner.name)
    if cloaked:
        problems += implausible_pairs(
            torch.stack(clean),
            torch.stack(cloaked),
            names,
            [photos.folder / n for n in cloaked_names],
        )
    if not problems and len(names) < min_pictures:
        problems.append(
            (
                str(photos.folder),
                f"only {len(names)} usable photo(s); the 70/30 split needs at least "
                f"{min_pictures} (some cloaked ones to post, some clean ones to "
                "probe with); add photos or lower --min-pictures",
            )
        )
    if problems:
        raise CheckInputError(photos.folder, problems)
    return Photos(
        names, torch.stack(clean), torch.stack(cloaked) if cloaked else None, cloaked_names or None
    )


def folder_hashes(folder: str | os.PathLike) -> dict[str, str]:
    """sha256 of every file under `folder` (relative path -> digest)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


@contextlib.contextmanager
def folder_unchanged(folder: str | os.PathLike) -> Iterator[dict[str, str]]:
    """Fingerprint `folder` on entry and raise RuntimeError on exit if any file in it was
    created, changed or deleted meanwhile (the check must only ever read a photo folder)."""
    before = folder_hashes(folder)
    yield before
    after = folder_hashes(folder)
    if after != before:
        changed = sorted(
            set(before) ^ set(after) | {k for k in before if after.get(k) != before[k]}
        )
        raise RuntimeError(
            f"files in {folder} changed during the check ({', '.join(changed)}); "
            "this is a bug, please report it"
        )
