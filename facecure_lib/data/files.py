"""Picture files: which names count as pictures, how they are opened, cropped and turned into
tensors. Every module that reads pictures from disk (identity folders, a user's photo folder,
black-box tools, ImageNet folders) uses these, so they all agree on what a picture is.

Input files are only ever opened for reading.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".jfif"}
)
IGNORED_NAMES = frozenset(
    {
        "thumbs.db",
        "desktop.ini",
        "readme",
        "readme.md",
        "readme.txt",
        "license",
        "license.txt",
        "licence.txt",
    }
)
MIN_SIDE = 16  # px: a smaller picture cannot hold a recognisable face
WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # 16/32-bit integer grayscale


class PictureProblem(ValueError):
    """A file that decodes but cannot be used as a photo (its message says why and the fix)."""


# What PIL raises on a damaged or unsupported file.
DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
)


def is_ignored(path: Path) -> bool:
    """Hidden files and the usual clutter of photo folders (Thumbs.db, README, ...)."""
    return path.name.startswith(".") or path.name.lower() in IGNORED_NAMES


def is_image_name(path: Path) -> bool:
    """True when the file name has a picture suffix (nothing is read)."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def file_problem(path: Path) -> str | None:
    """What makes a directory entry unusable as a picture file before it is opened: a name
    with a control character (a newline breaks pairing and listings) or anything but a
    regular file (opening a named pipe blocks forever). None when it can be opened."""
    if any(ord(c) < 32 or ord(c) == 127 for c in path.name):
        return "file name contains a control character (e.g. a newline); rename the file"
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        return f"cannot be read ({err.strerror or err}); check the file"
    if not stat.S_ISREG(mode):
        kind = "a named pipe" if stat.S_ISFIFO(mode) else "not a file"
        if stat.S_ISDIR(mode):
            kind = "a folder"
        return f"not a regular file ({kind}); remove it or replace it with the picture"
    return None


def shown_path(path: Path | str) -> str:
    """A path as a problem list shows it: one line, control characters escaped."""
    text = str(path)
    return text if text.isprintable() else ascii(text)[1:-1]


def as_rgb(img: Image.Image) -> Image.Image:
    """An opened picture as 8-bit RGB. 16-bit grayscale is scaled (65535 -> 255) instead of
    clipped (PIL's own conversion turns it almost white); "I" pictures whose values fit in
    8 bits are kept as they are."""
    if img.mode in WIDE_MODES:
        arr = np.asarray(img.convert("I") if img.mode != "I" else img, dtype=np.int64)
        if img.mode != "I" or arr.max(initial=0) > 255:
            arr = np.clip(arr, 0, 65535) / 257.0
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr)
    return img.convert("RGB")


def open_rgb(path: Path) -> Image.Image:
    """Open, verify and fully decode a picture (read-only), honour its EXIF orientation and
    return it as RGB; raise one of `DECODE_ERRORS` on any damage, and `PictureProblem` on
    a file that is not a regular file or a picture too small to hold a face."""
    problem = file_problem(Path(path))
    if problem:
        raise PictureProblem(problem)
    with open(path, "rb") as f, Image.open(f) as probe:
        probe.verify()  # structure check (truncated PNG chunks, bad CRCs, ...)
    with open(path, "rb") as f, Image.open(f) as img:
        img.load()  # full decode (truncated JPEG data, ...)
        img = ImageOps.exif_transpose(img)  # phone photos: honour the orientation tag
        if min(img.size) < MIN_SIDE:
            raise PictureProblem(
                f"{img.size[0]}x{img.size[1]} px is too small to hold a face (at least "
                f"{MIN_SIDE} px a side); replace or remove it"
            )
        return as_rgb(img)


def decode_problem(path: Path) -> tuple[Image.Image | None, str | None]:
    """(picture, None), or (None, what is wrong with the file and how to fix it)."""
    try:
        return open_rgb(path), None
    except PictureProblem as err:
        return None, str(err)
    except DECODE_ERRORS as err:
        return None, (
            f"unreadable or corrupt picture ({type(err).__name__}: {err}); replace or remove it"
        )


def center_square(
    img: Image.Image, size: int, resample: Image.Resampling = Image.Resampling.LANCZOS
) -> Image.Image:
    """Center-crop to a square, then resize (antialiased by default)."""
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    img = img.crop((left, top, left + s, top + s))
    if s != size:
        img = img.resize((size, size), resample)
    return img


def to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL picture -> uint8 tensor [3, H, W]."""
    return torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def load_picture(path: Path) -> torch.Tensor:
    """A picture file as float [3, H, W] in [0, 1] (RGB, EXIF orientation applied)."""
    return to_tensor(open_rgb(path)).float() / 255


def save_picture(img: torch.Tensor, path: Path) -> None:
    """Save float [3, H, W] in [0, 1] as an 8-bit PNG."""
    arr = (img.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    Image.fromarray(arr).save(path)
