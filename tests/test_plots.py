"""Colours come from seaborn's colour-blind-safe palette; outcomes never rely on colour alone."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.colors import to_hex

from facecure_lib import plots
from facecure_lib.selfcheck.report import OUTCOME_STYLE, plot_protection

COLORBLIND = set(sns.color_palette("colorblind").as_hex())


def test_palette_is_seaborns_colorblind_palette():
    assert set(plots.COLORS) == COLORBLIND
    assert set(plots.PALETTE.values()) <= COLORBLIND
    plots.set_style()
    cycle = [to_hex(c) for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle == list(plots.COLORS)


def test_no_hard_coded_colours_in_the_plotting_modules():
    root = Path(plots.__file__).parent
    for path in (root / "plots.py", root / "selfcheck" / "report.py"):
        assert not re.findall(r"#[0-9A-Fa-f]{6}\b", path.read_text()), path.name


def test_plot_systems_uses_the_palette():
    systems = {
        f"s{i}": {
            "clean_accuracy": 0.9,
            "protection_rate": 0.5,
            "protection_rate_per_attack": {"fawkes_v10": 0.4, "lowkey": 0.6},
        }
        for i in range(3)
    }
    fig = plots.plot_systems(systems, ["fawkes_v10", "lowkey"])
    bars = [to_hex(p.get_facecolor()) for p in fig.axes[0].patches]
    assert bars and set(bars) <= COLORBLIND
    plt.close(fig)


def test_protection_figure_says_each_outcome_in_words_and_hatching():
    t = pd.DataFrame(
        {
            "recogniser": ["a", "b", "c"],
            "year": [2015, 2018, None],
            "protection_rate": [1.0, 0.5, 0.0],
            "ci_low": [0.6, 0.2, 0.0],
            "ci_high": [1.0, 0.8, 0.4],
            "unprotected_error": [0.1, 0.0, 0.0],
            "outcome": ["fooled", "partly fooled", "recognised you"],
        }
    )
    fig = plot_protection(SimpleNamespace(table=t, n_probes=6, person="me", source="x"))
    ax, words = fig.axes
    labels = [tick.get_text() for tick in words.get_yticklabels()]
    assert labels == ["0%: recognised you", "50%: partly fooled", "100%: fooled"]
    handles = dict(zip(*reversed(ax.get_legend_handles_labels())))
    shown = {o: handles[f"protection: {o}"].patches[0] for o in OUTCOME_STYLE}
    assert len({p.get_hatch() or "" for p in shown.values()}) == 3  # one hatching per outcome
    assert {to_hex(p.get_facecolor()) for p in shown.values()} <= COLORBLIND
    bars = [p for p in ax.patches if p.get_width() > 0]
    assert [p.get_hatch() or "" for p in bars] == ["", "//"]  # fooled, partly fooled
