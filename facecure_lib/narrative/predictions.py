"""The answers of notebooks 01-05's "predict, then run" boxes: for each, the outcome (one of
the options the box offered) and a sentence written from the numbers that decided it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

WINNERS = ("user", "trainer")
FOOLED = ("fooled", "partly", "not fooled")
EASIER = ("fawkes_low", "lowkey", "about the same")
WHERE = ("contemporary", "newest", "about the same")
YES_NO = ("yes", "no")


def last_round(rounds: Sequence) -> tuple[str, str]:
    """Notebook 01: who wins the last round against the retroactive trainer."""
    last = rounds[-1]
    return last.winner, (
        f"In round {last.round} the retroactive trainer re-embeds every scraped picture with "
        f"`{last.trainer_model}`; the user's protection rate is {last.protection_rate:.2f} "
        f"(excess {last.excess_protection:+.2f}), so the **{last.winner}** wins. The user's "
        "early pictures were cloaked against models of their day and cannot be re-cloaked."
    )


def robust_fooled(protection: float, clean_error: float, attack: str) -> tuple[str, str]:
    """Notebook 02: is the robust model still fooled by an attack's cloaks? 'fooled' when the
    excess protection is at least 0.5, 'not fooled' when at most 0.1, else 'partly'."""
    excess = protection - clean_error
    label = "fooled" if excess >= 0.5 else "not fooled" if excess <= 0.1 else "partly"
    return label, (
        f"Against the robust model, `{attack}` protects {protection:.2f} of the probes, and "
        f"the model misses {clean_error:.2f} of unprotected ones anyway: excess "
        f"{excess:+.2f}, i.e. **{label}**. The cloaks did not change; the model was trained "
        "on the public attack's output."
    )


def easier_to_detect(auc: Mapping[str, float], margin: float = 0.02) -> tuple[str, str]:
    """Notebook 03: is Fawkes-low or LowKey easier to detect (ROC AUC, within `margin` = about
    the same)?"""
    low, lk = auc["fawkes_low"], auc["lowkey"]
    label = (
        "about the same" if abs(low - lk) <= margin else ("fawkes_low" if low > lk else "lowkey")
    )
    return label, (
        f"AUC on held-out users: Fawkes-low {low:.3f}, LowKey {lk:.3f}: **{label}**. "
        "Fawkes-low has the smallest budget (DSSIM ≤ 0.004); LowKey's perturbation is "
        "larger and smoother."
    )


def contemporary_or_newest(
    contemporary: float, newest: float, attack: str, newest_model: str, margin: float = 0.05
) -> tuple[str, str]:
    """Notebook 04: does an attack protect more on its best unseen contemporary or on the
    newest model (excess protection, within `margin` = about the same)?"""
    label = (
        "about the same"
        if abs(contemporary - newest) <= margin
        else ("contemporary" if contemporary > newest else "newest")
    )
    return label, (
        f"`{attack}`: excess protection {contemporary:+.2f} on the best contemporary it never "
        f"saw, {newest:+.2f} on the newest model `{newest_model}`: more on the "
        f"**{label}**."
        if label != "about the same"
        else f"`{attack}`: excess protection {contemporary:+.2f} on the best contemporary it "
        f"never saw, {newest:+.2f} on the newest model `{newest_model}`: **about the same**."
    )


def threshold_costs_accuracy(
    accurate: float, combined: float, tolerance: float = 0.01
) -> tuple[str, str]:
    """Notebook 05: does thresholding cost clean accuracy (more than `tolerance`)?"""
    label = "yes" if combined < accurate - tolerance else "no"
    return label, (
        f"Clean accuracy: accurate model alone {accurate:.3f}, thresholding system "
        f"{combined:.3f}: it costs accuracy? **{label}**. Only probes on which the accurate "
        "model is unsure go to the robust model, and the threshold was set so that few "
        "clean probes are."
    )
