"""Glue that several notebooks share: loading each attack's surrogates, cloaking users.

Which surrogates each attack aims at is part of a profile (`facecure_lib.profiles`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .attacks import cloak
from .models.base import Extractor
from .profiles import ATTACK_KEYS, get_profile
from .progress import tqdm
from .scenario import Scenario
from .zoo import load_extractor


def surrogate_names(attack: str, profile: str) -> list[str]:
    """The zoo extractors an attack is crafted against in a profile (see `profiles`)."""
    if attack not in ATTACK_KEYS:
        raise ValueError(f"Unknown attack {attack!r}; valid: {', '.join(ATTACK_KEYS)}")
    return get_profile(profile).surrogate_names(attack)


def load_surrogates(
    attack: str, scenario: Scenario, device: torch.device | None = None, progress: bool = True
) -> list[Extractor]:
    """Load (train on a cache miss) the surrogates of an attack."""
    return [
        load_extractor(n, scenario, device, progress)
        for n in surrogate_names(attack, scenario.profile)
    ]


TARGET_CANDIDATES = 100  # Fawkes ships a set of candidate target identities with the tool


def target_pool(
    scenario: Scenario, per_identity: int = 4, candidates: int = TARGET_CANDIDATES
) -> dict[int, torch.Tensor]:
    """Candidate target identities for Fawkes v0.3: a few pictures of each of the first
    `candidates` identities of the attacker's pool (the tool's own set of people)."""
    pool = scenario.pool("attacker")
    return {
        i: pool.float_images(pool.indices_of(i)[:per_identity])
        for i in range(min(candidates, pool.n_identities))
    }


def cloak_users(
    attack: str,
    scenario: Scenario,
    surrogates: Sequence[Extractor] | None = None,
    users: Sequence[int] | None = None,
    mode: str | None = None,
    seed: int = 0,
    progress: bool = True,
    **overrides,
) -> dict[int, torch.Tensor]:
    """Cloak every scraped picture of each attacking user: {user: float [n, 3, H, W]}.

    Untargeted attacks cloak all users' pictures in one batch (the attacks treat pictures
    independently); the targeted Fawkes v0.3 picks one target per user, as Fawkes does per
    folder, so it runs once per user. Results are cached by the attack module.
    """
    surrogates = list(surrogates) if surrogates is not None else load_surrogates(attack, scenario)
    users = list(users) if users is not None else list(scenario.protocol.attackers)
    proto = scenario.protocol
    if attack == "fawkes_v03":
        pool = target_pool(scenario)
        out = {}
        for u in tqdm(users, desc=f"cloaking users ({attack})", disable=not progress, leave=False):
            out[u] = cloak(
                attack,
                proto.user_train_images(u),
                surrogates,
                mode=mode,
                seed=seed + u,
                target_pool=pool,
                profile=scenario.profile,
                progress=False,
                **overrides,
            ).images
        return out
    pics = [proto.user_train_images(u) for u in users]
    res = cloak(
        attack,
        torch.cat(pics),
        surrogates,
        mode=mode,
        seed=seed,
        profile=scenario.profile,
        progress=progress,
        **overrides,
    )
    return dict(zip(users, torch.split(res.images, [len(p) for p in pics])))
