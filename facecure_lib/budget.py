"""One cap on every step count: attacks, model training and fine-tuning (the robust
extractor, CLIP tuning, the quick zoo, end-to-end recognition).

`None` (the default) keeps each profile's own step counts. A number is for a quick look, or
for the tests' paper-smoke run on a CPU (`MAX_STEPS` in a notebook's parameters cell, set by
`notebook.start`): every line of the paper branch runs, with a few steps per loop, so the
numbers it produces mean nothing. The cap is part of what it changes (attack parameters,
training configurations), so it is part of every cache key built from them, and a capped
run never serves a later full one from the cache.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

_CAP: list[int | None] = [None]
T = TypeVar("T")


def set_max_steps(steps: int | None) -> None:
    """Cap every step count at `steps` from now on (None: no cap)."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"max_steps must be a positive integer or None, got {steps!r}")
    _CAP[0] = steps


def max_steps() -> int | None:
    """The cap in force (None: none)."""
    return _CAP[0]


def capped(steps: int) -> int:
    """`steps`, or the cap if it is lower."""
    cap = _CAP[0]
    return steps if cap is None else min(steps, cap)


def capped_config(config: T, *fields: str) -> T:
    """A copy of a frozen dataclass with the named step fields capped (itself without a cap)."""
    if _CAP[0] is None:
        return config
    return replace(config, **{f: capped(getattr(config, f)) for f in fields})
