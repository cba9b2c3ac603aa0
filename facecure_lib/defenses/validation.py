"""Validation identities for choosing a defense's settings without looking at the reported
attackers (issue 18): people from the public side whom the trainer holds out, enrolled in
their own recognition protocol, some of whom play attacking users.

Quick profile: identities generated in a range of their own (never enrolled, never in a
training pool). With a given dataset (paper profile: LFW or a folder), the last quarter of
the public identities (they may appear in the trainer's pool, which the reported attackers
never do: a validation estimate, not a reported number).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..data.dataset import subset
from ..data.generate import generate_faces
from ..recognition import Protocol
from ..scenario import Scenario

VALIDATION_START = 300_000  # generated identity numbers of the validation people


def validation_scenario(
    scenario: Scenario, n_identities: int = 50, pictures: int = 20, n_attackers: int = 16
) -> Scenario:
    """A scenario with the same pools (and so the same models) as `scenario`, whose enrolled
    identities and attacking users are held-out validation people."""
    if scenario.profile == "quick" and "first" in scenario.pool_key("trainer"):
        key = scenario.pool_key("trainer")
        ds = generate_faces(
            n_identities,
            pictures,
            key["size"],
            seed=scenario.seed,
            first_identity=VALIDATION_START,
            appearance=key["appearance"],
            progress=False,
        )
        ids = list(range(ds.n_identities))
    else:
        held_out = scenario.public[-max(2, len(scenario.public) // 4) :]
        ds = subset(scenario.ds, held_out, f"{scenario.ds.name} (validation)")
        ids = list(range(ds.n_identities))
    k = min(n_attackers, len(ids) - 1)
    protocol = Protocol.build(ds, ids, k, split_seed=11, attacker_seed=scenario.seed + 1)
    return replace(scenario, ds=ds, public=[], private=ids, protocol=protocol)


CONTROL_ROW = "control (no cloaks)"


def choose_robust_config(
    results: Mapping[str, Mapping], max_extra_error: float = 0.02
) -> str | None:
    """The robust-training rule (`scripts/quick_world/robust_validation.py`), fixed before any
    number was seen: among the candidates whose validation clean error is at most the
    control's + `max_extra_error`, the one with the lowest worst-attack excess protection;
    ties go to the candidate listed first. `results` maps each row (the control under
    `CONTROL_ROW`, then the candidates, cheapest first) to its `clean_error` and
    `excess_protection` per attack. None when no candidate is accurate enough."""
    if CONTROL_ROW not in results:
        raise KeyError(f"results need the control row {CONTROL_ROW!r} (the rule's yardstick)")
    ceiling = results[CONTROL_ROW]["clean_error"] + max_extra_error
    ok = [n for n, r in results.items() if n != CONTROL_ROW and r["clean_error"] <= ceiling]
    if not ok:
        return None
    return min(ok, key=lambda n: max(results[n]["excess_protection"].values()))
