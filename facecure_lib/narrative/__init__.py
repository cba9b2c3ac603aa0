"""Sentences that state results, written from the numbers they describe.

Every result a notebook states in words comes from a function here (one module per topic),
so that the text always matches the output above it, and each function is tested on
numbers that make its finding hold and on numbers that make it fail.
"""

from __future__ import annotations


def pct(x: float) -> str:
    """0.237 -> '24%'."""
    return f"{100 * x:.0f}%"


def holds(ok: bool) -> str:
    """'holds' or 'does **not** hold'."""
    return "holds" if ok else "does **not** hold"


def listing(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
