"""Automatic checks for the notebooks' exercises.

Each exercise has a function here (one module per notebook, e.g. `checks.nb01`) that runs
the student's code on small cases with known answers and prints PASS or FAIL with a hint.
A failed check raises `ExerciseFailed` so that CI notices; a solution notebook passes all.
Solutions in notebooks sit between `# BEGIN SOLUTION` and `# END SOLUTION` lines, with an
optional `# HINT: ...` line; `python -m facecure_lib.student` turns them into stubs.
"""

from __future__ import annotations

from collections.abc import Callable


class ExerciseFailed(AssertionError):
    """A check found the student's answer wrong (the message holds the hint)."""


def expect(condition: bool, what: str, hint: str) -> None:
    """One assertion of a check: raise ExerciseFailed with a hint when it does not hold."""
    if not condition:
        raise ExerciseFailed(f"{what}. Hint: {hint}")


def grade(name: str, body: Callable[[], None]) -> bool:
    """Run a check body, print PASS/FAIL (with the hint), re-raise failures."""
    try:
        body()
    except NotImplementedError:
        print(f"[TODO] {name}: not implemented yet.")
        raise
    except ExerciseFailed as err:
        print(f"[FAIL] {name}: {err}")
        raise
    print(f"[PASS] {name}")
    return True
