"""Helpers shared by the white-box attacks: frozen surrogates, tanh space, quantisation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from .metrics import dssim

TANH_CONSTANT = 2 - 1e-6  # Fawkes' constant: keeps arctanh finite at 0 and 1


@contextlib.contextmanager
def frozen(models: Sequence[nn.Module]) -> Iterator[None]:
    """Eval mode and no parameter gradients inside the block; the old state is restored."""
    states = [(m, m.training, [(p, p.requires_grad) for p in m.parameters()]) for m in models]
    try:
        for m in models:
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)
        yield
    finally:
        for m, training, params in states:
            m.train(training)
            for p, flag in params:
                p.requires_grad_(flag)


def model_device(models: Sequence[nn.Module]) -> torch.device:
    """Device of the first parameter or buffer of the first model (CPU if it has none)."""
    for m in models:
        for t in list(m.parameters()) + list(m.buffers()):
            return t.device
    return torch.device("cpu")


def to_tanh(x: torch.Tensor) -> torch.Tensor:
    """Image in [0, 1] -> unbounded tanh-space variable (computed in float64)."""
    return torch.atanh((x.double() - 0.5) * TANH_CONSTANT).to(x.dtype)


def from_tanh(w: torch.Tensor) -> torch.Tensor:
    """Tanh-space variable -> image in [0, 1]."""
    return torch.tanh(w) / TANH_CONSTANT + 0.5


def is_8bit(x: torch.Tensor) -> bool:
    """True when every value is a multiple of 1/255 (pictures that came from 8-bit files)."""
    v = x * 255
    return bool(torch.all((v - v.round()).abs() < 1e-3))


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to the 8-bit grid (what saving to PNG would do)."""
    return (x * 255).round().clamp(0, 255) / 255


@torch.no_grad()
def enforce_budget(
    clean: torch.Tensor,
    cloaked: torch.Tensor,
    max_dssim: float | None = None,
    linf: float | None = None,
    quantized: bool = False,
    tries: int = 12,
) -> tuple[torch.Tensor, int]:
    """Shrink the perturbation of pictures that break the budget (after rounding) until they fit.

    Returns the pictures and how many had to be shrunk. Used as a final safety net: the
    attacks already select steps inside their budget, rounding can move DSSIM a little.
    """
    out = cloaked.clone()
    shrunk = torch.zeros(out.shape[0], dtype=torch.bool, device=out.device)
    delta = cloaked - clean
    scale = torch.ones(out.shape[0], 1, 1, 1, device=out.device, dtype=out.dtype)
    for _ in range(tries + 1):
        bad = torch.zeros_like(shrunk)
        if max_dssim is not None:
            bad |= dssim(clean, out) > max_dssim
        if linf is not None:
            bad |= (out - clean).flatten(1).abs().amax(1) > linf + 1e-6
        if not bad.any():
            break
        shrunk |= bad
        scale[bad] *= 0.8
        cand = (clean + delta * scale).clamp(0, 1)
        if quantized:
            cand = quantize(cand)
        out[bad] = cand[bad]
    else:  # give up on the last offenders: return them unchanged (clean)
        out[bad] = clean[bad]
    return out, int(shrunk.sum())
