"""Generated identities for the quick profile: face-like pictures, deterministic from a seed.

No package registry ships faces labelled by identity (DESIGN §6), so the quick profile draws
its own. Each identity is a set of stable traits (face shape and proportions, skin, hair,
eyes, brows, nose, mouth, marks, glasses, beard, a skin pattern); each picture varies pose,
scale, position, lighting, expression, background, blur and noise. Skin and background
carry texture so that an SSIM budget behaves roughly as it does on photos.

Every identity and every picture has its own random generator, seeded from (seed, identity)
and (seed, identity, picture): an identity looks the same whichever other identities are
drawn with it, so a large pool of public identities is only rendered when a model has to be
trained on it. Pictures are rendered in float64 (vectorised soft masks from signed
distances) and rounded to 8 bits at the end, so that two CPUs give the same pixels.

`appearance` scales the per-picture appearance changes that real photos of one person show
(white balance and exposure, skin tone under different light, glasses put on or taken off):
the larger it is, the less of an identity lives in its colours and the more in its geometry.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..cache import cached_tensors
from ..progress import tqdm
from .dataset import FaceDataset

GENERATOR_VERSION = 4

_SKIN = torch.tensor(
    [
        [0.98, 0.85, 0.74],
        [0.93, 0.76, 0.62],
        [0.84, 0.64, 0.48],
        [0.70, 0.50, 0.36],
        [0.52, 0.36, 0.25],
        [0.38, 0.26, 0.18],
    ]
)
_HAIR = torch.tensor(
    [
        [0.08, 0.06, 0.05],
        [0.25, 0.16, 0.09],
        [0.45, 0.30, 0.16],
        [0.75, 0.60, 0.35],
        [0.55, 0.20, 0.10],
        [0.60, 0.60, 0.60],
    ]
)
_IRIS = torch.tensor(
    [[0.30, 0.18, 0.08], [0.15, 0.30, 0.55], [0.25, 0.45, 0.30], [0.10, 0.07, 0.05]]
)


DTYPE = torch.float64


def _generator(*key: int) -> torch.Generator:
    """A generator seeded from integers (seed, identity[, picture]) by a stable hash."""
    digest = hashlib.sha256(",".join(map(str, key)).encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


def _uniform(g: torch.Generator, lo: float, hi: float, *shape: int) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(*shape or (1,), generator=g, dtype=DTYPE)


def _identity_traits(seed: int, identity: int) -> dict[str, torch.Tensor]:
    """The stable traits of one identity (each a tensor with a leading dimension of 1)."""
    g = _generator(seed, identity)

    def u(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return _uniform(g, lo, hi, 1, *shape)

    def pick(palette: torch.Tensor, jitter: float) -> torch.Tensor:
        idx = torch.randint(len(palette), (1,), generator=g)
        noise = jitter * torch.randn(1, 3, generator=g, dtype=DTYPE)
        return (palette[idx].to(DTYPE) + noise).clamp(0.02, 1.0)

    def coin(p: float) -> torch.Tensor:
        return (torch.rand(1, generator=g, dtype=DTYPE) < p).to(DTYPE)

    return {
        "face_w": u(0.50, 0.66),
        "face_h": u(0.64, 0.80),
        "chin": u(1.6, 2.6),
        "skin": pick(_SKIN, 0.05),
        "hair": pick(_HAIR, 0.06),
        "hairline": u(-0.62, -0.30),
        "hair_volume": u(0.02, 0.22),
        "hair_side": u(-0.2, 0.6),
        "bald": coin(0.08),
        "eye_dx": u(0.19, 0.30),
        "eye_y": u(-0.16, -0.02),
        "eye_w": u(0.08, 0.13),
        "eye_h": u(0.035, 0.06),
        "iris": pick(_IRIS, 0.05),
        "brow_dy": u(0.07, 0.14),
        "brow_t": u(0.012, 0.035),
        "brow_tilt": u(-0.35, 0.35),
        "nose_len": u(0.14, 0.28),
        "nose_w": u(0.05, 0.10),
        "mouth_y": u(0.30, 0.44),
        "mouth_w": u(0.14, 0.28),
        "lip_t": u(0.02, 0.05),
        "lip": (
            torch.tensor([[0.70, 0.32, 0.32]], dtype=DTYPE)
            + 0.08 * torch.randn(1, 3, generator=g, dtype=DTYPE)
        ).clamp(0, 1),
        "mole": coin(0.4),
        "mole_xy": u(-0.5, 0.5, 2),
        "glasses": coin(0.25),
        "beard": coin(0.2),
        "pattern": torch.randn(1, 1, 6, 6, generator=g, dtype=DTYPE),
        "ear": u(0.07, 0.12),
    }


def _picture_params(
    seed: int, identity: int, picture: int, size: int, appearance: float
) -> dict[str, torch.Tensor]:
    """The nuisance variables and noise fields of one picture (leading dimension 1)."""
    g = _generator(seed, identity, picture, size)

    def u(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return _uniform(g, lo, hi, 1, *shape)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(1, *shape, generator=g, dtype=DTYPE)

    a = float(appearance)
    return {
        "yaw": u(-0.35, 0.35),
        "roll": u(-0.30, 0.30),
        "scale": u(0.95, 1.20),
        "shift": u(-0.10, 0.10, 2),
        "light_dir": u(0, 2 * math.pi),
        "light": u(0.0, 0.35),
        "bright": u(0.80, 1.15),
        "contrast": u(0.80, 1.15),
        "cast": 0.05 * normal(3),
        "smile": u(-0.06, 0.10),
        "open": u(0.45, 1.0),
        "bg": torch.rand(1, 3, 4, 4, generator=g, dtype=DTYPE),
        "bg_tex": u(0.02, 0.10),
        "skin_tex": u(0.02, 0.06),
        "blur": u(0.0, 1.0),
        "noise": u(0.0, 0.03),
        "glasses_off": (torch.rand(1, generator=g, dtype=DTYPE) < 0.15).to(DTYPE),
        # appearance: white balance, skin tone under this light, glasses put on for this photo
        "white_balance": 1 + 0.08 * a * normal(3),
        "tone": 1 + 0.10 * a * normal(1),
        "glasses_on": (torch.rand(1, generator=g, dtype=DTYPE) < 0.15 * min(a, 2.0)).to(DTYPE),
        "bg_noise": normal(1, size, size),
        "hair_noise": normal(1, size, size),
        "pores": normal(1, size, size),
        "sensor": normal(3, size, size),
    }


def _soft(d: torch.Tensor, edge: float) -> torch.Tensor:
    """Soft inside-mask from a signed distance (negative inside)."""
    return torch.sigmoid(-d / edge)


def _ellipse(
    x: torch.Tensor, y: torch.Tensor, cx, cy, a, b, p: float | torch.Tensor = 2.0
) -> torch.Tensor:
    """Approximate signed distance to a superellipse (negative inside), in face units."""
    r = ((x - cx).abs() / a) ** p + ((y - cy).abs() / b) ** p
    return (r ** (1.0 / p) - 1.0) * torch.minimum(torch.as_tensor(a), torch.as_tensor(b))


def _col(v: torch.Tensor) -> torch.Tensor:
    """Broadcast a per-picture scalar [N] to [N, 1, 1]."""
    return v.view(-1, 1, 1)


def _render(tr: dict[str, torch.Tensor], pp: dict[str, torch.Tensor], size: int) -> torch.Tensor:
    """Render pictures (one row of traits and of parameters per picture) to float64
    [N, 3, size, size] in [0, 1]."""
    n = pp["yaw"].shape[0]
    lin = torch.linspace(-1, 1, size, dtype=DTYPE)
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")
    gx, gy = gx.expand(n, size, size), gy.expand(n, size, size)
    # Inverse pose: screen -> face coordinates (roll, scale, shift).
    cr, sr = _col(torch.cos(pp["roll"])), _col(torch.sin(pp["roll"]))
    px, py = gx - _col(pp["shift"][:, 0]), gy - _col(pp["shift"][:, 1])
    x = (cr * px + sr * py) / _col(pp["scale"])
    y = (-sr * px + cr * py) / _col(pp["scale"])
    yaw = _col(pp["yaw"])
    fw, fh = _col(tr["face_w"]) * (1 - 0.25 * yaw.abs()), _col(tr["face_h"])
    fx = x - yaw * 0.10  # head outline shifts a little with yaw, features shift more
    ex = x - yaw * 0.32 * fw  # feature coordinates

    # Background: smooth colour field plus fine texture.
    bg = F.interpolate(pp["bg"], size=(size, size), mode="bicubic", align_corners=True)
    bg = 0.35 + 0.45 * (0.6 * bg + 0.4 * bg.mean(dim=1, keepdim=True))  # muted, photo-like
    bg = bg + _col(pp["bg_tex"]).unsqueeze(1) * pp["bg_noise"]
    img = bg.clamp(0, 1)

    def paint(img: torch.Tensor, mask: torch.Tensor, color: torch.Tensor) -> torch.Tensor:
        color = color.view(n, 3, 1, 1) if color.dim() == 2 else color
        return img + mask.unsqueeze(1) * (color - img)

    balance = pp["white_balance"].view(n, 3, 1, 1)
    hair = (tr["hair"].view(n, 3, 1, 1) * balance) * (1 + 0.15 * pp["hair_noise"])
    hair_on = _col(1 - tr["bald"])
    vol = _col(tr["hair_volume"])
    back = _soft(_ellipse(fx, y, 0.0, -0.12, fw + vol, fh + vol * 0.6), 0.03)
    side = (y < _col(tr["hair_side"])).float()
    img = paint(img, back * hair_on * torch.maximum(side, (y < -0.2).float()), hair)
    ears = sum(_soft(_ellipse(fx, y, s * fw, -0.02, _col(tr["ear"]), 0.12), 0.02) for s in (-1, 1))
    skin = (tr["skin"].view(n, 3, 1, 1) * balance * pp["tone"].view(n, 1, 1, 1)).clamp(0, 1)
    img = paint(img, ears.clamp(0, 1), skin * 0.9)

    face = _soft(_ellipse(fx, y, 0.0, 0.0, fw, fh, _col(tr["chin"])), 0.02)
    # Skin: identity pattern (moves with the face) + per-picture pores + directional light.
    grid = torch.stack([x / 0.9, y / 0.9], dim=-1).clamp(-1, 1)
    pattern = F.grid_sample(tr["pattern"], grid, mode="bilinear", align_corners=True)[:, 0]
    pores = F.avg_pool2d(pp["pores"], 3, 1, 1) * 2.0
    ldx, ldy = _col(torch.cos(pp["light_dir"])), _col(torch.sin(pp["light_dir"]))
    shade = 1 + _col(pp["light"]) * (ldx * x + ldy * y) - 0.25 * ((fx / fw) ** 2)
    skin_px = (
        skin * (shade * (1 + 0.04 * pattern)).unsqueeze(1)
        + _col(pp["skin_tex"]).unsqueeze(1) * pores
    )
    img = paint(img, face, skin_px)

    beard = _soft(_ellipse(fx, y, 0.0, 0.42 * fh, fw * 0.9, fh * 0.55), 0.03) * face
    beard = beard * (y > _col(tr["mouth_y"]) - 0.08).float() * _col(tr["beard"])
    img = paint(img, beard, hair * 0.9)
    img = paint(img, _soft(y - _col(tr["hairline"]), 0.02) * face * hair_on, hair)

    # Eyes, irises, pupils (both sides).
    ew, eh = _col(tr["eye_w"]), _col(tr["eye_h"]) * _col(pp["open"])
    for s in (-1, 1):
        cx, cy = s * _col(tr["eye_dx"]), _col(tr["eye_y"])
        white = _soft(_ellipse(ex, y, cx, cy, ew, eh), 0.008)
        img = paint(img, white, torch.full((n, 3), 0.93, dtype=DTYPE))
        img = paint(
            img,
            _soft(_ellipse(ex, y, cx + yaw * 0.04, cy, eh * 0.9 + 0.01, eh * 0.9 + 0.01), 0.008)
            * white,
            tr["iris"],
        )
        img = paint(
            img,
            _soft(_ellipse(ex, y, cx + yaw * 0.04, cy, 0.014, 0.014), 0.006) * white,
            torch.full((n, 3), 0.02, dtype=DTYPE),
        )
        # Brow: a tilted thin band above the eye.
        by = cy - _col(tr["brow_dy"]) + s * _col(tr["brow_tilt"]) * (ex - cx) * 0.5
        brow = _soft(_ellipse(ex, y, cx, by, ew * 1.2, _col(tr["brow_t"])), 0.008)
        img = paint(img, brow * face, tr["hair"] * 0.8)
        ring = _ellipse(ex, y, cx, cy, ew * 1.5, ew * 1.1).abs() - 0.012
        on = _col(torch.maximum(tr["glasses"] * (1 - pp["glasses_off"]), pp["glasses_on"]))
        img = paint(img, _soft(ring, 0.006) * on, torch.full((n, 3), 0.08, dtype=DTYPE))

    # Nose: a shaded ridge and two nostrils.
    nl, nw = _col(tr["nose_len"]), _col(tr["nose_w"])
    ny = _col(tr["eye_y"]) + 0.05
    ridge = _soft(_ellipse(ex, y, 0.0, ny + nl * 0.5, nw * 0.6, nl * 0.55), 0.02) * face
    img = paint(img, ridge * 0.35, skin * 0.75)
    for s in (-1, 1):
        nost = _soft(_ellipse(ex, y, s * nw * 0.55, ny + nl, nw * 0.35, 0.015), 0.008)
        img = paint(img, nost * face * 0.8, skin * 0.45)

    # Mouth: a curved band whose curvature is the expression.
    mw, lt = _col(tr["mouth_w"]), _col(tr["lip_t"])
    curve = _col(tr["mouth_y"]) - _col(pp["smile"]) * (1 - (ex / mw) ** 2)
    lips = _soft(_ellipse(ex, y, 0.0, curve, mw, lt), 0.01) * face
    img = paint(img, lips, tr["lip"])
    mx, my = _col(tr["mole_xy"][:, 0]) * fw, _col(tr["mole_xy"][:, 1]) * fh * 0.6 + 0.15
    img = paint(
        img,
        _soft(_ellipse(ex, y, mx, my, 0.02, 0.02), 0.006) * face * _col(tr["mole"]),
        skin * 0.35,
    )

    # Photometric nuisances: brightness, contrast, colour cast, blur, sensor noise.
    mean = img.mean(dim=(1, 2, 3), keepdim=True)
    img = (img - mean) * pp["contrast"].view(n, 1, 1, 1) + mean
    img = img * pp["bright"].view(n, 1, 1, 1) + pp["cast"].view(n, 3, 1, 1)
    img = gaussian_blur(img, pp["blur"])
    img = img + pp["noise"].view(n, 1, 1, 1) * pp["sensor"]
    return img.clamp(0, 1)


def gaussian_blur(img: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-picture Gaussian blur (5x5 kernel; sigma 0 leaves the picture unchanged)."""
    r = torch.arange(-2, 3, dtype=img.dtype)
    sigma = sigma.to(img.dtype)
    s = sigma.clamp_min(1e-3).view(-1, 1)
    k1 = torch.exp(-(r.view(1, -1) ** 2) / (2 * s**2))
    k1 = k1 / k1.sum(dim=1, keepdim=True)  # [N, 5]
    n, c, h, w = img.shape
    x = F.pad(img.reshape(1, n * c, h, w), (2, 2, 2, 2), mode="replicate")
    kx = k1.repeat_interleave(c, dim=0).view(n * c, 1, 1, 5)
    ky = k1.repeat_interleave(c, dim=0).view(n * c, 1, 5, 1)
    x = F.conv2d(F.conv2d(x, kx, groups=n * c), ky, groups=n * c)
    return x.view(n, c, h, w)


