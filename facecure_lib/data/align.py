"""Optional face crop through facenet-pytorch's MTCNN (its weights ship in its wheel)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from PIL import Image

INSTALL_HINT = "pip install --no-deps facenet-pytorch==2.6.0"


class NoFaceError(ValueError):
    """MTCNN found no face in some pictures; `missing` lists them (paths or indices)."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        lines = "\n".join(f"  - {m}" for m in missing)
        super().__init__(
            f"No face found in {len(missing)} picture(s):\n{lines}\n"
            "Remove them, crop them by hand, load without alignment (align=False), or pass "
            "skip_missing=True to drop them."
        )


def require_facenet():
    """Import facenet_pytorch, or raise an ImportError with the exact install command."""
    try:
        import facenet_pytorch
    except ImportError as err:
        raise ImportError(
            "Face alignment and the FaceNet/WebFace extractors need facenet-pytorch. Its "
            "pins conflict with current torch, so install it without dependencies:\n"
            f"    {INSTALL_HINT}"
        ) from err
    return facenet_pytorch


@lru_cache(maxsize=4)
def _mtcnn(image_size: int, margin: int, device: str):
    mtcnn_cls = require_facenet().MTCNN
    return mtcnn_cls(
        image_size=image_size,
        margin=margin,
        post_process=False,
        select_largest=True,
        keep_all=False,
        device=torch.device(device),
    )


def face_box(
    img: Image.Image, detect_max_side: int = 640, device: str | torch.device = "cpu"
) -> np.ndarray | None:
    """The box [x0, y0, x1, y1] of the largest face MTCNN finds in a picture, or None.

    Detection runs on a copy whose longest side is at most `detect_max_side` (MTCNN's cost
    grows with the pixel count: a phone photo takes seconds on a CPU); the box is returned
    in the original picture's coordinates.
    """
    mtcnn = _mtcnn(160, 0, str(device))
    scale = max(1.0, max(img.size) / float(detect_max_side))
    small = (
        img
        if scale == 1.0
        else img.resize(
            (max(1, round(img.width / scale)), max(1, round(img.height / scale))),
            Image.Resampling.BILINEAR,
        )
    )
    with torch.no_grad():
        boxes, _ = mtcnn.detect(small)
    if boxes is None or not len(boxes):
        return None
    return np.asarray(boxes[0], dtype=np.float64) * scale  # largest face first


def crop_box(img: Image.Image, box: np.ndarray, image_size: int, margin: int = 0) -> torch.Tensor:
    """Cut a face box out of a picture and resize it to `image_size` (uint8 [3, S, S])."""
    extract_face = require_facenet().models.utils.detect_face.extract_face
    face = extract_face(img, box, int(image_size), int(margin))
    return face.round().clamp_(0, 255).to(torch.uint8).cpu()


def crop_faces(
    pil_images: Sequence[Image.Image],
    image_size: int = 112,
    *,
    paths: Sequence[str] | None = None,
    margin: int = 0,
    skip_missing: bool = False,
    device: str | torch.device = "cpu",
    detect_max_side: int = 640,
) -> list[torch.Tensor | None]:
    """Detect the largest face in each picture and crop it to `image_size` (uint8 [3, S, S]).

    A picture without a detectable face raises `NoFaceError` listing every such picture
    (by path when `paths` is given), or gives None at its position when `skip_missing`.
    `margin` is in pixels of the final crop, as in facenet-pytorch. See `face_box` for the
    detection itself.
    """
    if image_size <= 0:
        raise ValueError(f"image_size must be positive, got {image_size}")
    if paths is not None and len(paths) != len(pil_images):
        raise ValueError("paths must have one entry per picture")
    out: list[torch.Tensor | None] = []
    missing: list[str] = []
    for i, img in enumerate(pil_images):
        img = img.convert("RGB")
        box = face_box(img, detect_max_side, device)
        if box is None:
            missing.append(str(paths[i]) if paths is not None else f"picture #{i}")
            out.append(None)
        else:
            out.append(crop_box(img, box, image_size, margin))
    if missing and not skip_missing:
        raise NoFaceError(missing)
    return out
