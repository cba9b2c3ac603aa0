"""Figures of cloaks: clean | cloaked | amplified difference."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.figure import Figure


def _hwc(img: torch.Tensor):
    return img.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()


def plot_cloak_triplets(
    clean: torch.Tensor | Sequence[torch.Tensor],
    cloaked: torch.Tensor | Sequence[torch.Tensor],
    n: int = 4,
    amplify: float = 10.0,
    titles: Sequence[str] | None = None,
    size: float = 2.0,
) -> Figure:
    """One row per picture (the first `n`): clean, cloaked, and 0.5 + amplify * (cloaked - clean).

    `titles` optionally labels the rows (e.g. DSSIM values). Returns the matplotlib Figure
    (not shown; works with any backend, e.g. Agg).
    """
    n = min(n, len(clean), len(cloaked))
    if n < 1:
        raise ValueError("need at least one picture")
    fig = Figure(figsize=(3 * size, n * size), layout="constrained")
    axes = fig.subplots(n, 3, squeeze=False)
    heads = ("clean", "cloaked", f"difference x{amplify:g}")
    for i in range(n):
        a, b = clean[i], cloaked[i]
        diff = (0.5 + amplify * (b.float() - a.float())).clamp(0, 1)
        for j, img in enumerate((a, b, diff)):
            ax = axes[i, j]
            ax.imshow(_hwc(img), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(heads[j], fontsize=9)
        if titles is not None and i < len(titles):
            axes[i, 0].set_ylabel(titles[i], fontsize=8)
    return fig