# Pixels rendered at once. The renderer's float intermediates take about 3.5 MB per 64 px
# picture: 256 pictures at a time raised a cold notebook kernel by 0.8 GB (past Binder's
# 2 GB in notebook 02), 32 by 0.13 GB, and ran faster (1.2 s instead of 2.9 s for 640).
RENDER_PIXELS = 32 * 64 * 64


def render_identities(
    identities: Sequence[int],
    pictures_per_identity: int,
    image_size: int,
    seed: int,
    appearance: float = 1.0,
    progress: bool = False,
    chunk: int | None = None,
) -> torch.Tensor:
    """uint8 pictures [len(identities) * k, 3, S, S] of the given identities, k each, in order.

    An identity's pictures depend only on (seed, identity, picture, size, appearance), not
    on `chunk` (pictures rendered at once; default `RENDER_PIXELS` worth of pictures).
    """
    chunk = chunk or max(1, RENDER_PIXELS // (image_size * image_size))
    jobs = [(i, j) for i in identities for j in range(pictures_per_identity)]
    traits = {i: _identity_traits(seed, i) for i in identities}
    out = []
    for start in tqdm(
        range(0, len(jobs), chunk), desc="generating faces", disable=not progress, leave=False
    ):
        part = jobs[start : start + chunk]
        tr = _stack([traits[i] for i, _ in part])
        pp = _stack([_picture_params(seed, i, j, image_size, appearance) for i, j in part])
        out.append((_render(tr, pp, image_size) * 255).round().to(torch.uint8))
    return torch.cat(out) if out else torch.empty(0, 3, image_size, image_size, dtype=torch.uint8)


def _stack(rows: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.cat([r[k] for r in rows]) for k in rows[0]}


def generate_identities(
    identities: Sequence[int],
    pictures_per_identity: int = 20,
    image_size: int = 64,
    seed: int = 0,
    appearance: float = 1.0,
    cache: bool = True,
    progress: bool = True,
) -> FaceDataset:
    """The pictures of the given identity numbers, labelled 0..len-1 in that order.

    Cached under the cache folder, keyed by every argument and the generator version.
    """
    for arg, val, lo in (
        ("pictures_per_identity", pictures_per_identity, 2),
        ("image_size", image_size, 32),
    ):
        if not isinstance(val, int) or val < lo:
            raise ValueError(f"{arg} must be an integer >= {lo}, got {val!r}")
    ids = [int(i) for i in identities]
    if len(ids) < 1 or len(set(ids)) != len(ids):
        raise ValueError("identities must be a non-empty list of distinct numbers")
    run = ids == list(range(ids[0], ids[0] + len(ids)))
    config = {
        "generator": GENERATOR_VERSION,
        "identities": {"first": ids[0], "n": len(ids)} if run else ids,
        "k": pictures_per_identity,
        "size": image_size,
        "seed": seed,
        "appearance": float(appearance),
    }

    def build() -> dict[str, torch.Tensor]:
        images = render_identities(
            ids, pictures_per_identity, image_size, seed, appearance, progress
        )
        return {
            "images": images,
            "labels": torch.arange(len(ids)).repeat_interleave(pictures_per_identity),
        }

    t = cached_tensors("data", config, build, enabled=cache)
    names = [f"person_{i:06d}" for i in ids]
    return FaceDataset("generated", t["images"], t["labels"], names, None, {"config": config})


def generate_faces(
    n_identities: int = 150,
    pictures_per_identity: int = 20,
    image_size: int = 64,
    seed: int = 0,
    cache: bool = True,
    progress: bool = True,
    appearance: float = 1.0,
    first_identity: int = 0,
) -> FaceDataset:
    """`n_identities` generated identities (numbers `first_identity`, ...) of
    `pictures_per_identity` pictures each, deterministic from `seed` (see
    `generate_identities`)."""
    if not isinstance(n_identities, int) or n_identities < 2:
        raise ValueError(f"n_identities must be an integer >= 2, got {n_identities!r}")
    ids = range(first_identity, first_identity + n_identities)
    return generate_identities(
        ids, pictures_per_identity, image_size, seed, appearance, cache, progress
    )
