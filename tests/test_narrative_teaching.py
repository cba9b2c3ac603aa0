"""The sentences of notebook 00's cloak lesson, notebook 06's new exercises and both
closings, each run on numbers that make the finding hold and on numbers that make it fail."""

from __future__ import annotations

import pandas as pd

from facecure_lib.lesson import ShiftReport
from facecure_lib.narrative import cloak, selfcheck

IDS = ["ann", "bob", "cid"]


def _r(model: str, shift: float, cloaked: int, clean: int = 0) -> ShiftReport:
    return ShiftReport(model, shift, 0.4, 0.7, 0, clean, cloaked)


def test_feature_shift_says_how_far_and_whom_1nn_names():
    text = cloak.feature_shift(_r("s", 0.9, 1), "the model it was made against", IDS)
    assert "moved the picture's embedding by 0.90" in text and "2.2 times" in text
    assert "further than the nearest other person" in text and "now names **bob**" in text
    text = cloak.feature_shift(_r("s", 0.2, 0), "a model it never saw", IDS)
    assert "not as far as the nearest other person" in text and "still names **ann**" in text
    text = cloak.feature_shift(_r("s", 0.9, 1, clean=2), "x", IDS)
    assert "does not name even the clean picture" in text
    odd = ShiftReport("s", 0.3, float("nan"), 0.7, 0, 0, 0)
    assert "no other picture of this person" in cloak.feature_shift(odd, "x", IDS)


def test_transfer_answer_follows_the_outcome():
    white, kept, lost = _r("s", 0.9, 1), _r("u", 0.3, 0), _r("u", 0.8, 2)
    assert cloak.outcome(kept) == "recognised" and cloak.outcome(lost) == "fooled"
    text = cloak.transfer(white, kept)
    assert "33% of the 0.90" in text and "**u**, which it never saw, still names you" in text
    text = cloak.transfer(white, lost)
    assert "fooled **both** models" in text and "One picture is one draw" in text
    text = cloak.transfer(_r("s", 0.1, 0), kept)
    assert "did not even fool s" in text and "says nothing about transfer" in text
    assert "cannot tell" in cloak.transfer(white, _r("u", 0.3, 0, clean=1))
    assert "did not move the picture" in cloak.transfer(_r("s", 0.0, 0), kept)


def test_quickstart_closing_names_the_best_model_the_cloak_and_the_exercises():
    acc = {"a": 0.9, "b": 0.6}
    text = cloak.closing(acc, _r("s", 0.9, 1), _r("u", 0.3, 0), ["ex1", "ex2"])
    assert "**a** recognises" in text and "accuracy 90%" in text and "b worst (60%)" in text
    assert "did not carry over to u" in text and "ex1 and ex2" in text
    text = cloak.closing(acc, _r("s", 0.9, 1), _r("u", 0.9, 2), [])
    assert "carried over to u" in text and "no exercise" in text
    assert "did not fool s" in cloak.closing(acc, _r("s", 0.1, 0), _r("u", 0.1, 0), [])


def _table(newest_missed: int, surrogate_missed: int) -> pd.DataFrame:
    def row(name, missed, role, unprotected=0.0):
        rate = missed / 6
        outcome = "fooled" if rate >= 0.8 else ("recognised you" if rate <= 0.2 else "partly")
        return {
            "recogniser": name,
            "missed": missed,
            "n_probes": 6,
            "protection_rate": rate,
            "ci_low": max(0.0, rate - 0.3),
            "ci_high": min(1.0, rate + 0.3),
            "unprotected_error": unprotected,
            "outcome": outcome,
            "role": role,
        }

    return pd.DataFrame(
        [row("sur", surrogate_missed, "surrogate of the attack"), row("new", newest_missed, "")]
    )


def test_newest_answer_reports_the_outcome_and_the_surrogates():
    text = selfcheck.newest_answer(_table(0, 6), "new")
    assert "missed you in 0 of 6" in text and "**recognised you**" in text
    assert "fooled 1 of 2 recognisers (sur)" in text and "works best against" in text
    text = selfcheck.newest_answer(_table(6, 0), "new")
    assert "**fooled**" in text and "did not even fool the models it was made against" in text


def test_cloak_helps_sentence_and_closing():
    answers = {"sur": "helps", "new": "no help", "mid": "cannot tell"}
    text = selfcheck.cloak_helps(answers, "new", True)
    assert "agrees" in text and "**no help**" in text and "helps beyond" in text
    assert "too few test photos to tell: mid" in text
    assert "does NOT agree" in selfcheck.cloak_helps(answers, "sur", False)
    text = selfcheck.closing(1, 3, "new", "recognised you", "no help", 0.25, ["a", "b"])
    assert "fooled 1 of 3" in text and "**recognised you**" in text and "25%" in text
    assert "a and b" in text
