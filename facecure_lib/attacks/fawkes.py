"""Fawkes-style cloaks: v0.3 (targeted, July 2020) and v1.0 (untargeted, April 2021).

Both optimise the picture in tanh space with Adadelta (rho 0.95, eps 1e-7: the TensorFlow
defaults Fawkes ran with) under a DSSIM budget enforced by a quadratic penalty
const * max(DSSIM - th, 0)^2. All pictures of a call are optimised together; every
quantity is per picture, so batching gives the same result as one picture at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ..models.base import Extractor
from ..progress import trange
from .core import TANH_CONSTANT, from_tanh, to_tanh
from .metrics import DSSIMTo

TargetPool = Mapping[Any, torch.Tensor]


def _adadelta(w: torch.Tensor, lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adadelta([w], lr=lr, rho=0.95, eps=1e-7)


def budget_penalty(
    dssim: DSSIMTo, xa: torch.Tensor, d: torch.Tensor, th: float, const: float
) -> torch.Tensor | None:
    """The summed penalty const * max(DSSIM - th, 0)^2 of pictures `xa`, differentiable,
    computed for the pictures over the budget only (`d`: every picture's DSSIM, no graph).

    For a picture within the budget the penalty and its gradient are exactly zero, so the
    step is the same as with the penalty of the whole batch, without a backward pass
    through DSSIM for those pictures; None when every picture is within the budget.
    """
    over = (d > th).nonzero().flatten()
    if over.numel() == 0:
        return None
    return (const * F.relu(dssim.subset(over)(xa[over]) - th).pow(2)).sum()


def _with_penalty(loss: torch.Tensor, penalty: torch.Tensor | None) -> torch.Tensor:
    return loss if penalty is None else loss + penalty


@torch.no_grad()
def project_box_(w: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> None:
    """w <- to_tanh(clip(from_tanh(w), lo, hi)), in place: the same float64 arithmetic as
    `to_tanh` (identical results) without its temporary tensors."""
    z = torch.minimum(torch.maximum(from_tanh(w), lo), hi).double()
    z.sub_(0.5).mul_(TANH_CONSTANT)
    torch.atanh(z, out=z)
    w.copy_(z)


@torch.no_grad()
def _embed(f: Extractor, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    return torch.cat([f(x[i : i + batch]) for i in range(0, x.shape[0], batch)])


@torch.no_grad()
def pool_centroids(
    surrogate: Extractor, target_pool: TargetPool, device: torch.device
) -> tuple[list[Any], torch.Tensor]:
    """Mean surrogate embedding of each candidate identity.

    A pool value is either pictures [M, 3, H, W] in [0, 1] or precomputed embeddings
    [M, D] / [D] in the surrogate's space.
    """
    if not target_pool:
        raise ValueError(
            "fawkes_v03 is targeted: pass a non-empty target_pool "
            "{label: pictures or embeddings} of other identities"
        )
    labels, cents = list(target_pool), []
    for label in labels:
        v = torch.as_tensor(target_pool[label]).to(device)
        if v.dim() == 4:
            v = _embed(surrogate, v.float())
        elif v.dim() == 1:
            v = v[None]
        if v.dim() != 2 or v.shape[0] == 0:
            raise ValueError(
                f"target_pool[{label!r}]: expected pictures [M, 3, H, W] or "
                f"embeddings [M, D], got shape {tuple(v.shape)}"
            )
        cents.append(v.float().mean(0))
    return labels, torch.stack(cents)


def select_target(
    user_emb: torch.Tensor, centroids: torch.Tensor, generator: torch.Generator, top: int = 20
) -> tuple[int, list[int]]:
    """Fawkes' target choice: rank candidates by their distance to the *closest* user picture
    and draw one of the `top` furthest (the furthest third when there are fewer than 3*top).

    Returns the chosen index and the ranked shortlist.
    """
    dist = torch.cdist(user_emb.float(), centroids.float()).amin(0)  # [K]
    k = min(top, max(1, -(-centroids.shape[0] // 3)))
    shortlist = torch.argsort(dist.cpu(), descending=True)[:k]
    pick = int(torch.randint(k, (1,), generator=generator))
    return int(shortlist[pick]), shortlist.tolist()


def fawkes_v03(
    images: torch.Tensor,
    surrogate: Extractor,
    target_pool: TargetPool,
    *,
    th: float,
    steps: int,
    lr: float,
    const: float = 1e9,
    generator: torch.Generator,
    progress: bool = True,
) -> tuple[torch.Tensor, dict]:
    """Targeted cloak: pull every picture's embedding toward t = f(x) + 2(mean f(T) - mean f(U)).

    Minimises const * max(DSSIM - th, 0)^2 + ||t - f(x')|| / ||t||; the learning rate is
    multiplied by 0.8 every steps // 3 steps; returns, per picture, the step with the lowest
    feature loss among those with DSSIM < th (the clean picture if none).
    """
    x = images
    labels, cents = pool_centroids(surrogate, target_pool, x.device)
    with torch.no_grad():
        fx = surrogate(x)
        idx, shortlist = select_target(fx, cents, generator)
        t = fx + 2.0 * (cents[idx] - fx.mean(0))
        t_norm = t.norm(dim=1).clamp_min(1e-12)

    def feature_loss(xa: torch.Tensor) -> torch.Tensor:
        return (t - surrogate(xa)).norm(dim=1) / t_norm

    dssim = DSSIMTo(x)
    w = to_tanh(x).requires_grad_(True)
    opt = _adadelta(w, lr)
    best = x.clone()
    best_loss = (t - fx).norm(dim=1) / t_norm  # feature_loss(x), without a second forward
    start_loss = best_loss.clone()
    decay_every = max(1, steps // 3)

    def keep_best(xa: torch.Tensor, feat: torch.Tensor, d: torch.Tensor) -> None:
        better = (d < th) & (feat < best_loss)
        best[better] = xa[better]
        best_loss[better] = feat[better]

    for it in trange(steps, desc=f"fawkes_v03 th={th}", disable=not progress, leave=False):
        xa = from_tanh(w)
        feat = feature_loss(xa)
        with torch.no_grad():
            d = dssim(xa)
        loss = _with_penalty(feat.sum(), budget_penalty(dssim, xa, d, th, const))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            keep_best(xa.detach(), feat.detach(), d)
        opt.step()
        if it and it % decay_every == 0:
            for group in opt.param_groups:
                group["lr"] *= 0.8
    with torch.no_grad():
        xa = from_tanh(w)
        keep_best(xa, feature_loss(xa), dssim(xa))
    info = {
        "target_label": str(labels[idx]),
        "target_index": idx,
        "target_shortlist": [str(labels[i]) for i in shortlist],
        "feature_loss_start": start_loss.mean().item(),
        "feature_loss_end": best_loss.mean().item(),
    }
    return best, info


def fawkes_v10(
    images: torch.Tensor,
    surrogates: Sequence[Extractor],
    *,
    th: float,
    steps: int,
    lr: float,
    const: float = 1e6,
    max_change: float = 15 / 255,
    init_noise: float = 1e-4,
    accept: float = 1.1,
    generator: torch.Generator,
    progress: bool = True,
) -> tuple[torch.Tensor, dict]:
    """Untargeted cloak: push L2-normalised embeddings away from the clean ones.

    Minimises const * max(DSSIM - th, 0)^2 - c * sum_f ||f(x') - f(x)||^2 with a per-picture
    balance c that doubles while DSSIM <= 0.9 th and halves while DSSIM >= 1.1 th (kept in
    [1/129, 129]); every pixel stays within +-max_change of the original; returns, per
    picture, the step with the largest feature distance among those with DSSIM <= accept*th.
    """
    x = images
    with torch.no_grad():
        fx = [F.normalize(f(x), dim=1) for f in surrogates]

    def feature_dist(xa: torch.Tensor) -> torch.Tensor:
        return sum((F.normalize(f(xa), dim=1) - e).pow(2).sum(1) for f, e in zip(surrogates, fx))

    dssim = DSSIMTo(x)
    lo, hi = (x - max_change).clamp(0, 1), (x + max_change).clamp(0, 1)
    noise = torch.rand(x.shape, generator=generator).to(x.device) * 2 - 1
    w = (to_tanh(x) + init_noise * noise).requires_grad_(True)
    opt = _adadelta(w, lr)
    c = torch.ones(x.shape[0], device=x.device)
    best = x.clone()
    best_dist = torch.zeros(x.shape[0], device=x.device)

    def keep_best(xa: torch.Tensor, feat: torch.Tensor, d: torch.Tensor) -> None:
        better = (d <= accept * th) & (feat > best_dist)
        best[better] = xa[better]
        best_dist[better] = feat[better]

    for _ in trange(steps, desc=f"fawkes_v10 th={th}", disable=not progress, leave=False):
        xa = torch.minimum(torch.maximum(from_tanh(w), lo), hi)
        feat = feature_dist(xa)
        with torch.no_grad():
            d = dssim(xa)
        loss = _with_penalty(-(c * feat).sum(), budget_penalty(dssim, xa, d, th, const))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            keep_best(xa.detach(), feat.detach(), d)
            opt.step()
            project_box_(w, lo, hi)
            c = torch.where(d <= 0.9 * th, (c * 2).clamp(max=129.0), c)
            c = torch.where(d >= 1.1 * th, (c / 2).clamp(min=1 / 129), c)
    with torch.no_grad():
        xa = torch.minimum(torch.maximum(from_tanh(w), lo), hi)
        keep_best(xa, feature_dist(xa), dssim(xa))
    info = {"feature_dist_end": best_dist.mean().item(), "balance_c_end": c.tolist()}
    return best, info
