"""Checks of the exercises of notebook 00 (quickstart: the 1-NN rule and a first cloak)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..models.base import Extractor
from . import check_prediction, expect, grade

__all__ = [
    "check_nearest_identity",
    "check_prediction",
    "check_push_away",
    "solution_nearest_identity",
    "solution_push_away",
    "toy_extractor",
]


def solution_nearest_identity(
    query: torch.Tensor, gallery: torch.Tensor, gallery_labels: torch.Tensor
) -> torch.Tensor:
    """The library's answer to exercise 1: the label of each query's nearest gallery row
    (Euclidean distance)."""
    d = torch.cdist(query.float(), gallery.float())
    return gallery_labels[d.argmin(dim=1)]


def check_nearest_identity(nearest_identity: Callable) -> Callable:
    """Exercise 1: `nearest_identity(query [Q, D], gallery [G, D], labels [G])` -> [Q]."""

    def body() -> None:
        gallery = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [5.0, 5.0]])
        labels = torch.tensor([7, 7, 2, 9])
        query = torch.tensor([[0.9, 0.2], [0.1, 2.0], [4.0, 4.5], [-1.0, -1.0]])
        want = [7, 2, 9, 7]
        got = torch.as_tensor(nearest_identity(query, gallery, labels))
        expect(
            got.shape == (4,),
            f"one identity per query expected (shape (4,)), got shape {tuple(got.shape)}",
            "reduce the [Q, G] distance matrix over the gallery dimension",
        )
        rows = solution_nearest_identity(query, gallery, torch.arange(4)).tolist()
        expect(
            got.tolist() != rows or rows == want,
            f"you returned gallery row numbers {got.tolist()}, not identities",
            "look up the label of the nearest gallery row",
        )
        far = (-torch.cdist(query, gallery)).argmin(dim=1)
        expect(
            got.tolist() != labels[far].tolist(),
            f"got {got.tolist()}: those are the *furthest* gallery pictures",
            "the nearest neighbour has the smallest distance",
        )
        expect(
            got.tolist() == want,
            f"expected identities {want}, got {got.tolist()}",
            "Euclidean distance from every query to every gallery row (torch.cdist), then "
            "the label of the closest row",
        )
        one = torch.as_tensor(nearest_identity(query[:1], gallery, labels))
        expect(
            one.tolist() == [7],
            f"a single query [1, D] should give [7], got {one.tolist()}",
            "keep the query dimension: the answer for one query is a tensor of length 1",
        )

    return grade(
        "nearest_identity (the 1-NN rule)", body, nearest_identity, solution_nearest_identity
    )


def solution_push_away(
    model: nn.Module, picture: torch.Tensor, eps: float, steps: int, step_size: float
) -> torch.Tensor:
    """The library's answer to exercise 2: signed-gradient ascent on ||f(x') - f(x)||^2,
    projected on the L-inf ball of radius `eps` around the picture and on [0, 1]."""
    x = picture.detach()
    with torch.no_grad():
        clean = model(x)
    # a random start: at x' = x the gradient of ||f(x') - f(x)||^2 is exactly zero
    x_adv = (x + torch.empty_like(x).uniform_(-eps / 2, eps / 2)).clamp(0, 1)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = (model(x_adv) - clean).pow(2).sum()
        (grad,) = torch.autograd.grad(loss, x_adv)
        with torch.no_grad():
            x_adv = x_adv + step_size * grad.sign()
            x_adv = (x + (x_adv - x).clamp(-eps, eps)).clamp(0, 1)
    return x_adv.detach()


class _Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(32, 16),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def toy_extractor(seed: int = 0) -> Extractor:
    """A small random CNN with L2-normalised 16-d embeddings: a stand-in face model for
    known-answer checks (what matters is that it is differentiable, not what it knows)."""
    with torch.random.fork_rng():  # leaves the notebook's random state alone
        torch.manual_seed(seed)
        model = Extractor(_Toy(), f"toy{seed}", 16, normalize=True).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _shift(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(y) - model(x)).norm(dim=1).mean())


def check_push_away(push_away: Callable) -> Callable:
    """Exercise 2: `push_away(model, picture, eps, steps, step_size)` -> cloaked picture."""

    def body() -> None:
        model = toy_extractor(0)
        g = torch.Generator().manual_seed(0)
        x = torch.rand(1, 3, 16, 16, generator=g) * 0.6 + 0.2
        original = x.clone()
        eps, steps, step = 8 / 255, 10, 2 / 255
        with torch.random.fork_rng():
            torch.manual_seed(0)
            out = push_away(model, x, eps, steps, step)
            ref = solution_push_away(model, original, eps, steps, step)
        expect(
            isinstance(out, torch.Tensor) and out.shape == x.shape,
            f"return the cloaked picture, shape {tuple(x.shape)}",
            "return a tensor shaped like `picture`",
        )
        expect(
            torch.equal(x, original),
            "the clean picture was changed in place",
            "work on a copy (x_adv = picture + ...), never on `picture` itself",
        )
        out = out.detach()
        expect(
            bool(torch.isfinite(out).all()) and out.min() >= 0 and out.max() <= 1,
            "the cloaked picture leaves the valid range [0, 1]",
            "clamp the picture to [0, 1] after every step",
        )
        change = float((out - x).abs().max())
        expect(
            change <= eps + 1e-6,
            f"a pixel moved by {change * 255:.1f}/255, more than the budget {eps * 255:.0f}/255",
            "after every step, clamp the change (x_adv - picture) to [-eps, eps]",
        )
        shift, best = _shift(model, x, out), _shift(model, x, ref)
        expect(
            shift > 1e-6,
            "the embedding did not move at all",
            "at x' = x the gradient of ||f(x') - f(x)||^2 is zero: start from the picture "
            "plus a little random noise inside the budget",
        )
        noise = (x + eps * torch.randn(x.shape, generator=g).sign()).clamp(0, 1)
        expect(
            shift >= 0.5 * best and shift > 1.5 * _shift(model, x, noise),
            f"your cloak moved the embedding by {shift:.3f}; the reference moves it by "
            f"{best:.3f}, random noise of the same budget by {_shift(model, x, noise):.3f}",
            "step *up* the gradient of the distance (x_adv + step_size * grad.sign()), "
            "for every one of the `steps` steps",
        )

    return grade("push_away (a feature-space cloak)", body, push_away, solution_push_away)
