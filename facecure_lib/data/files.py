"""Picture files: which names count as pictures, how they are opened, cropped and turned into
tensors. Every module that reads pictures from disk (identity folders, a user's photo folder,
black-box tools, ImageNet folders) uses these, so they all agree on what a picture is.

Input files are only ever opened for reading.
"""

from __future__ import annotations

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


def open_rgb(path: Path) -> Image.Image:
    """Open, verify and fully decode a picture (read-only), honour its EXIF orientation and
    return it as RGB; raise one of `DECODE_ERRORS` on any damage."""
    with open(path, "rb") as f, Image.open(f) as probe:
        probe.verify()  # structure check (truncated PNG chunks, bad CRCs, ...)
    with open(path, "rb") as f, Image.open(f) as img:
        img.load()  # full decode (truncated JPEG data, ...)
        img = ImageOps.exif_transpose(img)  # phone photos: honour the orientation tag
        return img.convert("RGB")


def decode_problem(path: Path) -> tuple[Image.Image | None, str | None]:
    """(picture, None), or (None, what is wrong with the file and how to fix it)."""
    try:
        return open_rgb(path), None
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
