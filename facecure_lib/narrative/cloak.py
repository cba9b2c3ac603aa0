"""Notebook 00: what one cloak did to one picture, on the model it was made against and on a
model it never saw, and the notebook's closing note."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..lesson import ShiftReport
from . import listing, pct

OUTCOMES = ("fooled", "recognised")  # what the unseen model does with the cloaked picture


def _times(a: float, b: float) -> str:
    if not math.isfinite(b) or b <= 0:
        return "(no other picture of this person to compare with)"
    return f"{a / b:.1f} times the typical distance between two pictures of this person ({b:.2f})"


def feature_shift(r: ShiftReport, role: str, identities: Sequence[str]) -> str:
    """How far the cloak moved the picture on one model, and whom 1-NN names for it."""
    beyond = (
        "further than the nearest other person"
        if r.shift > r.other_person
        else "not as far as the nearest other person"
    )
    text = (
        f"On **{r.model}** ({role}) the cloak moved the picture's embedding by {r.shift:.2f}: "
        f"{_times(r.shift, r.same_person)}, {beyond} ({r.other_person:.2f}). "
    )
    you = identities[r.true_label]
    if not r.clean_recognised:
        return text + (
            f"This model does not name even the clean picture correctly ("
            f"{identities[r.clean_label]} instead of {you}), so its answer on the cloaked one "
            "says nothing about the cloak."
        )
    if r.fooled:
        return text + (
            f"The 1-NN rule now names **{identities[r.cloaked_label]}** instead of **{you}**: "
            "to this model the cloaked picture is someone else."
        )
    return text + f"The 1-NN rule still names **{you}**: to this model it is still you."


def outcome(unseen: ShiftReport) -> str:
    """The answer to the prediction: what the model the cloak never saw does with it."""
    return OUTCOMES[0] if unseen.fooled else OUTCOMES[1]


def transfer(white: ShiftReport, unseen: ShiftReport) -> str:
    """The answer of the "predict, then run" box: did the cloak carry over to a model it
    never saw, and what that means for the paper's argument."""
    ratio = unseen.shift / white.shift if white.shift > 0 else float("nan")
    moved = (
        f"On {unseen.model} the picture moved {unseen.shift:.2f}, {ratio:.0%} of the "
        f"{white.shift:.2f} it moved on {white.model}."
        if math.isfinite(ratio)
        else f"The cloak did not move the picture on {white.model} at all."
    )
    if not (white.clean_recognised and unseen.clean_recognised):
        return (
            f"{moved} One of the two models does not recognise even the clean picture, so this "
            "picture cannot tell whether the cloak carries over; pick another one."
        )
    if not white.fooled:
        return (
            f"{moved} The cloak did not even fool {white.model}, the model it was made "
            "against: with this budget and these steps it is too weak, and what the other "
            "model does says nothing about transfer. Try more steps or a larger budget."
        )
    if unseen.fooled:
        return (
            f"{moved} The cloak fooled **both** models: on this picture it carried over to a "
            f"model it never saw. One picture is one draw: whether that holds on average, "
            "over many users, and for models trained *after* the cloak was made is what "
            "notebooks 01 and 04 measure. The user must win against every model a trainer "
            "may ever run; the trainer needs only one that sees through the cloak."
        )
    return (
        f"{moved} The cloak fooled {white.model}, the model it was made against, but "
        f"**{unseen.model}**, which it never saw, still names you. A cloak is fitted to the "
        "models its tool knows; a trainer is free to run another one, now or years later, "
        "on every picture it ever scraped. That asymmetry is the paper's argument "
        "(notebooks 01 and 04 measure it over many users)."
    )


def closing(
    accuracy: Mapping[str, float],
    white: ShiftReport,
    unseen: ShiftReport,
    exercises: Sequence[str],
) -> str:
    """Notebook 00's "what we found": the extractors, the first cloak, the exercises."""
    best = max(accuracy, key=accuracy.__getitem__)
    worst = min(accuracy, key=accuracy.__getitem__)
    carried = ("carried over to" if unseen.fooled else "did not carry over to") + f" {unseen.model}"
    cloak = (
        f"fooled {white.model} (the model it was made against) and {carried}"
        if white.fooled
        else f"did not fool {white.model}, the model it was made against"
    )
    return (
        f"**What we found.** Of {len(accuracy)} extractors, **{best}** recognises the unseen "
        f"identities best (1-NN accuracy {pct(accuracy[best])}) and {worst} worst "
        f"({pct(accuracy[worst])}): every later protection rate must be read against the "
        f"error a model makes anyway. A cloak of a few signed-gradient steps {cloak}. "
        + (
            f"Exercises in this notebook: {listing(list(exercises))}."
            if exercises
            else "This notebook ran no exercise."
        )
    )
