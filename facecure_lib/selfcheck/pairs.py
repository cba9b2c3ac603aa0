"""Does a clean file and its cloaked file make a pair? Same EXIF orientation, same size, and
pixels that differ as little as a cloak's do: anything else would be scored as a cloak that
fools every recogniser (a sideways copy is not a photo's cloak)."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from ..data.files import DECODE_ERRORS
from .spec import MAX_PAIR_DSSIM, MIN_PAIR_PSNR

ORIENTATION_TAG = 0x0112
ORIENTATIONS = {  # what a viewer does to the stored pixels to display them
    1: "upright",
    2: "mirror left-right",
    3: "turn 180°",
    4: "mirror top-bottom",
    5: "mirror, turn 270° clockwise",
    6: "turn 90° clockwise",
    7: "mirror, turn 90° clockwise",
    8: "turn 270° clockwise",
}


def exif_orientation(path: Path) -> int:
    """The EXIF orientation tag of a picture file (1 = upright, also when there is none).

    Reads the header only where the format allows (JPEG, TIFF, WebP); a PNG's eXIf chunk
    may need a decode, which PIL does on demand."""
    try:
        with open(path, "rb") as f, Image.open(f) as img:
            value = img.getexif().get(ORIENTATION_TAG, 1)
    except DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and value in ORIENTATIONS else 1


def stored_size(path: Path) -> tuple[int, int] | None:
    """Width and height as stored in the file (before any EXIF rotation), header only."""
    try:
        with open(path, "rb") as f, Image.open(f) as img:
            return img.size
    except DECODE_ERRORS:
        return None


def _describe(o: int) -> str:
    return f"{o} ({ORIENTATIONS[o]})"


def orientation_problem(clean: Path, cloaked: Path) -> str | None:
    """A message when the two files of a pair carry different EXIF orientations, else None."""
    a, b = exif_orientation(clean), exif_orientation(cloaked)
    if a == b:
        return None
    size = stored_size(clean)
    on_disk = ""
    if size is not None and size == stored_size(cloaked):
        on_disk = f" (both are {size[0]}x{size[1]} on disk)"
    return (
        f"EXIF orientation {_describe(b)}, but its clean photo {clean.name} has EXIF "
        f"orientation {_describe(a)}{on_disk}: one would be compared turned against the other, and "
        "every recogniser would look fooled. Save both with the same orientation: re-save "
        "the clean photo upright without the tag (e.g. PIL.ImageOps.exif_transpose, or "
        "'rotate and save' in a photo viewer) and cloak it again, or copy the tag onto "
        f"the cloaked file (exiftool -tagsFromFile {clean.name} -Orientation {cloaked.name})"
    )


def size_problem(
    clean: Path, cloaked: Path, clean_size: tuple[int, int], cloaked_size: tuple[int, int]
) -> str | None:
    """A message when the decoded (EXIF-rotated) sizes of a pair differ, else None."""
    if clean_size == cloaked_size:
        return None
    o = exif_orientation(clean)
    note = f", as displayed after its EXIF orientation {_describe(o)}" if o != 1 else ""
    return (
        f"size {cloaked_size[0]}x{cloaked_size[1]} differs from its clean photo "
        f"{clean.name} ({clean_size[0]}x{clean_size[1]}{note}); the cloaked version "
        "must keep the size"
    )


def implausible_pairs(
    clean: torch.Tensor, cloaked: torch.Tensor, clean_names: list[str], cloaked_paths: list[Path]
) -> list[tuple[str, str]]:
    """(cloaked file, message) for every cropped pair that differs far more than any cloak
    (DSSIM above `MAX_PAIR_DSSIM` or PSNR below `MIN_PAIR_PSNR`)."""
    from ..attacks.metrics import perturbation_report

    rep = perturbation_report(clean.float() / 255, cloaked.float() / 255)
    problems = []
    for i, row in rep.iterrows():
        if row["dssim"] > MAX_PAIR_DSSIM or row["psnr"] < MIN_PAIR_PSNR:
            problems.append(
                (
                    str(cloaked_paths[i]),
                    "these two files do not look like a photo and its cloak: after "
                    f"cropping, {cloaked_paths[i].name} and {clean_names[i]} differ by DSSIM "
                    f"{row['dssim']:.3f} and PSNR {row['psnr']:.1f} dB, far beyond any cloak "
                    f"(DSSIM <= {MAX_PAIR_DSSIM}, PSNR >= {MIN_PAIR_PSNR:.0f} dB; Fawkes high "
                    "stays under DSSIM 0.017). Check that it is the cloaked version of "
                    "that photo, in the same orientation and crop",
                )
            )
    return problems
