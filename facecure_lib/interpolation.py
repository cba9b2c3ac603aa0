"""Weight interpolation between a generic model and its face-tuned descendant (paper App.
B.3, after Wortsman et al.'s robust fine-tuning): theta = alpha * theta_tuned + (1 - alpha)
* theta_generic, and how accuracy and protection move along alpha."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from .models.base import Extractor
from .progress import tqdm
from .recognition import Protocol, evaluate_protection


def interpolate_weights(
    generic: Mapping[str, torch.Tensor], tuned: Mapping[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """theta = alpha * theta_tuned + (1 - alpha) * theta_generic, entry by entry.

    Floating-point entries (weights *and* BatchNorm running statistics) are interpolated;
    integer entries (BatchNorm's `num_batches_tracked`) are taken from the tuned model.
    """
    if set(generic) != set(tuned):
        raise ValueError(f"state dicts differ in keys: {sorted(set(generic) ^ set(tuned))[:5]}")
    out = {}
    for k, t in tuned.items():
        g = generic[k]
        if g.shape != t.shape:
            raise ValueError(f"{k}: shapes differ {tuple(g.shape)} vs {tuple(t.shape)}")
        out[k] = (alpha * t + (1 - alpha) * g).to(t.dtype) if t.is_floating_point() else t.clone()
    return out


@torch.no_grad()
def reestimate_batchnorm(
    model: Extractor,
    images: torch.Tensor,
    batch_size: int = 128,
    device: torch.device | None = None,
) -> Extractor:
    """Recompute BatchNorm running statistics on `images` (uint8 or float) with fixed weights."""
    device = device or next(model.parameters()).device
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size]
        x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
        model(x.to(device))
    return model.eval()


def interpolated_extractor(
    generic: Extractor,
    tuned: Extractor,
    alpha: float,
    bn: str = "interpolate",
    calibration: torch.Tensor | None = None,
) -> Extractor:
    """A copy of `tuned` with interpolated weights; `bn` = "interpolate" or "reestimate".

    "reestimate" recomputes BatchNorm statistics on `calibration` pictures (e.g. the public ones).
    """
    if bn not in ("interpolate", "reestimate"):
        raise ValueError(f"bn must be 'interpolate' or 'reestimate', got {bn!r}")
    if bn == "reestimate" and calibration is None:
        raise ValueError("bn='reestimate' needs calibration pictures")
    model = copy.deepcopy(tuned)
    model.load_state_dict(interpolate_weights(generic.state_dict(), tuned.state_dict(), alpha))
    if bn == "reestimate":
        reestimate_batchnorm(model, calibration)
    model.name = f"interp(a={alpha:g})"
    model.cache_key = f"interp[{generic.cache_key}|{tuned.cache_key}|a={alpha:.4f}|bn={bn}]"
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def interpolation_curve(
    generic: Extractor,
    tuned: Extractor,
    protocol: Protocol,
    cloaks: Mapping[str, Mapping[int, torch.Tensor]],
    alphas: Sequence[float] = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    bn: str = "interpolate",
    calibration: torch.Tensor | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> list[dict]:
    """Clean accuracy and protection against each attack along the interpolation path."""
    out = []
    for a in tqdm(alphas, desc="interpolation", disable=not progress, leave=False):
        m = interpolated_extractor(generic, tuned, float(a), bn, calibration)
        if device is not None:
            m = m.to(device)
        res = {k: evaluate_protection(m, protocol, c, device=device) for k, c in cloaks.items()}
        first = next(iter(res.values()))
        out.append(
            {
                "alpha": float(a),
                "clean_accuracy": first.clean_accuracy,
                "protection_rate": {k: r.mean for k, r in res.items()},
            }
        )
    return out


def best_tradeoff(
    curve: Sequence[Mapping], attack: str, max_accuracy_drop: float = 0.03
) -> dict | None:
    """The point of an interpolation curve that keeps accuracy within `max_accuracy_drop` of the
    tuned model (alpha = 1) and has the lowest protection against `attack`; None if no point."""
    tuned = max(curve, key=lambda r: r["alpha"])
    ok = [
        r
        for r in curve
        if r["clean_accuracy"] >= tuned["clean_accuracy"] - max_accuracy_drop - 1e-9
    ]
    if not ok:
        return None
    best = min(ok, key=lambda r: (r["protection_rate"][attack], -r["alpha"]))
    return {
        "alpha": best["alpha"],
        "clean_accuracy": best["clean_accuracy"],
        "protection_rate": best["protection_rate"][attack],
        "tuned_clean_accuracy": tuned["clean_accuracy"],
        "tuned_protection_rate": tuned["protection_rate"][attack],
        "protection_drop": tuned["protection_rate"][attack] - best["protection_rate"][attack],
        "accuracy_drop": tuned["clean_accuracy"] - best["clean_accuracy"],
    }


def vulnerable_attacks(
    protection_on_tuned: Mapping[str, float], clean_error: float, threshold: float = 0.3
) -> list[str]:
    """Attacks whose protection on the tuned model exceeds its clean error by `threshold`:
    only those can show the interpolation's effect (a model that resists an attack already
    has nothing to gain from interpolation)."""
    return [a for a, p in protection_on_tuned.items() if p - clean_error >= threshold]
