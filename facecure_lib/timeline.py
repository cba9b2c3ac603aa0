"""The oblivious trainer (paper §3.4, Figs. 3-5, 7, App. B.3, Table 4): time is all you need.

The trainer never sees the attack. It only adopts the models that appear after the users
cloaked their pictures. This module measures, for cloaks made once and for all:

* the protection of each attack on every extractor of a timeline, next to a *seed control*
  (the oldest recipe trained again with another seed), and protection minus clean error, so
  that "a newer technique" can be told apart from "any other model" (`attribute_drop`);
* mixed versions: part of a user's pictures cloaked with one attack, the rest with another
  (`mix_cloaks`);
* unprotected pictures: some of the user's scraped pictures left clean (`leave_unprotected`,
  `unprotected_curve`);

Weight interpolation (App. B.3) lives in `interpolation`, ImageNet transfer over time
(Table 4) in `imagenet`, the figures in `plots`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .models.base import Extractor
from .recognition import ProtectionResult, Protocol, evaluate_protection

UNPROTECTED_LEVELS: tuple[float | str, ...] = (0.0, "1 picture", 0.1, 0.25, 0.5)


def n_clean(n_pictures: int, level: float | str) -> int:
    """How many of `n_pictures` stay clean at a level: a fraction, or "1 picture".

    A positive fraction leaves at least one picture clean (rounded half up).
    """
    if isinstance(level, str):
        if level.strip() != "1 picture":
            raise ValueError(f"Unknown level {level!r}: use a fraction in [0, 1] or '1 picture'")
        return min(1, n_pictures)
    if not 0 <= level <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {level}")
    if level == 0:
        return 0
    return min(n_pictures, max(1, math.floor(level * n_pictures + 0.5)))


# --------------------------------------------------------------------------------------------
# Cloak bookkeeping: unprotected pictures, mixed versions
# --------------------------------------------------------------------------------------------


def leave_unprotected(
    cloaked: torch.Tensor, clean: torch.Tensor, k: int, order: torch.Tensor | None = None
) -> torch.Tensor:
    """Replace `k` cloaked pictures by their clean originals.

    `order` (a permutation of the rows) says which pictures are left clean first: the first
    `k` of it. Without it, the first `k` rows. The inputs are not modified.
    """
    if cloaked.shape != clean.shape:
        raise ValueError(f"cloaked {tuple(cloaked.shape)} and clean {tuple(clean.shape)} differ")
    n = cloaked.shape[0]
    if not 0 <= k <= n:
        raise ValueError(f"k must be in [0, {n}], got {k}")
    order = torch.arange(n) if order is None else torch.as_tensor(order)
    out = cloaked.clone()
    rows = order[:k]
    out[rows] = clean[rows].to(out.dtype)
    return out


def mix_cloaks(
    first: Mapping[int, torch.Tensor], second: Mapping[int, torch.Tensor], share_second: float = 0.5
) -> dict[int, torch.Tensor]:
    """Per user: the first pictures from `first`, the last `share_second` of them from `second`.

    Models a user who cloaked older pictures with one attack version and newer ones with
    another (paper: half Fawkes v0.3, half v1.0).
    """
    if set(first) != set(second):
        raise ValueError("both cloak sets must cover the same users")
    out = {}
    for u, a in first.items():
        b = second[u]
        if a.shape != b.shape:
            raise ValueError(f"user {u}: cloak shapes differ {tuple(a.shape)} vs {tuple(b.shape)}")
        k = n_clean(a.shape[0], share_second) if share_second > 0 else 0
        out[u] = torch.cat([a[: a.shape[0] - k], b[a.shape[0] - k :]])
    return out


def user_orders(protocol: Protocol, seed: int = 0) -> dict[int, torch.Tensor]:
    """A seeded random order of each attacker's scraped pictures (which ones stay clean first)."""
    g = torch.Generator().manual_seed(seed)
    return {
        u: torch.randperm(len(protocol.user_train_idx(u)), generator=g) for u in protocol.attackers
    }


# --------------------------------------------------------------------------------------------
# Evaluations
# --------------------------------------------------------------------------------------------


def evaluate_timeline(
    models: Mapping[str, Extractor],
    protocol: Protocol,
    cloaks: Mapping[str, Mapping[int, torch.Tensor]],
    mode: str = "nn",
    device: torch.device | None = None,
    progress: bool = True,
) -> dict[str, dict[str, ProtectionResult]]:
    """{model: {attack: ProtectionResult}} for every model and every attack's cloaks."""
    out: dict[str, dict[str, ProtectionResult]] = {}
    for name, model in tqdm(models.items(), desc="timeline", disable=not progress, leave=False):
        out[name] = {
            a: evaluate_protection(model, protocol, c, mode=mode, device=device)
            for a, c in cloaks.items()
        }
    return out


def excess_protection(protection: float, clean_error: float) -> float:
    """Protection rate above what the model gets wrong anyway for an unprotected user."""
    return float(protection) - float(clean_error)


