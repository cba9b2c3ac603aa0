"""Notebook 01: what the static and the dynamic game showed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..game import RoundResult
from ..static_game import StaticResult


def static_game(
    white_box: StaticResult,
    contemporary: StaticResult | None,
    budget: Mapping,
    accepted: int,
    checked: int,
) -> str:
    """The static game's outcome: the oracle's verdict, then who wins against the attack's
    own surrogate (white-box) and against the trainer's model of the same era."""
    o = white_box.oracle
    verdict = "all within budget" if o.passed else f"{o.n_violations} over budget"
    text = (
        f"**Static game.** The oracle checked {o.n_pictures} cloaked pictures against the "
        f"budget {dict(budget)} (largest DSSIM {o.max_dssim:.4f}, largest L∞ "
        f"{o.max_linf * 255:.1f}/255): {verdict} (your `within_budget` accepts {accepted} of "
        f"{checked}). "
    )
    for res, what in ((white_box, "its own surrogate"), (contemporary, "the trainer's model")):
        if res is None:
            continue
        text += (
            f"Against {what} `{res.model}` the protection rate is "
            f"**{res.protection_rate:.2f}** (the same users unprotected: error "
            f"{res.clean_error:.2f}; excess protection {res.excess_protection:+.2f}): the "
            f"**{res.winner}** wins. "
        )
    if contemporary is not None:
        text += (
            "The trainer's model was trained on other people than the attack's surrogate and "
            "the attack never saw it: "
            + (
                "the cloak transfers to a model of its own era, as the tools promise."
                if contemporary.winner == "user"
                else "the cloak does not even carry over to a model of its own era here."
            )
        )
    return text


def trainer_wins_from(rounds: Sequence[RoundResult], first_round: int | None) -> bool:
    """True when the trainer wins every round from `first_round` on (False if there is none)."""
    after = [r for r in rounds if first_round is not None and r.round >= first_round]
    return bool(after) and all(r.winner == "trainer" for r in after)


def dynamic_game(
    rounds: Sequence[RoundResult],
    static_rounds: Sequence[RoundResult],
    new_round: int | None,
    static: StaticResult | None = None,
) -> str:
    """The dynamic game against the retroactive trainer, with the never-updating trainer as
    the comparison; `static` (the static game on round 1's model) explains round 1."""
    r1 = rounds[0]
    after = [r for r in rounds if new_round is not None and r.round >= new_round]
    text = (
        f"**Dynamic game.** Round 1: the user's `{r1.user_attack}` against "
        f"`{r1.trainer_model}` gives protection {r1.protection_rate:.2f} (excess "
        f"{r1.excess_protection:+.2f}) — the **{r1.winner}** wins. "
    )
    if static is not None and static.model == r1.trainer_model:
        text += (
            f"(The static game on the same model gave {static.protection_rate:.2f}: in round 1 "
            "the gallery holds only the first slice of everybody's pictures, so each user has "
            "fewer cloaked pictures to hide behind and fewer other people to be confused "
            "with.) "
        )
    if new_round:
        text += (
            f"From round {new_round} on, a newer extractor is available and the "
            "retroactive trainer re-embeds everything: protection "
            + ", ".join(
                f"{r.protection_rate:.2f} (round {r.round}, `{r.trainer_model}`)" for r in after
            )
            + ". "
        )
    else:
        text += "The timeline never offers a newer model. "
    if trainer_wins_from(rounds, new_round):
        switched = any(r.user_attack != r1.user_attack for r in after)
        text += (
            "**The retroactive trainer wins every round after the newer model appears**"
            + (", even after the user switches to newer attacks" if switched else "")
            + ": the pictures posted in the early rounds stay in the gallery, protected "
            "against a model nobody uses any more."
        )
    else:
        lost = [r.round for r in after if r.winner == "user"]
        text += (
            "**The retroactive trainer does NOT win every round after the newer model "
            f"appears in this run** (the user wins round(s) {lost}): the finding of the "
            "paper does not reproduce here."
        )
    static_wins = [r.round for r in static_rounds if r.winner == "user"]
    return text + (
        f" For comparison, a trainer that never updates its model loses "
        f"{len(static_wins)} of {len(static_rounds)} rounds (rounds {static_wins})."
    )


def newer_or_another(newest: RoundResult, control: RoundResult | None) -> tuple[str, bool]:
    """Is the retroactive trainer's win due to a *newer* model, or would any other model of
    the first era have done? `control` is the same game with the trainer switching to a
    same-era model (the seed control) instead of newer ones (None: the profile has none)."""
    if control is None:
        return (
            "**Newer, or just another model?** This profile has no seed control (no second "
            "training run of a pretrained model exists), so this run cannot tell a newer "
            "model from any other model.",
            False,
        )
    newer_wins = newest.winner == "trainer"
    control_holds = control.winner == "user"
    holds = newer_wins and control_holds
    text = (
        f"**Newer, or just another model?** In the last round the retroactive trainer's "
        f"newest model `{newest.trainer_model}` leaves the user a protection rate of "
        f"{newest.protection_rate:.2f} (excess {newest.excess_protection:+.2f}). A trainer who "
        f"instead re-embeds everything with another model of the first era, "
        f"`{control.trainer_model}` (the same recipe, trained with another seed), leaves "
        f"{control.protection_rate:.2f} (excess {control.excess_protection:+.2f}). "
    )
    if holds:
        text += (
            "The cloak survives a same-era model but not the newer one: the trainer wins "
            "because it waited for a *newer* model, not because it changed models."
        )
    elif newer_wins:
        text += (
            "The same-era model already removes the protection: here the win does not "
            "need a newer model, any other model would do — the paper's point about time "
            "is not what this run shows."
        )
    else:
        text += "The newest model does not win either: time did not beat the cloak here."
    return text, holds
