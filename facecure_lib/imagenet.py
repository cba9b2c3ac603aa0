"""Table 4 of the paper, outside faces: ImageNet adversarial examples crafted on an old
ensemble (PGD, eps = 16/255) lose their power on classifiers published later. Paper profile
only: the torchvision classifiers' weights download."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .data.files import center_square, is_ignored, is_image_name, open_rgb, to_tensor
from .models.base import IMAGENET_MEAN, IMAGENET_STD
from .progress import tqdm

# Our choice of stand-ins for the paper's classifiers (torchvision names, year of the recipe).
TABLE4_SOURCES: dict[str, int] = {"vgg16": 2014, "googlenet": 2014, "resnet50": 2015}


TABLE4_TARGETS: dict[str, int] = {
    "resnet101": 2015,
    "densenet121": 2017,
    "resnext101_32x8d": 2017,
    "vit_b_16": 2021,
}


# Imagenette (fast.ai's 10-class ImageNet subset): WordNet id -> ImageNet-1k class index.
IMAGENETTE_CLASSES = {
    "n01440764": 0,
    "n02102040": 217,
    "n02979186": 482,
    "n03000684": 491,
    "n03028079": 497,
    "n03394916": 566,
    "n03417042": 569,
    "n03425413": 571,
    "n03445777": 574,
    "n03888605": 701,
}


class Normalized(nn.Module):
    """A classifier that takes pictures in [0, 1] and normalises (and resizes) them itself."""

    def __init__(
        self, net: nn.Module, mean=IMAGENET_MEAN, std=IMAGENET_STD, size: int | None = 224
    ):
        super().__init__()
        self.net, self.size = net, size
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size is not None and x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        out = self.net((x - self.mean) / self.std)
        return out.logits if hasattr(out, "logits") else out


def torchvision_classifier(name: str, weights: str | None = "DEFAULT", **kwargs) -> Normalized:
    """A torchvision ImageNet classifier (weights download: Colab) wrapped to take [0, 1] input.

    `weights=None` builds random weights offline (tests); `kwargs` go to the builder
    (e.g. num_classes=10 for a tiny random model).
    """
    import torchvision

    try:
        builder = torchvision.models.get_model_builder(name)
    except ValueError as err:
        raise ValueError(f"Unknown torchvision model {name!r}") from err
    if name == "googlenet" and weights is None:
        kwargs.setdefault("aux_logits", False)
        kwargs.setdefault("init_weights", True)
    net = builder(weights=weights, **kwargs).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return Normalized(net).eval()


def pgd_ensemble(
    models: Sequence[nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float = 16 / 255,
    steps: int = 10,
    step_size: float | None = None,
    random_start: bool = True,
    seed: int = 0,
) -> torch.Tensor:
    """Untargeted L-inf PGD on the mean cross-entropy of an ensemble; returns x' in [0, 1].

    Every step: x' <- clip(x' + step_size * sign(grad), x - eps, x + eps, 0, 1).
    """
    if not models:
        raise ValueError("at least one model is needed")
    step_size = step_size if step_size is not None else 2.5 * eps / steps
    g = torch.Generator().manual_seed(seed)
    x = x.detach().float()
    delta = (
        (torch.rand(x.shape, generator=g) * 2 - 1) * eps if random_start else torch.zeros_like(x)
    )
    xa = (x + delta.to(x.device)).clamp(0, 1)
    for _ in range(steps):
        xa.requires_grad_(True)
        loss = sum(F.cross_entropy(m(xa), y) for m in models) / len(models)
        (grad,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            xa = xa + step_size * grad.sign()
            xa = torch.min(torch.max(xa, x - eps), x + eps).clamp(0, 1)
    return xa.detach()


@torch.no_grad()
def top1(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 64) -> float:
    """Top-1 accuracy of a classifier on pictures in [0, 1]."""
    hits = 0
    for i in range(0, len(x), batch_size):
        hits += int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
    return hits / max(1, len(x))


def transfer_over_time(
    sources: Mapping[str, nn.Module],
    targets: Mapping[str, nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    years: Mapping[str, int] | None = None,
    eps: float = 16 / 255,
    steps: int = 10,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Craft PGD examples on the `sources` ensemble, then clean and adversarial top-1 of every
    source (white-box) and target (transfer) model: one row per model."""
    device = images.device
    adv = []
    for i in tqdm(
        range(0, len(images), batch_size),
        desc="PGD on the old ensemble",
        disable=not progress,
        leave=False,
    ):
        adv.append(
            pgd_ensemble(
                list(sources.values()),
                images[i : i + batch_size],
                labels[i : i + batch_size].to(device),
                eps,
                steps,
                seed=seed + i,
            )
        )
    adv = torch.cat(adv)
    rows = []
    for role, group in (("source", sources), ("target", targets)):
        for name, m in group.items():
            rows.append(
                {
                    "model": name,
                    "year": (years or {}).get(name),
                    "role": role,
                    "clean_top1": top1(m, images, labels),
                    "adversarial_top1": top1(m, adv, labels),
                }
            )
    return pd.DataFrame(rows)


def load_imagenet_folder(
    path: str | Path,
    per_class: int = 10,
    size: int = 224,
    class_index: Mapping[str, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pictures from a folder of WordNet-id sub-folders (ImageNet val layout, or Imagenette).

    Labels: `class_index` if given, else the Imagenette table when every folder is in it, else
    the sorted order of the folders (right for the full 1000-class layout only).
    """
    root = Path(path)
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not folders:
        raise FileNotFoundError(f"{root}: expected one sub-folder per WordNet id (n01440764, ...)")
    if class_index is None:
        names = [f.name for f in folders]
        class_index = (
            IMAGENETTE_CLASSES
            if set(names) <= set(IMAGENETTE_CLASSES)
            else {n: i for i, n in enumerate(names)}
        )
    xs, ys = [], []
    for f in folders:
        files = sorted(
            p for p in f.iterdir() if is_image_name(p) and not is_ignored(p) and p.is_file()
        )
        for p in files[:per_class]:
            img = center_square(open_rgb(p), size, Image.Resampling.BICUBIC)
            xs.append(to_tensor(img).float() / 255)
            ys.append(class_index[f.name])
    return torch.stack(xs), torch.tensor(ys)
