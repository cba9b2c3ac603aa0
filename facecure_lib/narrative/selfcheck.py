"""Notebook 06: how much a handful of test photos can tell, and how stable the answer is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from . import listing


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


def newest_answer(table: pd.DataFrame, newest: str) -> str:
    """The answer of the "predict, then run" box: what the newest recogniser did, what it
    does without a cloak, and which recognisers the cloak fooled (`table`: the check's
    table, one row per recogniser with `recogniser`, `missed`, `n_probes`,
    `protection_rate`, `ci_low`, `ci_high`, `unprotected_error`, `outcome`, `role`)."""
    row = table.set_index("recogniser").loc[newest]
    fooled = table.loc[table["outcome"] == "fooled", "recogniser"].tolist()
    surrogates = table.loc[table["role"] == "surrogate of the attack", "recogniser"].tolist()
    fooled_surr = [n for n in surrogates if n in fooled]
    text = (
        f"The newest recogniser, **{newest}**, missed you in {int(row['missed'])} of "
        f"{int(row['n_probes'])} test photos (protection {row['protection_rate']:.0%}, 95% "
        f"interval {row['ci_low']:.0%}-{row['ci_high']:.0%}): **{row['outcome']}**. Without "
        f"a cloak it would miss you in {row['unprotected_error']:.0%} of them. "
    )
    text += (
        f"The cloak fooled {len(fooled)} of {len(table)} recognisers"
        + (f" ({listing(fooled)})" if fooled else "")
        + ". "
    )
    if surrogates:
        text += (
            f"Of the attack's own surrogates ({listing(surrogates)}) it fooled "
            f"{len(fooled_surr)}: "
            + (
                "a cloak works best against the models it was made against."
                if fooled_surr
                else "it did not even fool the models it was made against."
            )
        )
    return text.rstrip()


def cloak_helps(answers: Mapping[str, str], newest: str, agree: bool) -> str:
    """What the exercise's reading of every recogniser says (`answers`: recogniser ->
    'helps' | 'cannot tell' | 'no help'), with the newest one first."""
    by = {k: [n for n, a in answers.items() if a == k] for k in ("helps", "cannot tell", "no help")}
    head = (
        f"Your reading {'agrees' if agree else 'does NOT agree'} with the library's. "
        f"Against the newest recogniser, **{newest}**, the cloak: **{answers[newest]}**. "
    )
    parts = [
        f"{what}: {listing(names)}"
        for what, names in (
            ("helps beyond the recogniser's own mistakes", by["helps"]),
            ("too few test photos to tell", by["cannot tell"]),
            ("no help", by["no help"]),
        )
        if names
    ]
    return head + "Over all recognisers: " + "; ".join(parts) + "."


def closing(
    n_fooled: int,
    n_recognisers: int,
    newest: str,
    newest_outcome: str,
    newest_help: str,
    split_range: float,
    exercises: Sequence[str],
) -> str:
    """Notebook 06's "what we found": the check's result, how stable it is, the exercises."""
    return (
        f"**What we found.** The cloak fooled {n_fooled} of {n_recognisers} recognisers; the "
        f"newest, {newest}, was **{newest_outcome}**, and read against the error it makes "
        f"without a cloak, the cloak's effect on it is: **{newest_help}**. Another split of "
        f"the same photos moves a protection rate by up to {split_range:.0%}, so a single "
        "check is an estimate, and only of the models it ran. "
        + (
            f"Exercises in this notebook: {listing(list(exercises))}."
            if exercises
            else "This notebook ran no exercise."
        )
    )
