"""Plot style (set once), the one way a notebook shows a figure (`show`), and every figure
the notebooks draw: faces, bars, the game, the timeline, interpolation, ROC curves."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib.figure import Figure

from .config import project_root

if TYPE_CHECKING:
    from .defenses.detection import DetectionResult
    from .game import RoundResult

# The one source of colours: seaborn's colour-blind-safe palette (Okabe-Ito-like; every
# colour of a figure below comes from it). Meaning is never carried by colour alone:
# figures add markers, hatching or text where a distinction matters.
PALETTE_NAME = "colorblind"
COLORS: tuple[str, ...] = tuple(sns.color_palette(PALETTE_NAME).as_hex())
PALETTE = {
    "fawkes_v03": COLORS[0],  # blue
    "fawkes_v10": COLORS[1],  # orange
    "lowkey": COLORS[2],  # bluish green
    "clean": COLORS[7],  # grey
    "baseline": COLORS[3],  # vermillion
    "robust": COLORS[0],  # blue
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
    sns.set_palette(PALETTE_NAME)
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


_SHOWN: list[str] = []  # names of the figures shown since the notebook started


def show(fig: Figure, name: str) -> None:
    """Save a figure as `<figures>/<name>.png`, display it exactly once, and close it.

    Returns nothing, so that a notebook cell ending with `plots.show(...)` prints no path.
    Inside a notebook the figure is displayed here; since it is closed afterwards, the
    inline backend does not draw it a second time. Outside a notebook nothing is displayed.
    """
    fig.savefig(figures_dir() / f"{name}.png")
    shown(name)
    if in_notebook():
        from IPython.display import display

        inline_ready()
        display(fig)
    plt.close(fig)


_INLINE_READY: list[bool] = []


def inline_ready() -> None:
    """Once per kernel: switch to the inline backend (a kernel started with `MPLBACKEND=Agg`,
    as CI does, would display figures as text only), then create and close one pyplot
    figure, since the inline backend registers its PNG formatter on its first pyplot figure
    and until then a bare `Figure` (built without pyplot) displays as text."""
    if not _INLINE_READY:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.run_line_magic("matplotlib", "inline")
        plt.close(plt.figure())
        _INLINE_READY.append(True)


def shown(name: str) -> None:
    """Record that a figure was displayed (`show` does; panels do for the figures they draw)."""
    _SHOWN.append(name)


def shown_figures(reset: bool = False) -> list[str]:
    """Names of the figures shown so far (the results file lists them); `reset` starts over."""
    out = list(_SHOWN)
    if reset:
        _SHOWN.clear()
    return out


def in_notebook() -> bool:
    """True inside a Jupyter kernel (not a terminal IPython or a plain script)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the notebook stack
        return False
    return hasattr(get_ipython(), "kernel")  # a Jupyter kernel, not a terminal IPython


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


def accuracy_bars(accuracy: Mapping[str, float], xlabel: str) -> Figure:
    """One horizontal bar per model, its value written beside it."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(accuracy) + 1.2))
    ax.barh(list(accuracy), list(accuracy.values()), color=PALETTE["robust"])
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel)
    for y, v in enumerate(accuracy.values()):
        ax.text(v + 0.01, y, f"{v:.2f}", va="center")
    fig.tight_layout()
    return fig


def protection_bars(
    values: Mapping[str, Mapping[str, float]],
    spread: Mapping[str, Mapping[str, Sequence[float]]],
    clean_error: Mapping[str, float],
    title: str = "",
) -> Figure:
    """`grouped_bars` of protection rates with each group's clean error as a dashed line."""
    fig = grouped_bars(
        values, spread, ylabel="protection rate (error on the user's probes)", title=title
    )
    ax = fig.axes[0]
    for i, name in enumerate(values):
        ax.hlines(
            clean_error[name],
            i - 0.42,
            i + 0.42,
            colors="k",
            linestyles="--",
            lw=1,
            label="clean error" if i == 0 else None,
        )
    ax.legend(fontsize=8, loc="upper right")
    return fig


