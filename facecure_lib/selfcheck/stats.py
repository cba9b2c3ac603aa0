"""The small statistics of a one-person check: the photo split, intervals, plain words."""

from __future__ import annotations

import math

import numpy as np

from .spec import FOOLED, PARTLY


def split_photos(n: int, seed: int = 0, train_frac: float = 0.7) -> tuple[list[int], list[int]]:
    """Seeded 70/30 split of n photos: (gallery indices, probe indices), both sorted.

    At least one photo on each side (as `split_per_identity` does for every identity).
    """
    if n < 2:
        raise ValueError(f"a 70/30 split needs at least 2 photos, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    k = min(max(1, int(round(train_frac * n))), n - 1)
    return sorted(perm[:k].tolist()), sorted(perm[k:].tolist())


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (95% for z = 1.96); (0, 1) when n = 0."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def outcome(rate: float) -> str:
    """Plain words for a protection rate."""
    if rate >= FOOLED:
        return "fooled"
    if rate <= PARTLY:
        return "recognised you"
    return "partly fooled"
