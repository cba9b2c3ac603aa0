"""Checks for the exercises of notebook 03 (detecting cloaked pictures)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import expect, grade


def _auc_reference(labels: np.ndarray, scores: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def check_auc(fn: Callable[[np.ndarray, np.ndarray], float]) -> Callable:
    """`fn(labels, scores)` must return the ROC AUC: the probability that a random cloaked
    picture scores higher than a random clean one (ties count one half)."""

    def body() -> None:
        cases = [
            ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0),
            ([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], 0.0),
            ([0, 1], [0.5, 0.5], 0.5),
            ([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9], 15 / 16),
        ]
        for y, s, want in cases:
            got = fn(np.asarray(y), np.asarray(s, dtype=float))
            expect(
                got is not None and abs(float(got) - want) < 1e-9,
                f"labels={y}, scores={s}: expected {want:.4f}, got {got}",
                "count, over every (cloaked, clean) pair, how often the cloaked picture "
                "scores higher; a tie counts 1/2; divide by the number of pairs",
            )
        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, 200)
        s = np.round(rng.random(200) + 0.3 * y, 2)  # rounded: ties happen
        got = float(fn(y, s))
        expect(
            abs(got - _auc_reference(y, s)) < 1e-9,
            f"random case: expected {_auc_reference(y, s):.4f}, got {got:.4f}",
            "do not use the labels' order; only which scores belong to cloaked pictures",
        )
        lab = np.array([1, 0, 1, 0])
        expect(
            abs(float(fn(lab, np.array([0.9, 0.1, 0.8, 0.2]))) - 1.0) < 1e-9,
            "labels in any order must work",
            "select scores with labels == 1 and == 0",
        )

    from sklearn.metrics import roc_auc_score

    return grade("ROC AUC from scratch", body, fn, lambda y, s: float(roc_auc_score(y, s)))


def solution_threshold(clean_scores: np.ndarray, max_fpr: float) -> float:
    """The library's answer to exercise 2: the smallest threshold that flags at most
    `max_fpr` of the clean pictures (flagged: score >= threshold)."""
    s = np.sort(np.asarray(clean_scores, dtype=float))[::-1]
    k = int(np.floor(max_fpr * len(s) + 1e-9))
    return float(np.nextafter(s[k], np.inf)) if k < len(s) else float(s[-1])


def check_threshold(fn: Callable[[np.ndarray, float], float]) -> Callable:
    """`fn(clean_scores, max_fpr)` must return the smallest threshold t such that at most a
    fraction `max_fpr` of clean pictures have a score >= t (those would be flagged)."""

    def body() -> None:
        clean = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95])
        for max_fpr in (0.0, 0.1, 0.25, 0.5):
            t = fn(clean.copy(), max_fpr)
            expect(t is not None, "the function returned None", "return a float threshold")
            t = float(t)
            fpr = float((clean >= t).mean())
            expect(
                fpr <= max_fpr + 1e-12,
                f"max_fpr={max_fpr}: threshold {t:.4f} flags {fpr:.0%} of clean pictures",
                "a clean picture with score >= threshold is a false positive",
            )
            allowed = int(np.floor(max_fpr * len(clean) + 1e-9))
            expect(
                int((clean >= t).sum()) == allowed,
                f"max_fpr={max_fpr}: threshold {t:.4f} is stricter than needed (it flags "
                f"{int((clean >= t).sum())} clean pictures; {allowed} are allowed)",
                "sort the clean scores; the threshold sits just above the (allowed+1)-th "
                "largest one, e.g. np.nextafter(score, inf)",
            )
        rng = np.random.default_rng(1)
        clean = rng.random(1000)
        t = float(fn(clean, 0.02))
        expect(
            float((clean >= t).mean()) <= 0.02 and float((clean >= t).mean()) >= 0.019,
            f"1000 random clean scores, max_fpr=0.02: {(clean >= t).mean():.3f} flagged",
            "exactly 20 of 1000 clean pictures may be flagged",
        )

    return grade("threshold for a false-positive budget", body, fn, solution_threshold)
