"""Notebook 04: what time did to the cloaks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def own_vs_newest(
    on_own: Mapping[str, float], on_newest: Mapping[str, float], newest: str, newest_error: float
) -> tuple[str, bool, bool]:
    """Each attack on its own surrogate (>= 0.70?) and on the newest model (<= 0.25?)."""
    ok_own = all(v >= 0.70 for v in on_own.values())
    ok_new = all(v <= 0.25 for v in on_newest.values())
    text = (
        "Every attack protects its users on its own surrogate (>= 70%): "
        f"**{'yes' if ok_own else 'no'}**. Every attack is down to <= 25% on the newest "
        f"model, {newest}: **{'yes' if ok_new else 'no'}** (clean error of {newest}: "
        f"{newest_error:.2f}). "
        + (
            "As in the paper, the patient trainer wins by waiting."
            if ok_own and ok_new
            else "This run does not reproduce the paper's pattern in full; the table above shows "
            "where."
        )
    )
    return text, ok_own, ok_new


def unprotected(rates: Mapping[str, Sequence[float]]) -> str:
    """Fig. 7 in words: protection with every picture cloaked, one clean, half clean."""
    falls = [a for a, r in rates.items() if r[-1] < r[0]]
    lines = [
        f"- **{a}**: {r[0]:.2f} with every picture cloaked, {r[1]:.2f} with one clean "
        f"picture (a drop of {r[0] - r[1]:.2f}), {r[-1]:.2f} with half of them clean."
        for a, r in rates.items()
    ]
    return (
        "\n".join(lines) + f"\n\nProtection falls as more pictures stay clean for "
        f"{len(falls)} of {len(rates)} attacks: a clean probe's nearest neighbour is often "
        "one of the few clean gallery pictures."
    )


def mixed_versions(model: str, only_v03: float, mixed: float, only_v10: float) -> str:
    """Half v0.3, half v1.0: does switching attacks later win protection back?"""
    return (
        f"On {model}: v1.0 alone gives {only_v10:.2f}, the mix {mixed:.2f}, v0.3 alone "
        f"{only_v03:.2f}. "
        + (
            "The old pictures give the user away: switching attacks later does not win the "
            "protection back."
            if mixed < only_v10 - 0.1
            else "Here the mix keeps most of the v1.0 protection, unlike in the paper."
        )
    )


def tuned_vulnerability(
    tuned: str,
    protection: Mapping[str, float],
    clean_error: float,
    vulnerable: Sequence[str],
    own_attack: str | None,
) -> str:
    """Which attacks the face-tuned model is vulnerable to (interpolation needs one)."""
    return (
        f"Protection on the tuned model {tuned}: "
        + ", ".join(f"{a} {p:.2f}" for a, p in protection.items())
        + f" (clean error {clean_error:.2f}). "
        + (
            f"Vulnerable to: {', '.join(vulnerable)}."
            if vulnerable
            else f"None of the three attacks transfers to it, so we add **{own_attack}**, "
            "aimed at the tuned model."
        )
    )


def interpolation(
    best: Mapping[str, Mapping | None], generic_protection: Mapping[str, float], batchnorm: str
) -> str:
    """App. B.3 in words: is there an alpha nearly as accurate as the tuned model and at
    least 20 points more robust?"""
    shown = [a for a, b in best.items() if b and b["tuned_protection_rate"] > 0]
    lines = [
        f"- **{a}**: the tuned model has accuracy {b['tuned_clean_accuracy']:.2f} and "
        f"protection {b['tuned_protection_rate']:.2f}; alpha = {b['alpha']:g} keeps "
        f"accuracy {b['clean_accuracy']:.2f} (within 3 points) with protection "
        f"{b['protection_rate']:.2f}, {100 * b['protection_drop']:.0f} points lower."
        for a, b in ((a, best[a]) for a in shown)
    ]
    wins = [a for a in shown if best[a]["protection_drop"] >= 0.20]
    lines.append(
        "\n"
        + (
            "An interpolated model is nearly as accurate as the tuned one and at least 20 points "
            f"more robust for: {', '.join(wins)}. BatchNorm statistics: {batchnorm}d."
            if wins
            else "No alpha keeps accuracy within 3 points while cutting protection by 20 points: "
            "the paper's App. B.3 result does not reproduce here."
        )
    )
    lines.append(
        "\nInterpolation can only help against an attack that the generic model "
        "(alpha = 0) resists. Its protection rates here: "
        + ", ".join(f"{a} {p:.2f}" for a, p in generic_protection.items())
        + "."
    )
    return "\n".join(lines)


def synthesis(
    contemporary: Mapping[str, Mapping],
    newest: Mapping,
    transfer_floor: float = 0.30,
    newest_ceiling: float = 0.15,
) -> tuple[str, dict]:
    """Notebook 04's conclusion: for each attack, does a newer model beat a contemporary one
    the attack never saw, and by how much? Returns the text and, per attack, whether the
    paper's pattern holds (excess >= `transfer_floor` on a contemporary and <=
    `newest_ceiling` on the newest model)."""
    holds, lines = {}, []
    for attack, c in contemporary.items():
        new = newest["excess_protection"][attack]
        lo, hi = newest["interval"][attack]
        clo, chi = c["interval"]
        holds[attack] = c["excess_protection"] >= transfer_floor and new <= newest_ceiling
        gap = c["excess_protection"] - new
        lines.append(
            f"- **{attack}**: excess protection {c['excess_protection']:.2f} on the "
            f"contemporary it never saw ({c['model']}, 95% interval over users {clo:.2f} to "
            f"{chi:.2f}), {new:.2f} on the newest model {newest['model']} ({lo:.2f} to "
            f"{hi:.2f}): newer beats contemporary by {gap:.2f}. "
            + (
                "The paper's pattern holds: the cloak protects against the models of its day "
                "and fails on the newer one."
                if holds[attack]
                else "The paper's pattern does **not** hold here: "
                + (
                    "the cloak does not even protect against its contemporary"
                    if c["excess_protection"] < transfer_floor
                    else "the newest model has not left this cloak behind"
                )
                + "."
            )
        )
    n = sum(holds.values())
    head = (
        f"**What time did.** For {n} of {len(holds)} attacks, waiting for a newer model "
        "beat the cloak: "
    )
    head += (
        "the trainer who only waits wins against every attack."
        if n == len(holds)
        else "the rest are listed below with what is missing."
    )
    return head + "\n\n" + "\n".join(lines), holds
