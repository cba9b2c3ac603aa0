"""The static game of the paper (§2.2, Fig. 8a): the user perturbs its pictures once, against
the model it targets; the trainer builds its recogniser on them; the recogniser is evaluated
on the user's *unperturbed* probe pictures; an oracle checks that the perturbation respects
its budget. The dynamic game (Fig. 8b) is in `game`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .models.base import Extractor
from .oracle import OracleReport, attack_budget, oracle_check
from .recognition import Protocol, evaluate_protection

WIN_THRESHOLD = 0.5


def winner(protection_rate: float, threshold: float = WIN_THRESHOLD) -> str:
    """ "user" when the mean protection rate reaches `threshold`, else "trainer"."""
    return "user" if protection_rate >= threshold else "trainer"


@dataclass
class StaticResult:
    """Outcome of the static game."""

    attack: str
    model: str
    protection_rate: float
    winner: str
    clean_accuracy: float
    per_user: dict[int, float]
    oracle: OracleReport
    clean_error: float = float("nan")  # the same users' error when they post clean pictures

    @property
    def excess_protection(self) -> float:
        return self.protection_rate - self.clean_error

    def to_dict(self) -> dict:
        return {
            "attack": self.attack,
            "model": self.model,
            "protection_rate": self.protection_rate,
            "clean_error": self.clean_error,
            "excess_protection": self.excess_protection,
            "winner": self.winner,
            "clean_accuracy": self.clean_accuracy,
            "protection_rate_per_user": list(self.per_user.values()),
            "oracle": self.oracle.to_dict(),
        }


def play_static(
    model: Extractor,
    protocol: Protocol,
    cloaks: Mapping[int, torch.Tensor],
    attack: str,
    budget: Mapping[str, float | None] | None = None,
    threshold: float = WIN_THRESHOLD,
    device: torch.device | None = None,
) -> StaticResult:
    """Fig. 8a: perturb once (`cloaks`), the trainer uses `model`, clean probes decide.

    The oracle checks `cloaks` against `budget` (default: `attack_budget(attack)`); pictures
    that break it make the user forfeit (protection counted as 0 for that user).
    """
    budget = dict(budget) if budget is not None else attack_budget(attack)
    clean = torch.cat([protocol.user_train_images(u) for u in cloaks]) if cloaks else torch.empty(0)
    cloaked = torch.cat([cloaks[u] for u in cloaks]) if cloaks else torch.empty(0)
    oracle = oracle_check(clean, cloaked, budget.get("max_dssim"), budget.get("max_linf"))
    res = evaluate_protection(model, protocol, cloaks, device=device)
    per_user = dict(res.per_user)
    if not oracle.passed:  # forfeit the users whose pictures break the budget
        for u in cloaks:
            if not oracle_check(
                protocol.user_train_images(u),
                cloaks[u],
                budget.get("max_dssim"),
                budget.get("max_linf"),
            ).passed:
                per_user[u] = 0.0
    rate = float(np.mean(list(per_user.values()))) if per_user else float("nan")
    return StaticResult(
        attack,
        model.name,
        rate,
        winner(rate, threshold),
        res.clean_accuracy,
        per_user,
        oracle,
        res.clean_error,
    )


def static_table(results: Sequence[StaticResult]) -> pd.DataFrame:
    """One row per static game: model, protection rate, the same users' clean error, excess
    protection and the winner."""
    return pd.DataFrame(
        [
            {
                "model": r.model,
                "attack": r.attack,
                "protection_rate": r.protection_rate,
                "clean_error": r.clean_error,
                "excess_protection": r.excess_protection,
                "winner": r.winner,
            }
            for r in results
        ]
    ).set_index("model")