def cloak_columns(
    clean: Sequence[torch.Tensor],
    cloaked: Sequence[torch.Tensor],
    labels: Sequence[str],
    amplify: float = 8.0,
    size: float = 1.6,
) -> Figure:
    """One column per picture: clean, cloaked, and the difference amplified (grey = 0)."""
    cols = [
        torch.stack([a, b, (0.5 + amplify * (b - a)).clamp(0, 1)]) for a, b in zip(clean, cloaked)
    ]
    grid = torch.stack(cols, 1).flatten(0, 1)  # rows: clean, cloaked, difference
    rows = ("clean", "cloaked", f"diff x{amplify:g}")
    titles = [f"{k}\n{row}" if row == "clean" else row for row in rows for k in labels]
    return show_faces(grid, titles, ncols=len(labels), size=size)


def plot_systems(systems: Mapping[str, Mapping], attacks: Sequence[str], title: str = "") -> Figure:
    """Fig. 6 style: each system's clean accuracy (left) and protection rate (right), with
    one dot per attack."""
    names = list(systems)
    colors = [COLORS[i % len(COLORS)] for i in (3, 1, 0, 2, 4, 5)]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    acc = [systems[s]["clean_accuracy"] for s in names]
    ax1.bar(range(len(names)), acc, color=colors[: len(names)])
    ax1.set_ylim(max(0.0, min(acc) - 0.1), 1.0)
    ax1.set_ylabel("clean accuracy (non-attacking users)")
    ax2.bar(
        range(len(names)),
        [systems[s]["protection_rate"] for s in names],
        color=colors[: len(names)],
    )
    for j, a in enumerate(attacks):
        ax2.scatter(
            np.arange(len(names)) + (j - 1) * 0.2,
            [systems[s]["protection_rate_per_attack"][a] for s in names],
            s=14,
            color=PALETTE.get(a),
            label=a,
            zorder=3,
            edgecolor="k",
            lw=0.3,
        )
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("protection rate (attacking users)")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.set_xticks(range(len(names)), [n.replace("_", "\n", 1) for n in names], fontsize=7)
    fig.suptitle(title)
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


def plot_timeline(records: Sequence[Mapping], split: int = 0):
    """Figs. 4-5 style: protection (left, with each model's clean error) and excess protection
    with its 95% interval over users (right), one colour per attack, models in the order
    given. The first `split` records are the attacks' own surrogates (drawn left of a
    separator); a hollow marker means the attack crafted its cloaks against that model."""
    names = [r["model"] for r in records]
    attacks = list(records[0]["protection_rate"])
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.2))
    xs = np.arange(len(names), dtype=float)
    for ax, key in ((axes[0], "protection_rate"), (axes[1], "excess_protection")):
        for j, a in enumerate(attacks):
            off = (j - (len(attacks) - 1) / 2) * 0.12
            ys = np.array([r[key][a] for r in records])
            ax.plot(xs + off, ys, "-", color=PALETTE.get(a), lw=0.8, alpha=0.6)
            for x, r, y in zip(xs, records, ys):
                seen = a in r.get("seen_by", [])
                kw = {"mfc": "white" if seen else PALETTE.get(a), "color": PALETTE.get(a)}
                if key == "excess_protection" and "excess_interval" in r:
                    lo, hi = r["excess_interval"][a]
                    ax.errorbar(
                        x + off, y, yerr=[[y - lo], [hi - y]], fmt="o", ms=6, lw=1, capsize=2, **kw
                    )
                else:
                    ax.plot(x + off, y, "o", ms=6, **kw)
            ax.plot([], [], "o", color=PALETTE.get(a), label=a)
        if key == "protection_rate":
            ax.plot(
                xs,
                [r["clean_error"] for r in records],
                "--",
                color=PALETTE["clean"],
                label="clean error",
            )
            ax.set_ylim(0, 1.05)
            ax.set_ylabel("protection rate (error on the users' clean probes)")
        else:
            ax.axhline(0.30, ls=":", color="k", lw=0.8)
            ax.axhline(0.15, ls="--", color="k", lw=0.8)
            ax.axhline(0, color="k", lw=0.5)
            ax.set_ylim(-0.3, 1.05)
            ax.set_ylabel("excess protection (protection - clean error)")
        if split:
            ax.axvline(split - 0.5, color=PALETTE["clean"], lw=1)
        ax.set_xticks(
            xs,
            [f"{n}\n{r.get('year', '')}" for n, r in zip(names, records)],
            rotation=35,
            ha="right",
            fontsize=8,
        )
    axes[0].plot([], [], "o", mfc="white", color="k", label="cloak crafted on it")
    axes[0].legend(fontsize=8, loc="upper right")
    axes[1].set_title("dotted 0.30: protects; dashed 0.15: left behind", fontsize=9)
    if split:
        axes[0].set_title("left of the line: the attacks' own surrogates", fontsize=9)
    fig.tight_layout()
    return fig


