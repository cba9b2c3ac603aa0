"""Notebook 02: the baseline, the robust trainer's data, and what robust training achieved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import holds


def baseline_choice(base: str, n_aim: int, n_attacks: int, accuracy: float) -> str:
    """Why this model is the baseline."""
    return (
        f"We use **{base}** as the baseline and as the trainer's starting point: {n_aim} of "
        f"the {n_attacks} attacks aim at it, and its clean 1-NN accuracy is {accuracy:.3f}. "
        "A model that every attack aims at would be the fairest baseline; none exists here, "
        "and the model that the most attacks aim at keeps the comparison closest to the "
        "paper's Fig. 2 (an era-1 baseline would add its own high clean error to every "
        "protection rate)."
    )


def training_set(
    n_clean: int,
    n_public: int,
    n_ids: int,
    per_identity: int,
    n_attacks: int,
    repeat: int,
    steps: int,
    attackers_in_public: int,
) -> str:
    """What the robust trainer trains on."""
    return (
        f"Training set: {n_clean} clean pictures of {n_public} public identities + "
        f"{n_attacks * n_ids * per_identity} cloaked ones ({n_ids} identities × "
        f"{per_identity} pictures per attack, each seen {repeat}× as often as a clean "
        f"one); {steps} fine-tuning steps. Attacking users among the public identities: "
        f"{attackers_in_public}."
    )


def what_we_measured(
    base: str,
    attacks: Sequence[str],
    baseline: Mapping[str, float],
    baseline_error: float,
    robust: Mapping[str, float],
    robust_error: float,
    mode_means: Mapping[str, tuple[float, float]],
) -> tuple[str, bool, bool]:
    """The notebook's closing bullets; also whether the two findings hold (baseline: two
    attacks >= 50% at clean error <= 20%; robust: every attack <= clean error + 10 points).

    `mode_means[mode]` = (robust mean protection, baseline mean protection).
    """
    strong = [a for a in attacks if baseline[a] >= 0.5]
    base_ok = len(strong) >= 2 and baseline_error <= 0.2
    broken = [a for a in attacks if robust[a] <= robust_error + 0.10]
    rob_ok = len(broken) == len(attacks)
    lines = [
        f"* Baseline ({base}, 1-NN): protection "
        + ", ".join(f"{a} {baseline[a]:.2f}" for a in attacks)
        + f"; clean error {baseline_error:.2f}. 'At least two attacks protect ≥ 50% at a clean "
        f"error ≤ 20%' {holds(base_ok)} ({len(strong)} attack(s) ≥ 50%).",
        "* Robust extractor (1-NN): protection "
        + ", ".join(f"{a} {robust[a]:.2f}" for a in attacks)
        + f"; clean error {robust_error:.2f}. 'Every attack ≤ clean error + 10 points' "
        f"{holds(rob_ok)}"
        + (
            ""
            if rob_ok
            else " (still above: " + ", ".join(a for a in attacks if a not in broken) + ")"
        )
        + ".",
        "* Across recognition modes, the robust extractor's mean protection is "
        + ", ".join(f"{m} {r:.2f} (baseline {b:.2f})" for m, (r, b) in mode_means.items())
        + ".",
    ]
    if not rob_ok:
        lines.append(
            "* The quick trainer cloaks only a small public subset and fine-tunes for a "
            "few hundred steps; the paper's robust model saw thousands of cloaked "
            "pictures. More of both (IDENTITIES_PER_ATTACK, ROBUST_STEPS) is the first "
            "thing to try."
        )
    return "\n".join(lines), base_ok, rob_ok
