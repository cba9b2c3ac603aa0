"""Notebook 05: the combined systems and the colluders' counter-attack."""

from __future__ import annotations

from collections.abc import Mapping

COMBINED = ("combined_top2", "combined_threshold", "combined_threshold_detector")


def criteria(systems: Mapping[str, Mapping[str, float]]) -> tuple[dict, dict]:
    """Per combined system: accuracy within 1 point of the accurate model's top-1, and
    protection within 5 points of the robust model's top-1."""
    a1, r1 = systems["accurate_top1"], systems["robust_top1"]
    acc_ok = {c: systems[c]["clean_accuracy"] >= a1["clean_accuracy"] - 0.01 for c in COMBINED}
    prot_ok = {c: systems[c]["protection_rate"] <= r1["protection_rate"] + 0.05 for c in COMBINED}
    return acc_ok, prot_ok


def premise(
    systems: Mapping[str, Mapping[str, float]], accurate: str, robust: str
) -> tuple[str, bool]:
    """Does the question of the notebook arise? Only when the accurate model is more
    accurate than the robust one (otherwise the robust model needs no partner)."""
    a1, r1 = systems["accurate_top1"], systems["robust_top1"]
    more = a1["clean_accuracy"] > r1["clean_accuracy"]
    if more:
        return (
            f"The accurate model `{accurate}` is more accurate on clean probes "
            f"({a1['clean_accuracy']:.3f}) than the robust model `{robust}` "
            f"({r1['clean_accuracy']:.3f}), and the robust model protects less "
            f"(protection {r1['protection_rate']:.2f} vs {a1['protection_rate']:.2f}): the "
            "trainer has a reason to combine them.",
            True,
        )
    return (
        f"Here the robust model `{robust}` is at least as accurate on clean probes "
        f"({r1['clean_accuracy']:.3f}) as the accurate model `{accurate}` "
        f"({a1['clean_accuracy']:.3f}): robust training cost no accuracy, so the robust "
        "model needs no partner and the question of this notebook does not arise in this "
        "run. The combined systems below are shown for completeness.",
        False,
    )


def what_we_measured(
    out: Mapping,
    collusion_threshold: float,
    collusion_detector: float,
    no_collusion_threshold: float,
) -> str:
    """A table of the six systems against the two criteria, then thresholding and collusion."""
    s = out["systems"]
    acc_ok, prot_ok = criteria(s)

    def ok(flag: bool) -> str:
        return "yes" if flag else "**no**"

    lines = [
        "| system | clean accuracy | protection rate | accuracy ≥ accurate top-1 − 1 pt | "
        "protection ≤ robust top-1 + 5 pts |",
        "|---|---|---|---|---|",
    ]
    for name, v in s.items():
        checks = f"{ok(acc_ok[name])} | {ok(prot_ok[name])} |" if name in COMBINED else "| |"
        lines.append(
            f"| {name} | {v['clean_accuracy']:.3f} | {v['protection_rate']:.3f} | " + checks
        )
    lines += [
        "",
        f"* Threshold {out['threshold']:.4f}, set on the calibration users' clean probes: "
        f"{out['rerouted_fraction']:.3f} of the other users' clean probes rerouted "
        f"({out['rerouted_fraction_with_detector']:.3f} with the detector).",
        "* Collusion (targeted Fawkes v0.3 onto the protected user): protection against "
        f"plain thresholding {collusion_threshold:.2f} (without collusion "
        f"{no_collusion_threshold:.2f}); with the detector guard {collusion_detector:.2f}. "
        + (
            "The counter-attack beats plain thresholding and the detector wins it back: the "
            "trainer's move ends this round."
            if collusion_threshold > collusion_detector + 0.1
            else "In this run the counter-attack and the detector do **not** separate as in the "
            "paper: the detector guard does not win the round back here."
        ),
    ]
    return "\n".join(lines)
