"""Tiny datasets and models with known answers."""

from __future__ import annotations

import torch
from torch import nn

from facecure_lib.data.dataset import FaceDataset
from facecure_lib.models.base import Extractor


def colour_dataset(
    n_ids: int = 6, per_id: int = 10, size: int = 32, noise: float = 8.0, seed: int = 0
) -> FaceDataset:
    """Each identity is a flat colour plus noise: trivially separable by mean colour."""
    g = torch.Generator().manual_seed(seed)
    colours = torch.rand(n_ids, 3, generator=g) * 200 + 25
    labels = torch.arange(n_ids).repeat_interleave(per_id)
    imgs = colours[labels].view(-1, 3, 1, 1) + noise * torch.randn(
        len(labels), 3, size, size, generator=g
    )
    return FaceDataset(
        "colours",
        imgs.clamp(0, 255).round().to(torch.uint8),
        labels,
        [f"id{i}" for i in range(n_ids)],
    )


class MeanColour(nn.Module):
    """Embedding = mean colour of the picture (a perfect recogniser on colour_dataset)."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


def mean_colour_extractor(size: int = 32) -> Extractor:
    return Extractor(
        MeanColour(),
        "mean_colour",
        size,
        mean=(0, 0, 0),
        std=(1, 1, 1),
        normalize=False,
        cache_key="mean_colour",
    )


# the keys of one round of the dynamic game (`game.RoundResult.to_dict`, results contract)
ROUND_KEYS = {
    "round",
    "user_attack",
    "trainer_strategy",
    "trainer_model",
    "protection_rate",
    "clean_error",
    "excess_protection",
    "winner",
}
