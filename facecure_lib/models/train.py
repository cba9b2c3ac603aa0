"""Training recipes for the quick-profile extractors (and the fine-tuning defenses reuse them)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from ..data.generate import gaussian_blur
from ..progress import tqdm
from .base import Extractor
from .nets import build_backbone

LOSSES = ("softmax", "cosface", "arcface", "simclr")
AUGMENTS = ("light", "heavy", "noise_blur", "robust")


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a trained extractor (hashed into its cache key)."""

    arch: str = "cnn"
    widths: tuple[int, ...] = (32, 64, 128, 128)
    embedding_dim: int = 128
    input_size: int = 64
    loss: str = "softmax"
    augment: str = "light"
    steps: int = 500
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 5e-4
    margin: float = 0.3
    scale: float = 16.0
    temperature: float = 0.2
    antialias: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"Unknown loss {self.loss!r}; valid: {', '.join(LOSSES)}")
        if self.augment not in AUGMENTS:
            raise ValueError(f"Unknown augment {self.augment!r}; valid: {', '.join(AUGMENTS)}")
        if self.steps < 1 or self.batch_size < 2:
            raise ValueError("steps must be >= 1 and batch_size >= 2")

    def to_dict(self) -> dict:
        return asdict(self)

    def with_(self, **changes) -> Recipe:
        return replace(self, **changes)


def new_extractor(recipe: Recipe, name: str, cache_key: str | None = None) -> Extractor:
    """An untrained extractor built from a recipe."""
    torch.manual_seed(recipe.seed)
    backbone = build_backbone(recipe.arch, recipe.widths, recipe.embedding_dim, recipe.input_size)
    return Extractor(
        backbone,
        name=name,
        input_size=recipe.input_size,
        cache_key=cache_key,
        antialias=recipe.antialias,
    )


def augment(x: torch.Tensor, kind: str, g: torch.Generator) -> torch.Tensor:
    """Batched augmentation of float pictures in [0, 1]: flips, shifts and, by kind, more."""
    n = x.shape[0]
    heavy = kind in ("heavy", "noise_blur", "robust")
    scale = 1 + (0.15 if heavy else 0.05) * (2 * torch.rand(n, generator=g) - 1)
    shift = (0.12 if heavy else 0.08) * (2 * torch.rand(n, 2, generator=g) - 1)
    angle = (0.2 if heavy else 0.0) * (2 * torch.rand(n, generator=g) - 1)
    flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, shift[:, 0]], 1),
            torch.stack([sin * flip, cos, shift[:, 1]], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if heavy:
        b = 1 + 0.25 * (2 * torch.rand(n, 1, 1, 1, generator=g) - 1)
        c = 1 + 0.25 * (2 * torch.rand(n, 1, 1, 1, generator=g) - 1)
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - m) * c + m) * b
    if kind == "noise_blur":
        sig = 1.2 * torch.rand(n, generator=g)
        x = gaussian_blur(x, sig)
        x = x + 0.04 * torch.rand(n, 1, 1, 1, generator=g) * torch.randn(x.shape, generator=g)
    if kind == "robust":  # stronger blur and sensor noise, and colour jitter per channel
        x = x * (1 + 0.1 * (2 * torch.rand(n, 3, 1, 1, generator=g) - 1))
        x = gaussian_blur(x, 1.5 * torch.rand(n, generator=g))
        x = x + 0.08 * torch.rand(n, 1, 1, 1, generator=g) * torch.randn(x.shape, generator=g)
    return x.clamp(0, 1)


class _MarginHead(nn.Module):
    """Softmax, CosFace (additive cosine margin) or ArcFace (additive angular margin) head."""

    def __init__(self, dim: int, n_classes: int, loss: str, margin: float, scale: float):
        super().__init__()
        self.loss, self.margin, self.scale = loss, margin, scale
        self.weight = nn.Parameter(torch.randn(n_classes, dim) * 0.01)
        self.bias = nn.Parameter(torch.zeros(n_classes)) if loss == "softmax" else None

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.loss == "softmax":
            return F.linear(emb, self.weight, self.bias)
        cos = F.linear(F.normalize(emb, dim=1), F.normalize(self.weight, dim=1)).clamp(
            -1 + 1e-6, 1 - 1e-6
        )
        onehot = F.one_hot(labels, cos.shape[1]).bool()
        if self.loss == "cosface":
            target = cos - self.margin
        else:
            target = torch.cos(torch.acos(cos) + self.margin)
        return self.scale * torch.where(onehot, target, cos)


