"""Each predict-box answer names the outcome its numbers decide, on both sides."""

from facecure_lib.game import RoundResult
from facecure_lib.narrative import predictions as P


def _round(rate: float) -> RoundResult:
    winner = "user" if rate >= 0.5 else "trainer"
    return RoundResult(3, "lowkey", "retroactive", "new", rate, winner, 0.9, {}, [], [], 0.05)


def test_last_round():
    assert P.last_round([_round(0.9), _round(0.1)])[0] == "trainer"
    label, text = P.last_round([_round(0.9)])
    assert label == "user" and "**user** wins" in text


def test_robust_fooled_bands():
    assert P.robust_fooled(0.8, 0.05, "a")[0] == "fooled"
    assert P.robust_fooled(0.12, 0.05, "a")[0] == "not fooled"
    label, text = P.robust_fooled(0.4, 0.05, "a")
    assert label == "partly" and "+0.35" in text


def test_easier_to_detect():
    assert P.easier_to_detect({"fawkes_low": 0.99, "lowkey": 0.9})[0] == "fawkes_low"
    assert P.easier_to_detect({"fawkes_low": 0.7, "lowkey": 0.99})[0] == "lowkey"
    assert P.easier_to_detect({"fawkes_low": 0.99, "lowkey": 0.995})[0] == "about the same"


def test_contemporary_or_newest():
    assert P.contemporary_or_newest(0.6, 0.1, "a", "m")[0] == "contemporary"
    assert P.contemporary_or_newest(0.1, 0.6, "a", "m")[0] == "newest"
    label, text = P.contemporary_or_newest(0.3, 0.32, "a", "m")
    assert label == "about the same" and "**about the same**" in text


def test_threshold_costs_accuracy():
    assert P.threshold_costs_accuracy(0.98, 0.95)[0] == "yes"
    assert P.threshold_costs_accuracy(0.98, 0.975)[0] == "no"
