"""Plot style (set once) and the figures that more than one notebook draws."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch

from .config import project_root

PALETTE = {
    "fawkes_v03": "#4C72B0",
    "fawkes_v10": "#DD8452",
    "lowkey": "#55A868",
    "clean": "#8C8C8C",
    "baseline": "#C44E52",
    "robust": "#4C72B0",
}


def set_style() -> None:
    """One consistent look for every notebook (and a headless backend when there is no display)."""
    if (
        not os.environ.get("DISPLAY")
        and "ipykernel" not in str(matplotlib.get_backend()).lower()
        and matplotlib.get_backend().lower()
        not in ("agg", "module://matplotlib_inline.backend_inline")
    ):
        matplotlib.use("Agg")
    plt.rcParams.update(
        {
            "figure.figsize": (7.0, 4.0),
            "figure.dpi": 100,
            "savefig.dpi": 120,
            "savefig.bbox": "tight",
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.frameon": False,
            "font.size": 10,
        }
    )


def figures_dir() -> Path:
    """Where figures are saved (`FACECURE_FIGURES`, else `output/figures`)."""
    out = Path(os.environ.get("FACECURE_FIGURES") or project_root() / "output" / "figures")
    out.mkdir(parents=True, exist_ok=True)
    return out


def savefig(fig: plt.Figure, name: str) -> Path:
    """Save a figure as PNG in the figures folder and return its path."""
    path = figures_dir() / f"{name}.png"
    fig.savefig(path)
    return path


def to_hwc(img: torch.Tensor) -> np.ndarray:
    """[3, H, W] uint8 or float picture -> [H, W, 3] float array for imshow."""
    img = img.detach().cpu()
    img = img.float() / 255 if img.dtype == torch.uint8 else img.float()
    return img.clamp(0, 1).permute(1, 2, 0).numpy()


def show_faces(
    images: torch.Tensor, titles: Sequence[str] | None = None, ncols: int = 8, size: float = 1.2
) -> plt.Figure:
    """A grid of pictures with optional titles."""
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * size, nrows * size * 1.15), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_hwc(images[i]))
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()
    return fig


def grouped_bars(
    values: Mapping[str, Mapping[str, float]],
    spread: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
    ylabel: str = "protection rate",
    reference: float | None = None,
    reference_label: str = "clean error",
    title: str = "",
) -> plt.Figure:
    """Bars grouped by outer key (e.g. baseline/robust) with one bar per inner key (attack).

    `spread` adds per-user points over each bar, so the spread across users is visible.
    """
    groups = list(values)
    inner = list(dict.fromkeys(k for g in groups for k in values[g]))
    width = 0.8 / max(1, len(inner))
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(groups), 3.6))
    for j, key in enumerate(inner):
        xs = np.arange(len(groups)) + (j - (len(inner) - 1) / 2) * width
        ys = [values[g].get(key, np.nan) for g in groups]
        ax.bar(xs, ys, width * 0.92, label=key, color=PALETTE.get(key))
        if spread:
            for x, g in zip(xs, groups):
                pts = spread.get(g, {}).get(key, [])
                ax.scatter(
                    np.full(len(pts), x) + np.linspace(-width / 4, width / 4, len(pts)),
                    pts,
                    s=8,
                    color="k",
                    alpha=0.5,
                    zorder=3,
                )
    if reference is not None:
        ax.axhline(reference, ls="--", color=PALETTE["clean"], label=reference_label)
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig
