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
        f"* Threshold {out['threshold']:.4f}: {out['rerouted_fraction']:.3f} of clean "
        f"probes rerouted ({out['rerouted_fraction_with_detector']:.3f} with the detector).",
        "* Collusion (targeted Fawkes v0.3 onto the protected user): protection against "
        f"plain thresholding {collusion_threshold:.2f} (without collusion "
        f"{no_collusion_threshold:.2f}); with the detector guard {collusion_detector:.2f}. "
        + (
            "The counter-attack beats plain thresholding and the detector wins it back."
            if collusion_threshold > collusion_detector + 0.1
            else "In this run the counter-attack and the detector do **not** separate as in the "
            "paper (see the numbers above)."
        ),
    ]
    return "\n".join(lines)
