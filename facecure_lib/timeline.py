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

import numpy as np
import pandas as pd
import torch

from .models.base import Extractor
from .progress import tqdm
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


def excess_interval(
    per_user: Sequence[float],
    clean_error: float | Sequence[float],
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Bootstrap interval (percentile, over attacking users) of the excess protection: the
    mean over users of protection rate minus clean error. `clean_error` is one number, or
    one per user (paired: each user's own clean error)."""
    from scipy.stats import bootstrap

    x = np.asarray(per_user, dtype=float)
    if np.ndim(clean_error) == 0:
        x, clean_error = x, float(clean_error)
    else:
        x, clean_error = x - np.asarray(clean_error, dtype=float), 0.0
    if len(x) < 2 or np.all(x == x[0]):
        m = float(x.mean()) - clean_error if len(x) else float("nan")
        return m, m
    res = bootstrap(
        (x,),
        np.mean,
        confidence_level=level,
        n_resamples=2000,
        random_state=np.random.default_rng(seed),
        method="percentile",
    )
    ci = res.confidence_interval
    return float(ci.low) - clean_error, float(ci.high) - clean_error


def timeline_records(
    results: Mapping[str, Mapping[str, ProtectionResult]],
    infos: Mapping[str, object],
    seen_by: Mapping[str, Sequence[str]] | None = None,
) -> list[dict]:
    """The results-file form, one record per model: its era and year, which attacks used it as
    a surrogate (`seen_by`), clean error, and per attack the protection rate, the excess
    protection (protection minus clean error) with a bootstrap interval over users, and the
    per-user rates."""
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
                "trained_on": getattr(info, "trained_on", ""),
                "seen_by": sorted((seen_by or {}).get(m, [])),
                "clean_accuracy": any_r.clean_accuracy,
                "clean_error": any_r.clean_error,
                "protection_rate": {a: r.mean for a, r in per_attack.items()},
                "excess_protection": {
                    a: excess_protection(r.mean, r.clean_error) for a, r in per_attack.items()
                },
                "excess_interval": {
                    a: list(excess_interval(list(r.per_user.values()), _clean_of(r)))
                    for a, r in per_attack.items()
                },
                "protection_rate_per_user": {
                    a: list(r.per_user.values()) for a, r in per_attack.items()
                },
            }
        )
    return out


def _clean_of(r: ProtectionResult) -> float | list[float]:
    """Each user's own clean error when measured, else the model's."""
    if r.clean_per_user and list(r.clean_per_user) == list(r.per_user):
        return list(r.clean_per_user.values())
    return r.clean_error


def seen_by(surrogates: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """{model: the attacks that crafted their cloaks against it}."""
    out: dict[str, list[str]] = {}
    for attack, names in surrogates.items():
        for n in names:
            out.setdefault(n, []).append(attack)
    return out


def contemporary_transfer(
    records: Sequence[Mapping], contemporaries: Mapping[str, Sequence[str]]
) -> dict[str, dict]:
    """Per attack, the contemporary it transfers to best among the models of its surrogates'
    era that it never saw: {attack: {"model", "excess_protection", "interval"}}."""
    by_model = {r["model"]: r for r in records}
    out = {}
    for attack, names in contemporaries.items():
        unseen = [n for n in names if n in by_model and attack not in by_model[n]["seen_by"]]
        if not unseen:
            continue
        best = max(unseen, key=lambda n: by_model[n]["excess_protection"][attack])
        out[attack] = {
            "model": best,
            "excess_protection": by_model[best]["excess_protection"][attack],
            "interval": by_model[best]["excess_interval"][attack],
        }
    return out


def newest_block(records: Sequence[Mapping], newest: str) -> dict:
    """The newest model of the timeline: {"model", "excess_protection": {attack: x},
    "interval": {attack: [lo, hi]}, "clean_error"}."""
    r = next(r for r in records if r["model"] == newest)
    return {
        "model": newest,
        "excess_protection": dict(r["excess_protection"]),
        "interval": dict(r["excess_interval"]),
        "clean_error": r["clean_error"],
    }


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
