"""The one interface every face feature extractor has in this package."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Extractor(nn.Module):
    """A feature extractor g: images in [0, 1] at any size -> embeddings.

    The wrapper owns the preprocessing (resize to `input_size`, mean/std normalisation)
    so that attacks and the recognition protocol can pass raw pictures of any resolution
    and stay differentiable end to end. Embeddings are L2-normalised when `normalize`.
    `cache_key` identifies the exact weights (used to key cloaks and embeddings).
    """

    def __init__(
        self,
        backbone: nn.Module,
        name: str,
        input_size: int,
        mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
        std: tuple[float, float, float] = (0.5, 0.5, 0.5),
        normalize: bool = True,
        cache_key: str | None = None,
        antialias: bool = False,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.antialias = antialias
        self.name = name
        self.input_size = int(input_size)
        self.normalize = normalize
        self.cache_key = cache_key or name
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Resize (bilinear, differentiable) and normalise a batch in [0, 1]."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images of shape [B, 3, H, W], got {tuple(x.shape)}")
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(
                x,
                size=(self.input_size, self.input_size),
                mode="bilinear",
                align_corners=False,
                antialias=self.antialias,
            )
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.backbone(self.preprocess(x))
        return F.normalize(e, dim=1) if self.normalize else e

    def extra_repr(self) -> str:
        return f"name={self.name!r}, input_size={self.input_size}, normalize={self.normalize}"


@dataclass(frozen=True)
class ExtractorInfo:
    """Metadata of a zoo entry: what it is and what it stands in for in the paper."""

    name: str
    profile: str
    era: int
    year: int
    input_size: int
    embedding_dim: int
    recipe: str
    stands_for: str
    notes: str = ""
    extra: dict = field(default_factory=dict)
    real: bool = False  # pretrained on real pictures (not this package's generated faces)

    @property
    def trained_on(self) -> str:
        """How a report labels the model: real pictures, or this package's generated faces."""
        return "real pictures (pretrained)" if self.real else "generated faces (this package)"