def _nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's normalised-temperature cross-entropy over two views."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(-1e9)
    n = z1.shape[0]
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def run_steps(
    loss_at: Callable[[int], torch.Tensor],
    steps: int,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    progress: bool = True,
    desc: str = "training",
) -> list[float]:
    """The one training loop of the package: `steps` optimiser steps on `loss_at(step)`.

    `loss_at` draws its own batch (so that the caller's random generator decides the batch
    order) and returns the loss; the scheduler, if any, steps after every optimiser step.
    Returns the loss of every step.
    """
    losses: list[float] = []
    for step in tqdm(range(steps), desc=desc, disable=not progress, leave=False):
        loss = loss_at(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(float(loss.detach()))
    return losses


def fit(
    model: Extractor,
    images: torch.Tensor,
    labels: torch.Tensor,
    recipe: Recipe,
    device: torch.device | None = None,
    progress: bool = True,
    desc: str = "training",
    head: nn.Module | None = None,
) -> Extractor:
    """Train `model` in place on uint8 pictures with the recipe's loss; return it in eval mode.

    Each batch slot draws a picture uniformly at random (seeded); the classification head
    (a fresh one unless `head` is given, e.g. from `probe_head`) is discarded afterwards, as
    in the paper's robust-training recipe.
    """
    device = device or torch.device("cpu")
    g = torch.Generator().manual_seed(recipe.seed + 1)
    model.to(device).train()
    params = list(model.parameters())
    if recipe.loss != "simclr":
        head = (head or new_head(recipe, int(labels.max()) + 1)).to(device).train()
        params += list(head.parameters())
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    warm = max(1, recipe.steps // 20)

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, recipe.steps - warm)))

    def loss_at(_: int) -> torch.Tensor:
        idx = torch.randint(len(images), (recipe.batch_size,), generator=g)
        x = images[idx].float().div_(255)
        if recipe.loss == "simclr":
            v1 = augment(x, "heavy", g).to(device)
            v2 = augment(x, "noise_blur", g).to(device)
            return _nt_xent(
                model.backbone(model.preprocess(v1)),
                model.backbone(model.preprocess(v2)),
                recipe.temperature,
            )
        xb = augment(x, recipe.augment, g).to(device)
        emb = model.backbone(model.preprocess(xb))
        return F.cross_entropy(head(emb, labels[idx].to(device)), labels[idx].to(device))

    run_steps(
        loss_at, recipe.steps, opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_at), progress, desc
    )
    return freeze(model)


def new_head(recipe: Recipe, n_classes: int) -> nn.Module:
    """A freshly initialised classification head for the recipe's loss."""
    return _MarginHead(recipe.embedding_dim, n_classes, recipe.loss, recipe.margin, recipe.scale)


def probe_head(
    model: Extractor,
    images: torch.Tensor,
    labels: torch.Tensor,
    recipe: Recipe,
    device: torch.device | None = None,
    steps: int = 200,
    lr: float = 1e-2,
) -> nn.Module:
    """A head for the recipe's loss trained on the *frozen* model's embeddings (linear probe).

    Starting end-to-end fine-tuning from a probed head rather than a random one keeps the
    first, large gradients of a random head from wrecking the features (LP-FT, Kumar et al.
    2022). Full-batch Adam on precomputed embeddings of the uint8 pictures: a second or two.
    """
    device = device or torch.device("cpu")
    torch.manual_seed(recipe.seed + 2)
    head = new_head(recipe, int(labels.max()) + 1).to(device)
    model.to(device).eval()
    with torch.no_grad():
        emb = torch.cat(
            [
                model.backbone(model.preprocess(images[i : i + 256].float().div(255).to(device)))
                for i in range(0, len(images), 256)
            ]
        )
    y = labels.to(device)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    run_steps(lambda _: F.cross_entropy(head(emb, y), y), steps, opt, progress=False)
    return head.eval()


def freeze(model: Extractor) -> Extractor:
    """Eval mode and no gradients for the weights (attacks still get input gradients)."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
