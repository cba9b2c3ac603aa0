"""Perceptual budgets and per-image perturbation statistics.

DSSIM = (1 - SSIM) / 2, with SSIM from `pytorch_msssim`: Gaussian window 11, sigma 1.5,
valid convolution, mean over channels, data range 1. This is what `tf.image.ssim` computes,
which is what Fawkes uses. Images smaller than 11 px get the largest odd window that fits
(the window size in use is `ssim_window(size)`).

Inside optimisation loops the attacks use `DSSIMTo`, the same formula with the library's
Gaussian window applied as two small matrix products and the clean picture's statistics
computed once: on CPU the library's five grouped convolutions per call cost about as much
as a small surrogate's forward pass. Tests check it against `pytorch_msssim.ssim`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from pytorch_msssim import ssim
from pytorch_msssim.ssim import _fspecial_gauss_1d

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def ssim_window(height: int, width: int | None = None) -> int:
    """SSIM window for an image size: 11, or the largest odd size that fits a smaller image."""
    side = min(height, width if width is not None else height)
    if side >= SSIM_WINDOW:
        return SSIM_WINDOW
    return max(1, side if side % 2 == 1 else side - 1)


def dssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image structural dissimilarity (1 - SSIM) / 2 of two batches [N, 3, H, W] in [0, 1].

    Differentiable in both arguments; returns a tensor of shape [N].
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(
            f"dssim needs two [N, C, H, W] batches of one shape, got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    win = ssim_window(x.shape[-2], x.shape[-1])
    s = ssim(x, y, data_range=1.0, size_average=False, win_size=win, win_sigma=SSIM_SIGMA)
    return (1.0 - s) / 2.0


def _filter_matrix(size: int, win: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """[size - win + 1, size] banded matrix: valid 1-D Gaussian filtering as a product."""
    g = _fspecial_gauss_1d(win, SSIM_SIGMA).flatten().to(device=device, dtype=dtype)
    m = torch.zeros(size - win + 1, size, device=device, dtype=dtype)
    for i in range(size - win + 1):
        m[i, i : i + win] = g
    return m


class DSSIMTo:
    """Per-picture DSSIM [N] of pictures against a fixed reference batch (fast path).

    Same result as `dssim(x, reference)` up to float rounding; differentiable in x.
    """

    K1, K2 = 0.01, 0.03

    def __init__(self, reference: torch.Tensor) -> None:
        if reference.dim() != 4:
            raise ValueError(f"reference must be [N, C, H, W], got {tuple(reference.shape)}")
        h, w = reference.shape[-2:]
        win = ssim_window(h, w)
        args = (reference.device, reference.dtype)
        self.mh = _filter_matrix(h, win, *args) if h >= win else None
        self.mw = _filter_matrix(w, win, *args).T if w >= win else None
        y = reference.detach()
        self.y = y
        self.mu2 = self._filter(y)
        self.mu2_sq = self.mu2 * self.mu2
        self.sigma2_sq = self._filter(y * y) - self.mu2_sq

    def subset(self, index: torch.Tensor) -> DSSIMTo:
        """The same measure against the reference pictures `index` only (each picture's
        DSSIM and gradient are computed on their own, so the values are the same)."""
        part = object.__new__(DSSIMTo)
        part.mh, part.mw = self.mh, self.mw
        part.y, part.mu2 = self.y[index], self.mu2[index]
        part.mu2_sq, part.sigma2_sq = self.mu2_sq[index], self.sigma2_sq[index]
        return part

    def _filter(self, z: torch.Tensor) -> torch.Tensor:
        if self.mh is not None:
            z = self.mh @ z
        if self.mw is not None:
            z = z @ self.mw
        return z

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        mu1, xx, xy = self._filter(torch.stack([x, x * x, x * self.y]))
        mu1_sq, mu1_mu2 = mu1 * mu1, mu1 * self.mu2
        c1, c2 = self.K1**2, self.K2**2
        cs = (2 * (xy - mu1_mu2) + c2) / ((xx - mu1_sq) + self.sigma2_sq + c2)
        s = ((2 * mu1_mu2 + c1) / (mu1_sq + self.mu2_sq + c1)) * cs
        return (1.0 - s.flatten(2).mean(-1).mean(1)) / 2.0


def _as_batch(images: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    if isinstance(images, torch.Tensor):
        if images.dim() == 3:
            images = images.unsqueeze(0)
        return [img.unsqueeze(0) for img in images]
    return [img.unsqueeze(0) if img.dim() == 3 else img for img in images]


@torch.no_grad()
def perturbation_report(
    clean: torch.Tensor | Sequence[torch.Tensor],
    cloaked: torch.Tensor | Sequence[torch.Tensor],
) -> pd.DataFrame:
    """Per-image DSSIM, L-inf and L2 (on the 0..255 scale and the 0..1 scale) and PSNR (dB).

    Accepts two batches [N, 3, H, W] or two sequences of [3, H, W] pictures (sizes may
    differ between pictures, not within a pair).
    """
    a, b = _as_batch(clean), _as_batch(cloaked)
    if len(a) != len(b):
        raise ValueError(f"{len(a)} clean pictures but {len(b)} cloaked ones")
    rows = []
    same_size = len({tuple(t.shape) for t in a + b}) == 1
    if same_size and a:
        x, y = torch.cat(a).float().cpu(), torch.cat(b).float().cpu()
        rows = _stats(x, y)
    else:
        for i, (x, y) in enumerate(zip(a, b)):
            if x.shape != y.shape:
                raise ValueError(f"picture {i}: clean {tuple(x.shape)} vs cloaked {tuple(y.shape)}")
            rows += _stats(x.float().cpu(), y.float().cpu())
    return pd.DataFrame(rows, columns=["dssim", "linf", "linf_255", "l2", "psnr"])


def _stats(x: torch.Tensor, y: torch.Tensor) -> list[dict]:
    d = (y - x).flatten(1)
    mse = d.pow(2).mean(1)
    psnr = torch.where(
        mse > 0, 10 * torch.log10(1.0 / mse.clamp_min(1e-20)), torch.full_like(mse, float("inf"))
    )
    cols = {
        "dssim": dssim(x, y),
        "linf": d.abs().amax(1),
        "linf_255": d.abs().amax(1) * 255,
        "l2": d.norm(dim=1),
        "psnr": psnr,
    }
    return [{k: float(v[i]) for k, v in cols.items()} for i in range(x.shape[0])]


@torch.no_grad()
def change_by_border_distance(
    clean: torch.Tensor, cloaked: torch.Tensor, max_distance: int = 8
) -> pd.Series:
    """Mean absolute change (0..255 scale) of the pixels at each distance from the picture's
    edge (0 = the outermost ring), and of all pixels further in ("interior"), over a batch of
    pairs [N, 3, H, W]. SSIM's windows lie wholly inside the picture, so an edge pixel sits
    in few of them and costs a DSSIM budget little: this shows where a cloak spends it."""
    if clean.shape != cloaked.shape or clean.dim() != 4:
        raise ValueError(
            f"need two [N, C, H, W] batches of one shape, got {tuple(clean.shape)} and "
            f"{tuple(cloaked.shape)}"
        )
    h, w = clean.shape[-2:]
    if 2 * max_distance >= min(h, w):
        raise ValueError(f"max_distance {max_distance} leaves no interior in {h}x{w} pictures")
    change = (cloaked.float() - clean.float()).abs().mean(dim=(0, 1)) * 255
    rows, cols = torch.arange(h), torch.arange(w)
    dist = torch.minimum(
        torch.minimum(rows, h - 1 - rows)[:, None], torch.minimum(cols, w - 1 - cols)[None, :]
    )
    out = {k: float(change[dist == k].mean()) for k in range(max_distance)}
    out["interior"] = float(change[dist >= max_distance].mean())
    return pd.Series(out, name="mean |change| (0-255)")


def border_ratio(profile: pd.Series, frame: int) -> float:
    """How many times more a cloak changes the outer `frame` rings than the interior (from
    `change_by_border_distance`, equal-weighted rings)."""
    ring = [profile[k] for k in range(frame)]
    return (
        float(sum(ring) / len(ring) / profile["interior"])
        if profile["interior"] > 0
        else float("inf")
    )