def plot_unprotected(curves: Mapping[str, Sequence[Mapping]]):
    """Fig. 7 style: protection against the share of the user's pictures left clean."""
    import matplotlib.pyplot as plt

    from .plots import PALETTE

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for a, curve in curves.items():
        ax.plot(
            [c["fraction"] for c in curve],
            [c["protection_rate"] for c in curve],
            "-o",
            color=PALETTE.get(a),
            label=a,
        )
    ax.set_xlabel("share of the user's scraped pictures left unprotected")
    ax.set_ylabel("protection rate (own surrogate)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_interpolation(curve: Sequence[Mapping]):
    """App. B.3 style: clean accuracy and protection against each attack along alpha."""
    import matplotlib.pyplot as plt

    from .plots import PALETTE

    alphas = [c["alpha"] for c in curve]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.plot(alphas, [c["clean_accuracy"] for c in curve], "-s", color="k", label="clean accuracy")
    for a in curve[0]["protection_rate"]:
        ax.plot(
            alphas,
            [c["protection_rate"][a] for c in curve],
            "-o",
            color=PALETTE.get(a, COLORS[4]),
            label=f"protection: {a}",
        )
    ax.set_xlabel("alpha  (0 = generic model, 1 = face-tuned model)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_roc(results: dict[str, DetectionResult], title: str = ""):
    """ROC curves (false positive rate vs true positive rate) with the AUC in the legend."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for key, r in results.items():
        fpr, tpr = r.roc()
        ax.plot(fpr, tpr, label=f"{key} (AUC {r.metrics['auc']:.3f})", lw=1.6)
    ax.plot([0, 1], [0, 1], ls=":", color=PALETTE["clean"], lw=1)
    ax.set_xlabel("false positive rate (clean flagged)")
    ax.set_ylabel("true positive rate (cloaked caught)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_game(
    games: Mapping[str, Sequence[RoundResult]], threshold: float | None = None, title: str = ""
):
    """Protection rate per round, one line per game (e.g. per trainer strategy).

    Filled markers: the user wins the round; open markers: the trainer wins. Round labels
    show the user's attack for the new pictures and the model on the x axis.
    """
    from .game import WIN_THRESHOLD

    threshold = WIN_THRESHOLD if threshold is None else threshold
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    colours = [COLORS[i] for i in (0, 1, 2, 3, 4)]
    first = next(iter(games.values()), [])
    for i, (label, res) in enumerate(games.items()):
        c = colours[i % len(colours)]
        xs = [r.round for r in res]
        ys = [r.protection_rate for r in res]
        ax.plot(xs, ys, "-", color=c, label=label, alpha=0.8)
        for r in res:
            ax.plot(
                r.round,
                r.protection_rate,
                "o",
                ms=8,
                color=c,
                mfc=c if r.winner == "user" else "white",
            )
    ax.axhline(threshold, ls="--", color=PALETTE["clean"], lw=1)
    ax.text(
        0.01,
        threshold + 0.02,
        f"user wins above {threshold:.2f}",
        color=PALETTE["clean"],
        fontsize=8,
        transform=ax.get_yaxis_transform(),
    )
    ax.set_xticks(
        [r.round for r in first],
        [f"round {r.round}\n{r.user_attack or 'none'}" for r in first],
        fontsize=8,
    )
    ax.set_ylim(-0.03, 1.05)
    ax.set_ylabel("protection rate")
    ax.set_title(title or "dynamic game: filled = user wins, open = trainer wins")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig
