"""Checks of the exercises of notebook 06 (check your own cloak)."""

from __future__ import annotations

import math
from collections.abc import Callable

from . import check_prediction, expect, grade

__all__ = [
    "HELP_CHOICES",
    "OUTCOME_CHOICES",
    "check_cloak_helps",
    "check_pair_photos",
    "check_prediction",
    "check_wilson_interval",
    "solution_cloak_helps",
    "solution_pair_photos",
]


def solution_pair_photos(names: list[str], suffix: str) -> tuple[dict, list, list]:
    """The library's answer to exercise 1 (`selfcheck.pair_names` with a suffix pattern)."""
    from ..selfcheck.names import pair_names

    pairs, unpaired, orphans, _ = pair_names(names, "{stem}" + suffix)
    return pairs, orphans, unpaired


def check_pair_photos(pair_photos: Callable) -> Callable:
    """Exercise 1: `pair_photos(names, suffix)` -> ({clean: cloaked}, orphans, unpaired)."""

    def body() -> None:
        names = ["a.jpg", "a_cloaked.png", "b.png", "b_cloaked.png", "c.jpg", "d_cloaked.png"]
        out = pair_photos(names, "_cloaked.png")
        expect(
            isinstance(out, tuple) and len(out) == 3,
            "pair_photos must return three things: (pairs, orphans, unpaired)",
            "return pairs, orphans, unpaired",
        )
        pairs, orphans, unpaired = out
        expect(
            dict(pairs) == {"a.jpg": "a_cloaked.png", "b.png": "b_cloaked.png"},
            f"pairs for {names} should be a.jpg->a_cloaked.png and b.png->b_cloaked.png, "
            f"got {pairs}",
            "a cloaked name is <clean stem> + suffix; match it by the clean file's stem",
        )
        expect(
            sorted(orphans) == ["d_cloaked.png"],
            f"d_cloaked.png has no clean partner and must be an orphan, got {orphans}",
            "a file ending with the suffix whose stem matches no clean file is an orphan",
        )
        expect(
            sorted(unpaired) == ["c.jpg"],
            f"c.jpg has no cloaked version and must be unpaired, got {unpaired}",
            "clean files are the ones NOT ending with the suffix",
        )
        pairs, orphans, unpaired = pair_photos(["x.jpg", "x_attacked.png"], "_attacked.png")
        expect(
            dict(pairs) == {"x.jpg": "x_attacked.png"} and not orphans and not unpaired,
            "the suffix is a parameter (LowKey writes _attacked.png)",
            "do not hard-code '_cloaked.png'",
        )
        pairs, orphans, unpaired = pair_photos([], "_cloaked.png")
        expect(
            not pairs and not orphans and not unpaired,
            "an empty folder gives nothing",
            "start from empty containers",
        )

    return grade("pair_photos", body, pair_photos, solution_pair_photos)


def check_wilson_interval(wilson_interval: Callable) -> Callable:
    """Exercise 3: `wilson_interval(k, n, z=1.96)` -> (low, high)."""

    def body() -> None:
        cases = {
            (0, 3): (0.0, 0.5615),
            (3, 3): (0.4385, 1.0),
            (5, 10): (0.2366, 0.7634),
            (1, 6): (0.0301, 0.5635),
        }
        for (k, n), (lo, hi) in cases.items():
            got = wilson_interval(k, n)
            expect(len(got) == 2, "return two numbers (low, high)", "return lo, hi")
            close = all(math.isclose(a, b, abs_tol=2e-3) for a, b in zip(got, (lo, hi)))
            expect(
                close,
                f"wilson_interval({k}, {n}) should be about ({lo}, {hi}), got "
                f"({got[0]:.4f}, {got[1]:.4f})",
                "centre = (p + z²/2n) / (1 + z²/n); half-width = z·sqrt(p(1-p)/n + z²/4n²) "
                "/ (1 + z²/n); clip to [0, 1]",
            )
        small, big = wilson_interval(3, 6), wilson_interval(300, 600)
        expect(
            big[1] - big[0] < small[1] - small[0],
            "the interval must shrink with more test photos",
            "the half-width divides by n",
        )
        expect(
            tuple(wilson_interval(0, 0)) == (0.0, 1.0),
            "with no test photo at all, the interval is (0, 1): we know nothing",
            "handle n == 0 first",
        )

    from ..selfcheck.stats import wilson_interval as solution

    return grade("wilson_interval", body, wilson_interval, solution)


OUTCOME_CHOICES = ("fooled", "partly fooled", "recognised you")  # selfcheck.stats.outcome
HELP_CHOICES = ("helps", "cannot tell", "no help")


def solution_cloak_helps(protection_rate: float, ci_low: float, unprotected_error: float) -> str:
    """The library's answer to exercise 4: does the cloak make a recogniser miss you more
    than it would anyway? 'no help' when the protection rate is no higher than the error
    without a cloak, 'helps' when even the low end of its 95% interval is higher, else
    'cannot tell' (too few test photos to say)."""
    if protection_rate <= unprotected_error:
        return "no help"
    if ci_low > unprotected_error:
        return "helps"
    return "cannot tell"


def check_cloak_helps(cloak_helps: Callable) -> Callable:
    """Exercise 4: `cloak_helps(protection_rate, ci_low, unprotected_error)` -> one of
    HELP_CHOICES."""

    def body() -> None:
        cases = [
            (
                (1.0, 0.61, 0.0),
                "a recogniser that missed you in every test photo (interval "
                "0.61-1) and never misses you without a cloak",
                "compare the low end of the interval with what the recogniser misses anyway",
            ),
            (
                (0.5, 0.08, 0.1),
                "protection 0.50 is above the unprotected error 0.10, but "
                "its interval reaches down to 0.08",
                "a handful of test photos: use the low "
                "end of the interval, not the protection rate itself",
            ),
            (
                (0.9, 0.6, 0.7),
                "protection 0.90 looks high, but this recogniser misses you "
                "in 70% of the photos even without a cloak, and the interval reaches down to "
                "0.60",
                "compare with unprotected_error, not with a fixed threshold such as 0.8",
            ),
            (
                (0.5, 0.19, 0.1),
                "protection 0.50 whose interval starts at 0.19, above the unprotected error 0.10",
                "when even the low end of the interval clears the unprotected error, the "
                "cloak helps",
            ),
            (
                (0.1, 0.0, 0.1),
                "protection equal to the error without a cloak",
                "a cloak helps only by what it adds to the recogniser's ordinary mistakes",
            ),
            (
                (0.0, 0.0, 0.2),
                "a recogniser that found you in every test photo",
                "no protection at all is no help",
            ),
        ]
        for args, what, hint in cases:
            got = cloak_helps(*args)
            expect(
                got in HELP_CHOICES,
                f"cloak_helps{args} returned {got!r}, not one of {list(HELP_CHOICES)}",
                "return one of the three answers exactly as written",
            )
            want = solution_cloak_helps(*args)
            expect(got == want, f"{what}: expected {want!r}, got {got!r}", hint)

    return grade("cloak_helps (reading a protection rate)", body, cloak_helps, solution_cloak_helps)
