"""Automatic checks for the notebooks' exercises.

Each exercise has a function here (one module per notebook, e.g. `exercises.nb01`) that
runs the student's code on small cases with known answers, prints PASS, FAIL (with a hint)
or TODO, and returns the function the notebook goes on with: the student's when it passes,
the library's solution otherwise, so that an unfinished exercise never breaks later cells.
The results file records how each exercise went (a solution notebook passes all).
Solutions in notebooks sit between `# BEGIN SOLUTION` and `# END SOLUTION` lines, with an
optional `# HINT: ...` line; `python -m facecure_lib.student` turns them into stubs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

F = TypeVar("F", bound=Callable)


class ExerciseFailed(AssertionError):
    """A check found the student's answer wrong (the message holds the hint)."""


def expect(condition: bool, what: str, hint: str) -> None:
    """One assertion of a check: raise ExerciseFailed with a hint when it does not hold."""
    if not condition:
        raise ExerciseFailed(f"{what}. Hint: {hint}")


_RECORD: dict[str, str] = {}  # exercise -> "pass" | "todo" | "fail", since the notebook started
_STRICT = [False]


@contextlib.contextmanager
def strict() -> Iterator[None]:
    """Inside the block, a TODO or a wrong answer raises instead of falling back (for tests)."""
    _STRICT.append(True)
    try:
        yield
    finally:
        _STRICT.pop()


def grade(name: str, body: Callable[[], None], answer: F, solution: F) -> F:
    """Run an exercise's known-answer checks on the student's `answer`; return the function
    the rest of the notebook goes on with.

    PASS: the student's answer. TODO (it raises NotImplementedError) or FAIL (a check does
    not hold; the hint is printed): the library's `solution`, with a notice, so that every
    later cell still runs. `record()` tells the results file how each exercise went.
    """
    try:
        body()
    except NotImplementedError:
        print(f"[TODO] {name}: not done yet; the cells below use the library's solution.")
        _RECORD[name] = "todo"
        if _STRICT[-1]:
            raise
        return solution
    except ExerciseFailed as err:
        print(
            f"[FAIL] {name}: {err}\n       The cells below use the library's solution; "
            "fix yours and run this cell again."
        )
        _RECORD[name] = "fail"
        if _STRICT[-1]:
            raise
        return solution
    print(f"[PASS] {name}")
    _RECORD[name] = "pass"
    return answer


def _no_prediction() -> None:
    return None


def check_prediction(
    name: str,
    predict: Callable[[], str],
    options: Sequence[str],
    outcome: str,
    why: str = "",
) -> str | None:
    """A "predict, then run" exercise, checked once the outcome has been computed.

    `predict()` returns the student's choice (written before the result was run; in the
    notebook it is a function with a solution block, so the student version stubs it).
    PASS when the choice is one of `options`, whether or not it matches the outcome: a
    prediction is an exercise in committing to an expectation, and the message says whether
    it matched (and `why`, a sentence written from the numbers). TODO when no prediction
    was made, FAIL when the choice is not one of the options. Returns the choice, or None.
    """
    options = list(options)
    if outcome not in options:
        raise ValueError(f"outcome {outcome!r} is not one of the options {options}")

    def body() -> None:
        choice = predict()
        expect(
            choice in options,
            f"your prediction {choice!r} is not one of {options}",
            "return one of the options exactly as written, as a string",
        )

    if grade(name, body, predict, _no_prediction) is not predict:
        return None
    choice = predict()
    matched = "matches it" if choice == outcome else "does NOT match it"
    print(
        f"       You predicted {choice!r}; this run gave {outcome!r}: your prediction "
        f"{matched}. {why}".rstrip()
    )
    return choice


def summary(outcomes: dict[str, str] | None = None) -> str:
    """One line: how many exercises passed, are still to do, or failed (default: so far)."""
    outcomes = record() if outcomes is None else outcomes
    counts = {k: list(outcomes.values()).count(k) for k in ("pass", "todo", "fail")}
    return f"{len(outcomes)} exercise(s): " + ", ".join(f"{v} {k}" for k, v in counts.items())


def record(reset: bool = False) -> dict[str, str]:
    """How each exercise went since the notebook started; `reset` starts over."""
    out = dict(_RECORD)
    if reset:
        _RECORD.clear()
    return out