def timeline_table(
    results: Mapping[str, Mapping[str, ProtectionResult]],
    infos: Mapping[str, object] | None = None,
    surrogates: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Long table: one row per (model, attack) with protection, clean error and their difference."""
    rows = []
    for m, per_attack in results.items():
        info = (infos or {}).get(m)
        for a, r in per_attack.items():
            rows.append(
                {
                    "model": m,
                    "era": getattr(info, "era", None),
                    "year": getattr(info, "year", None),
                    "attack": a,
                    "protection_rate": r.mean,
                    "clean_accuracy": r.clean_accuracy,
                    "clean_error": r.clean_error,
                    "excess_protection": excess_protection(r.mean, r.clean_error),
                    "surrogate": m in (surrogates or {}).get(a, ()),
                }
            )
    return pd.DataFrame(rows)


def timeline_records(
    results: Mapping[str, Mapping[str, ProtectionResult]], infos: Mapping[str, object]
) -> list[dict]:
    """The results-file form: [{model, era, year, clean_accuracy, protection_rate: {attack: mean},
    excess_protection: {attack: ...}, protection_rate_per_user: {attack: [...]}}]."""
    out = []
    for m, per_attack in results.items():
        any_r = next(iter(per_attack.values()))
        info = infos[m]
        out.append(
            {
                "model": m,
                "era": getattr(info, "era", None),
                "year": getattr(info, "year", None),
                "stands_for": getattr(info, "stands_for", ""),
                "clean_accuracy": any_r.clean_accuracy,
                "clean_error": any_r.clean_error,
                "protection_rate": {a: r.mean for a, r in per_attack.items()},
                "excess_protection": {
                    a: excess_protection(r.mean, r.clean_error) for a, r in per_attack.items()
                },
                "protection_rate_per_user": {
                    a: list(r.per_user.values()) for a, r in per_attack.items()
                },
            }
        )
    return out


@dataclass(frozen=True)
class Attribution:
    """Why protection fell for one attack: a newer technique, or merely another model.

    All three numbers are protection minus clean error: on the attack's own (white-box)
    surrogates, on the *other old* models (same era or older, not surrogates; the seed control
    is one of them), and averaged over the later, non-surrogate models of the timeline.
    """

    attack: str
    own: float
    other_old: float
    newer: float
    verdict: str  # "newer technique", "any other model", "both", "no drop"

    def sentence(self) -> str:
        o, c, n = self.own, self.other_old, self.newer
        return {
            "no drop": f"{self.attack}: later models do not remove the protection (excess {o:.2f} "
            f"on its surrogates, {n:.2f} on later models; {c:.2f} on other old models): time "
            "alone does not beat this attack here.",
            "any other model": f"{self.attack}: other old models (the seed control among them) "
            f"already remove the protection (excess {o:.2f} -> {c:.2f}) and later models do no "
            f"better ({n:.2f}): the data supports 'any other model', not 'a newer technique'.",
            "newer technique": f"{self.attack}: other old models keep the protection (excess "
            f"{c:.2f}) but later models remove it ({n:.2f}): the data supports 'a newer "
            "technique'.",
            "both": f"{self.attack}: other old models remove part of the protection (excess "
            f"{o:.2f} -> {c:.2f}) and later models remove more ({n:.2f}): both effects are "
            "at work.",
        }[self.verdict]


def attribute_drop(
    attack: str, own: float, other_old: float, newer: float, margin: float = 0.1
) -> Attribution:
    """Tell apart the drop in excess protection caused by another model of the same era (e.g.
    another seed) and the one caused by time. `margin` is the difference treated as real."""
    if own - newer <= margin:
        verdict = "no drop"
    elif other_old <= newer + margin:
        verdict = "any other model"
    elif own - other_old <= margin:
        verdict = "newer technique"
    else:
        verdict = "both"
    return Attribution(attack, float(own), float(other_old), float(newer), verdict)


def attribution_inputs(
    records: Sequence[Mapping],
    seed_control: Mapping | None,
    attack: str,
    surrogates: Sequence[str],
    key: str = "excess_protection",
) -> tuple[float, float, float]:
    """(own, other_old, newer) for `attribute_drop` from timeline records (oldest first):
    best over the attack's surrogates; mean over non-surrogate models up to the newest
    surrogate's position plus the seed control; mean over the models after it."""
    names = [r["model"] for r in records]
    pos = [names.index(s) for s in surrogates if s in names]
    if not pos:
        raise ValueError(f"none of {list(surrogates)} is on the timeline")
    own = max(records[i][key][attack] for i in pos)
    old = [r[key][attack] for r in records[: max(pos) + 1] if r["model"] not in surrogates]
    if seed_control is not None:
        old.append(seed_control[key][attack])
    newer = [r[key][attack] for r in records[max(pos) + 1 :]]
    mean = lambda v: float(np.mean(v)) if v else float("nan")  # noqa: E731
    return own, mean(old), mean(newer)


def unprotected_curve(
    model: Extractor,
    protocol: Protocol,
    cloaks: Mapping[int, torch.Tensor],
    levels: Sequence[float | str] = UNPROTECTED_LEVELS,
    seed: int = 0,
    device: torch.device | None = None,
) -> list[dict]:
    """Protection when a share of each user's scraped pictures is left clean (Fig. 7).

    The clean pictures are chosen by a seeded order per user, nested across levels (a picture
    left clean at 10% stays clean at 25%).
    """
    orders = user_orders(protocol, seed)
    out = []
    for level in levels:
        mixed, ks = {}, []
        for u, cl in cloaks.items():
            k = n_clean(cl.shape[0], level)
            ks.append(k / cl.shape[0])
            mixed[u] = leave_unprotected(cl, protocol.user_train_images(u), k, orders[u])
        r = evaluate_protection(model, protocol, mixed, device=device)
        out.append(
            {
                "level": str(level),
                "fraction": float(np.mean(ks)),
                "protection_rate": r.mean,
                "protection_rate_per_user": list(r.per_user.values()),
                "clean_error": r.clean_error,
            }
        )
    return out
