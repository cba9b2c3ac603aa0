"""The threat-model games of the paper (§2.2, Fig. 8): static poisoning vs the dynamic game.

*Static game* (Fig. 8a): in `static_game` (perturb once, one model, clean probes decide).

*Dynamic game* (Fig. 8b): rounds 1, 2, ...; in each round every enrolled identity posts a new
slice of its pictures (the attacking user's slice is perturbed with that round's attack),
the trainer scrapes them, and it may embed *any* picture scraped so far with *any* model
available in that round. Players are plain strategy objects:

* `UserStrategy`: which attack (or none) protects the pictures posted in each round.
* `TrainerStrategy`: which model embeds the pictures posted in each earlier round, e.g.
  "static" (round-1 model forever), "newest_on_new_data" (the newest model, but only for
  pictures scraped in this round) or "retroactive" (the newest model for everything).

Recognition is the paper's protocol (`recognition`): 1-nearest-neighbour over the gallery,
protection rate = error on the attacking user's clean probes, one attacker at a time. When
pictures are embedded by different models, each gallery picture is compared with the probe
*in the space of the model that embedded it*, distances in units of that model's typical
nearest-neighbour distance, and the closest picture overall wins.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from .models.base import Extractor
from .recognition import Protocol, embed, nearest_neighbors, user_rows
from .static_game import WIN_THRESHOLD, winner

TRAINER_STRATEGIES = ("static", "newest_on_new_data", "retroactive")
NO_ATTACK = None

Timeline = Mapping[int, Sequence[str]]
"""Round -> names of the models available in that round, oldest first."""


# ----------------------------------------------------------------------------- rules
def default_timeline(n_rounds: int, models: Sequence[str] | None = None) -> dict[int, list[str]]:
    """Round r offers the first r models of `models` (default: the quick profile's `game_models`).

    After the list runs out the newest model stays the newest.
    """
    if models is None:
        from .profiles import QUICK

        models = QUICK.game_models
    models = list(models)
    if n_rounds < 1 or not models:
        raise ValueError("need at least one round and one model")
    return {r: models[: min(r, len(models))] for r in range(1, n_rounds + 1)}


def profile_timeline(profile: str, n_rounds: int) -> dict[int, list[str]]:
    """`default_timeline` over a profile's `game_models` (see `profiles`)."""
    from .profiles import get_profile

    return default_timeline(n_rounds, get_profile(profile).game_models)


def posting_slices(n_pictures: int, n_rounds: int) -> list[torch.Tensor]:
    """Positions (0..n-1) of the pictures an identity posts in each round: consecutive,
    near-equal slices (the first rounds get one more when n does not divide evenly)."""
    return list(torch.tensor_split(torch.arange(n_pictures), n_rounds))


def posting_round(n_pictures: int, n_rounds: int) -> torch.Tensor:
    """For each of an identity's n scraped pictures, the round (1-based) in which it is posted."""
    out = torch.empty(n_pictures, dtype=torch.long)
    for r, pos in enumerate(posting_slices(n_pictures, n_rounds), start=1):
        out[pos] = r
    return out


# ----------------------------------------------------------------------------- players
@dataclass(frozen=True)
class UserStrategy:
    """The attacking user's plan: the attack protecting the pictures posted in each round.

    `attacks[r - 1]` is round r's attack key (e.g. "fawkes_v03") or None (posted clean).
    Rounds after the last entry repeat the last entry.
    """

    attacks: tuple[str | None, ...]

    @classmethod
    def of(cls, plan: Sequence[str | None] | Mapping[int, str | None] | str | None) -> UserStrategy:
        """From a list (round 1 first), a {round: attack} dict, or one attack for every round."""
        if plan is None or isinstance(plan, str):
            return cls((_attack_or_none(plan),))
        if isinstance(plan, Mapping):
            if not plan:
                raise ValueError("empty user plan")
            last = max(plan)
            if min(plan) < 1:
                raise ValueError("rounds are numbered from 1")
            seq, cur = [], None
            for r in range(1, last + 1):
                cur = _attack_or_none(plan.get(r, cur))
                seq.append(cur)
            return cls(tuple(seq))
        if len(plan) == 0:
            raise ValueError("empty user plan")
        return cls(tuple(_attack_or_none(a) for a in plan))

    def attack(self, round: int) -> str | None:
        """The attack used on the pictures posted in `round` (1-based)."""
        if round < 1:
            raise ValueError("rounds are numbered from 1")
        return self.attacks[min(round, len(self.attacks)) - 1]


def _attack_or_none(a: str | None) -> str | None:
    if a is None or str(a).lower() in ("", "none", "clean"):
        return None
    return str(a)


AssignFn = Callable[[int, Timeline], list[str]]
"""(round, timeline) -> model embedding the pictures posted in rounds 1..round (one per round)."""


def assign_static(round: int, timeline: Timeline) -> list[str]:
    """Keep the newest model of round 1 for every picture, forever."""
    return [list(timeline[1])[-1]] * round


def assign_newest_on_new_data(round: int, timeline: Timeline) -> list[str]:
    """Pictures posted in round s keep the model that was newest in round s."""
    return [list(timeline[s])[-1] for s in range(1, round + 1)]


def assign_retroactive(round: int, timeline: Timeline) -> list[str]:
    """The newest model of this round re-embeds every picture ever scraped."""
    return [list(timeline[round])[-1]] * round


_ASSIGN: dict[str, AssignFn] = {
    "static": assign_static,
    "newest_on_new_data": assign_newest_on_new_data,
    "retroactive": assign_retroactive,
}


@dataclass(frozen=True)
class TrainerStrategy:
    """The trainer's plan: `assign(round, timeline)` -> model per posting round (1..round)."""

    name: str
    assign: AssignFn = field(repr=False)

    @classmethod
    def of(cls, strategy: str | TrainerStrategy) -> TrainerStrategy:
        """One of `TRAINER_STRATEGIES` by name (or a strategy object, returned as is)."""
        if isinstance(strategy, TrainerStrategy):
            return strategy
        if strategy not in _ASSIGN:
            raise ValueError(
                f"Unknown trainer strategy {strategy!r}; valid: {', '.join(TRAINER_STRATEGIES)}"
            )
        return cls(strategy, _ASSIGN[strategy])

    def models(self, round: int, timeline: Timeline) -> list[str]:
        """Validated assignment: one available model per posting round 1..round."""
        out = list(self.assign(round, timeline))
        if len(out) != round:
            raise ValueError(
                f"trainer {self.name!r} assigned {len(out)} models for {round} posting rounds"
            )
        for m in out:
            if m not in timeline[round]:
                raise ValueError(
                    f"trainer {self.name!r} used {m!r} in round {round}, but only "
                    f"{list(timeline[round])} are available"
                )
        return out


# ----------------------------------------------------------------------------- dynamic game
@dataclass
class RoundResult:
    """Outcome of one round of the dynamic game."""

    round: int
    user_attack: str | None
    trainer_strategy: str
    trainer_model: str
    protection_rate: float
    winner: str
    clean_accuracy: float
    per_user: dict[int, float]
    models_per_posting: list[str]
    attacks_per_posting: list[str | None]
    clean_error: float = float("nan")  # the attacking users' error had they posted clean

    @property
    def excess_protection(self) -> float:
        return self.protection_rate - self.clean_error

    def to_dict(self, full: bool = False) -> dict:
        """The results-file record (`full` adds per-user rates and the per-round assignment)."""
        d = {
            "round": self.round,
            "user_attack": self.user_attack or "none",
            "trainer_strategy": self.trainer_strategy,
            "trainer_model": self.trainer_model,
            "protection_rate": self.protection_rate,
            "clean_error": self.clean_error,
            "excess_protection": self.excess_protection,
            "winner": self.winner,
        }
        if full:
            d.update(
                {
                    "clean_accuracy": self.clean_accuracy,
                    "protection_rate_per_user": list(self.per_user.values()),
                    "models_per_posting": self.models_per_posting,
                    "attacks_per_posting": [a or "none" for a in self.attacks_per_posting],
                }
            )
        return d


ModelSource = Mapping[str, Extractor] | Callable[[str], Extractor]
CloakSource = Mapping[str, Mapping[int, torch.Tensor]] | Callable[[str], Mapping[int, torch.Tensor]]


class DynamicGame:
    """The dynamic game on a recognition protocol.

    `models`: {name: Extractor} or a loader `name -> Extractor` (called once per name, lazily).
    `cloaks`: {attack: {user: cloaked scraped pictures}} or a loader `attack -> {user: ...}`,
    each entry in the order of `protocol.user_train_idx(user)` (what `experiments.cloak_users`
    returns). Every enrolled identity posts `posting_slices` of its scraped pictures, one
    slice per round; the attacker's slice of round s is taken from round s's attack.
    """

    def __init__(
        self,
        protocol: Protocol,
        models: ModelSource,
        cloaks: CloakSource,
        n_rounds: int,
        timeline: Timeline | None = None,
        threshold: float = WIN_THRESHOLD,
        device: torch.device | None = None,
    ) -> None:
        if n_rounds < 1:
            raise ValueError("the dynamic game needs at least one round")
        self.protocol, self.n_rounds = protocol, n_rounds
        self.threshold, self.device = threshold, device
        self.timeline = dict(timeline) if timeline is not None else default_timeline(n_rounds)
        missing = [r for r in range(1, n_rounds + 1) if not self.timeline.get(r)]
        if missing:
            raise ValueError(f"timeline has no models for rounds {missing}")
        self._models, self._cloaks = models, cloaks
        self._model_cache: dict[str, Extractor] = {}
        self._cloak_cache: dict[str, Mapping[int, torch.Tensor]] = {}
        self._emb: dict[str, torch.Tensor] = {}
        self._cloak_emb: dict[tuple[str, str, int], torch.Tensor] = {}
        self._scale: dict[str, float] = {}
        ds = protocol.ds
        self.g_idx, self.p_idx = protocol.gallery_idx, protocol.probe_idx
        self.g_lab, self.p_lab = ds.labels[self.g_idx], ds.labels[self.p_idx]
        # posting round of every gallery picture, by its position among its identity's pictures
        self.g_round = torch.empty(len(self.g_idx), dtype=torch.long)
        for ident in torch.unique(self.g_lab).tolist():
            rows = torch.nonzero(self.g_lab == ident).flatten()
            self.g_round[rows] = posting_round(len(rows), n_rounds)

    def with_timeline(self, timeline: Timeline) -> DynamicGame:
        """The same game (same data, models, cloaks and caches) on another timeline."""
        other = copy.copy(self)
        other.timeline = dict(timeline)
        missing = [r for r in range(1, self.n_rounds + 1) if not other.timeline.get(r)]
        if missing:
            raise ValueError(f"timeline has no models for rounds {missing}")
        return other

    # -- lazy sources
    def model(self, name: str) -> Extractor:
        if name not in self._model_cache:
            src = self._models
            self._model_cache[name] = src[name] if isinstance(src, Mapping) else src(name)
        return self._model_cache[name]

    def cloaks(self, attack: str) -> Mapping[int, torch.Tensor]:
        if attack not in self._cloak_cache:
            src = self._cloaks
            self._cloak_cache[attack] = src[attack] if isinstance(src, Mapping) else src(attack)
        return self._cloak_cache[attack]

    def embeddings(self, name: str) -> torch.Tensor:
        """Clean embeddings of every picture of the dataset under model `name`."""
        if name not in self._emb:
            self._emb[name] = embed(self.model(name), self.protocol.ds.images, device=self.device)
        return self._emb[name]

    def distance_scale(self, name: str) -> float:
        """Typical nearest-neighbour distance under model `name`: the median, over the clean
        gallery, of each picture's distance to its closest other picture. Distances of
        different models are compared in this unit (models pack faces differently densely)."""
        if name not in self._scale:
            g = self.embeddings(name)[self.g_idx]
            d = torch.cdist(g, g)
            d.fill_diagonal_(float("inf"))
            nn = d.min(dim=1).values if len(g) > 1 else torch.ones(1)
            self._scale[name] = float(nn.median())
        return self._scale[name] or 1.0

    def cloak_embeddings(self, name: str, attack: str, user: int) -> torch.Tensor:
        key = (name, attack, user)
        if key not in self._cloak_emb:
            pics = self.cloaks(attack).get(user)
            if pics is None:
                raise ValueError(f"no {attack} cloaks for user {user}")
            user_rows(self.g_lab, user, len(pics))  # one cloak per scraped picture
            self._cloak_emb[key] = embed(self.model(name), pics, device=self.device)
        return self._cloak_emb[key]

    # -- recognition with per-picture models
    def _predict(
        self,
        round: int,
        models: list[str],
        probe_rows: torch.Tensor,
        user: int | None,
        attacks: list[str | None],
    ) -> torch.Tensor:
        """1-NN labels of probes against the gallery scraped by `round`; gallery pictures posted
        in round s are embedded (and compared) with `models[s - 1]`; `user`'s pictures are
        replaced by their cloaks of the round they were posted in. With several models,
        distances are divided by each model's `distance_scale` before the closest is taken
        (models spread faces differently; raw distances would let one space dominate)."""
        best_d = torch.full((len(probe_rows),), float("inf"))
        best_l = torch.full((len(probe_rows),), -1, dtype=torch.long)
        for name in dict.fromkeys(models):
            rounds = torch.tensor([s for s in range(1, round + 1) if models[s - 1] == name])
            cols = torch.nonzero(torch.isin(self.g_round, rounds)).flatten()
            emb = self.embeddings(name)
            gallery = emb[self.g_idx[cols]].clone()
            if user is not None:
                urows = torch.nonzero(self.g_lab == user).flatten()  # positions = cloak order
                for s in rounds.tolist():
                    a = attacks[s - 1]
                    if a is None:
                        continue
                    pos = torch.nonzero(self.g_round[urows] == s).flatten()
                    where = torch.searchsorted(cols, urows[pos])
                    gallery[where] = self.cloak_embeddings(name, a, user)[pos]
            lab, dist = nearest_neighbors(gallery, self.g_lab[cols], emb[self.p_idx[probe_rows]], 1)
            dist = dist / self.distance_scale(name) if len(set(models)) > 1 else dist
            better = dist[:, 0] < best_d
            best_d = torch.where(better, dist[:, 0], best_d)
            best_l = torch.where(better, lab[:, 0], best_l)
        return best_l

    def play_round(
        self, round: int, user: UserStrategy, trainer: TrainerStrategy | str
    ) -> RoundResult:
        """Round `round`: what the recogniser scraped so far, embedded as `trainer` decides."""
        if not 1 <= round <= self.n_rounds:
            raise ValueError(f"round must be in 1..{self.n_rounds}")
        trainer = TrainerStrategy.of(trainer)
        models = trainer.models(round, self.timeline)
        attacks = [user.attack(s) for s in range(1, round + 1)]
        attackers = list(self.protocol.attackers)
        others = torch.nonzero(~torch.isin(self.p_lab, torch.as_tensor(attackers))).flatten()
        pred = self._predict(round, models, others, None, attacks)
        clean_acc = (
            float((pred == self.p_lab[others]).float().mean()) if len(others) else float("nan")
        )
        per_user, clean = {}, []
        for u in attackers:
            rows = torch.nonzero(self.p_lab == u).flatten()
            pred = self._predict(round, models, rows, u, attacks)
            per_user[u] = float((pred != u).float().mean())
            plain = self._predict(round, models, rows, None, attacks)
            clean.append(float((plain != u).float().mean()))
        rate = float(np.mean(list(per_user.values())))
        return RoundResult(
            round,
            attacks[-1],
            trainer.name,
            models[-1],
            rate,
            winner(rate, self.threshold),
            clean_acc,
            per_user,
            models,
            attacks,
            float(np.mean(clean)),
        )

    def play(
        self,
        user: UserStrategy | Sequence[str | None] | Mapping[int, str | None] | str,
        trainer: TrainerStrategy | str,
        progress: bool = False,
    ) -> list[RoundResult]:
        """Every round 1..n_rounds with the same two strategies."""
        from .progress import tqdm

        user = user if isinstance(user, UserStrategy) else UserStrategy.of(user)
        trainer = TrainerStrategy.of(trainer)
        return [
            self.play_round(r, user, trainer)
            for r in tqdm(
                range(1, self.n_rounds + 1),
                desc=f"rounds ({trainer.name})",
                disable=not progress,
                leave=False,
            )
        ]


# ----------------------------------------------------------------------------- reporting
def rounds_table(results: Sequence[RoundResult]) -> pd.DataFrame:
    """One row per round: attack, strategy, model, protection rate, clean accuracy, winner."""
    return pd.DataFrame([{**r.to_dict(), "clean_accuracy": r.clean_accuracy} for r in results])


def first_new_model_round(timeline: Timeline) -> int | None:
    """The first round whose newest model differs from round 1's (None if it never changes)."""
    first = list(timeline[1])[-1]
    for r in sorted(timeline):
        if list(timeline[r])[-1] != first:
            return r
    return None


def control_timeline(timeline: Timeline, control: str) -> dict[int, list[str]]:
    """The same rounds, but from the first new model's round on the trainer is offered
    `control` (a same-era model, e.g. the seed control) instead of newer models: the game
    that tells "a newer model" apart from "any other model"."""
    first = list(timeline[1])
    new_round = first_new_model_round(timeline)
    return {
        r: first if new_round is None or r < new_round else [*first, control]
        for r in sorted(timeline)
    }
