"""Notebook 06: how much a handful of test photos can tell, and how stable the answer is."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def intervals(agree: bool, n_probes: int, widest: float, narrowest: float) -> str:
    """The student's Wilson intervals against the library's, and what their width means."""
    return (
        f"Your intervals {'match' if agree else 'do NOT match'} the library's. With "
        f"{n_probes} test photos the 95% intervals are up to {widest:.0%} wide (narrowest "
        f"{narrowest:.0%}): a single number from this check is a rough estimate."
    )


def stability(summary: pd.DataFrame, newest: str, n_splits: int, fooled: float) -> str:
    """How much the protection rates move over split seeds (`summary`: mean/min/max rows
    per recogniser)."""
    moves = float((summary["max"] - summary["min"]).max())
    fooled_all = [n for n in summary.index if summary.loc[n, "min"] >= fooled]
    row: Mapping = summary.loc[newest]
    return (
        f"Over {n_splits} splits a recogniser's protection rate moves by up to {moves:.0%}. "
        f"The newest recogniser, **{newest}**, averages {row['mean']:.0%} (range "
        f"{row['min']:.0%}-{row['max']:.0%}). "
        + (
            f"Fooled on every split: {', '.join(fooled_all)}."
            if fooled_all
            else "No recogniser is fooled on every split."
        )
    )
