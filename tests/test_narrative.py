"""Every sentence that states a result says what its numbers say: each narrative helper is run
on numbers that make its finding hold and on numbers that make it fail."""

import pandas as pd

from facecure_lib.game import RoundResult
from facecure_lib.narrative import detection, game, realism, robust, selfcheck, systems, timeline
from facecure_lib.oracle import OracleReport
from facecure_lib.static_game import StaticResult

ATTACKS = ["fawkes_v03", "fawkes_v10", "lowkey"]


def _round(
    r: int, rate: float, model: str = "m", attack: str = "fawkes_v03", clean: float = 0.05
) -> RoundResult:
    winner = "user" if rate >= 0.5 else "trainer"
    return RoundResult(r, attack, "retroactive", model, rate, winner, 0.9, {}, [], [], clean)


def test_static_game_states_the_winner_on_both_models():
    oracle = OracleReport(True, 10, 0, 0.01, 0.03, {})
    won = StaticResult("fawkes_v10", "surrogate", 0.8, "user", 0.9, {}, oracle, 0.05)
    lost = StaticResult("fawkes_v10", "era3", 0.2, "trainer", 0.9, {}, oracle, 0.05)
    text = game.static_game(won, won, {}, 10, 10)
    assert "**user** wins" in text and "+0.75" in text and "transfers to a model" in text
    text = game.static_game(won, lost, {}, 10, 10)
    assert "**trainer** wins" in text and "does not even carry over" in text
    bad = OracleReport(False, 10, 3, 0.05, 0.1, {})
    assert "3 over budget" in game.static_game(
        StaticResult("a", "m", 0.1, "trainer", 0.9, {}, bad), None, {}, 7, 10
    )


def test_dynamic_game_says_whether_the_retroactive_trainer_wins():
    wins = [_round(1, 0.8), _round(2, 0.1, "new"), _round(3, 0.2, "new", "lowkey")]
    assert game.trainer_wins_from(wins, 2)
    text = game.dynamic_game(wins, [_round(1, 0.8), _round(2, 0.8)], 2)
    assert "wins every round after" in text and "even after the user switches" in text
    loses = [_round(1, 0.8), _round(2, 0.7, "new")]
    assert not game.trainer_wins_from(loses, 2)
    assert "does NOT win" in game.dynamic_game(loses, loses, 2)
    assert "never offers a newer model" in game.dynamic_game(loses[:1], loses[:1], None)
    oracle = OracleReport(True, 10, 0, 0.01, 0.03, {})
    static = StaticResult("fawkes_v03", "m", 0.6, "user", 0.9, {}, oracle, 0.05)
    assert "only the first slice" in game.dynamic_game(wins, wins, 2, static)


def test_newer_or_another_needs_the_control_to_keep_the_protection():
    newest, kept, lost = _round(4, 0.1, "new"), _round(4, 0.7, "seed2"), _round(4, 0.2, "seed2")
    text, holds = game.newer_or_another(newest, kept)
    assert holds and "waited for a *newer* model" in text
    text, holds = game.newer_or_another(newest, lost)
    assert not holds and "any other model would do" in text
    text, holds = game.newer_or_another(_round(4, 0.8, "new"), kept)
    assert not holds and "does not win either" in text
    text, holds = game.newer_or_another(newest, None)
    assert not holds and "no seed control" in text


def test_robust_training_verdicts():
    good = robust.what_we_measured(
        "b",
        ATTACKS,
        dict.fromkeys(ATTACKS, 0.8),
        0.1,
        dict.fromkeys(ATTACKS, 0.12),
        0.05,
        dict.fromkeys(ATTACKS, 0.7),
        0.05,
        {"nn": (0.1, 0.8)},
    )
    assert good[1] and good[2] and good[3] and "does **not** hold" not in good[0]
    assert "cloaked pictures are what breaks" in good[0]
    bad = robust.what_we_measured(
        "b",
        ATTACKS,
        dict.fromkeys(ATTACKS, 0.3),
        0.1,
        dict.fromkeys(ATTACKS, 0.5),
        0.05,
        dict.fromkeys(ATTACKS, 0.5),
        0.05,
        {"nn": (0.5, 0.3)},
    )
    assert not any(bad[1:]) and "still above" in bad[0] and "nothing to break" in bad[0]
    assert "did not make the difference" in bad[0]
    no_need = robust.what_we_measured(
        "b",
        ATTACKS,
        dict.fromkeys(ATTACKS, 0.8),
        0.1,
        dict.fromkeys(ATTACKS, 0.1),
        0.05,
        dict.fromkeys(ATTACKS, 0.1),
        0.05,
        {"nn": (0.1, 0.8)},
    )
    assert not no_need[3] and "Fine-tuning alone" in no_need[0]


def test_baseline_choice_says_who_crafted_against_it():
    assert "era. None of the 3 attacks" in robust.baseline_choice("b", [], 3, 0.05)
    assert "1 of the 3 attacks" in robust.baseline_choice("b", ["fawkes_v03"], 3, 0.05)


def _metrics(acc, auc, recall=None):
    return {"accuracy": acc, "precision": acc, "recall": recall or acc, "auc": auc}


def test_frame_control_says_whether_the_border_matters():
    det = {"fawkes_high": _metrics(0.99, 0.999), "lowkey": _metrics(0.99, 0.999)}
    text, ok = detection.frame_control(det, det)
    assert ok and "not only its frame" in text
    text, ok = detection.frame_control(det, {**det, "lowkey": _metrics(0.6, 0.7)})
    assert not ok and "largest drop lowkey" in text


def test_frame_mechanism_follows_the_ratios():
    text = detection.frame_mechanism({"fawkes_high": 2.4, "lowkey": 2.9}, 4, 64, 11)
    assert "spend their budget there" in text and "fawkes_high 2.4x" in text
    assert "29% of the picture" in text  # 1 - 54**2 / 64**2 = 0.288
    text = detection.frame_mechanism({"fawkes_high": 1.1}, 4, 224, 11)
    assert "do not concentrate" in text and "9% of the picture" in text


def test_detection_summary_follows_the_numbers():
    det = {k: _metrics(0.99, 0.999) for k in ("fawkes_low", "fawkes_mid", "fawkes_high", "lowkey")}
    lopsided = {
        "fawkes->lowkey": _metrics(0.99, 0.99),
        "lowkey->fawkes_high": _metrics(0.7, 0.98, recall=0.4),
    }
    text = detection.summary({"detection": det, "transfer": lopsided}, 20, 25, 80, 50)
    assert "**reproduces**" in text and "lopsided" in text
    det["lowkey"] = _metrics(0.6, 0.7)
    even = {"fawkes->lowkey": _metrics(0.6, 0.6), "lowkey->fawkes_high": _metrics(0.6, 0.6)}
    text = detection.summary({"detection": det, "transfer": even}, 20, 25, 80, 50)
    assert "does NOT fully reproduce" in text and "does not reproduce here" in text


def test_timeline_sentences():
    ok = timeline.own_vs_newest(
        dict.fromkeys(ATTACKS, 0.9), dict.fromkeys(ATTACKS, 0.1), "new", 0.05
    )
    assert ok[1] and ok[2] and "wins by waiting" in ok[0]
    no = timeline.own_vs_newest(
        dict.fromkeys(ATTACKS, 0.5), dict.fromkeys(ATTACKS, 0.5), "new", 0.05
    )
    assert not no[1] and not no[2] and "does not reproduce" in no[0]
    assert "3 of 3" in timeline.unprotected({a: [0.9, 0.5, 0.2] for a in ATTACKS})
    assert "0 of 3" in timeline.unprotected({a: [0.2, 0.3, 0.4] for a in ATTACKS})
    assert "give the user away" in timeline.mixed_versions("m", 0.1, 0.3, 0.9)
    assert "keeps most" in timeline.mixed_versions("m", 0.1, 0.85, 0.9)
    assert "Vulnerable to: lowkey" in timeline.tuned_vulnerability("t", {}, 0.1, ["lowkey"], None)
    assert "we add **x**" in timeline.tuned_vulnerability("t", {}, 0.1, [], "x")
    best = {
        "lowkey": {
            "tuned_protection_rate": 0.8,
            "tuned_clean_accuracy": 0.9,
            "alpha": 0.6,
            "clean_accuracy": 0.88,
            "protection_rate": 0.3,
            "protection_drop": 0.5,
        }
    }
    assert "at least 20 points more robust" in timeline.interpolation(best, {"lowkey": 0.1}, "x")
    best["lowkey"]["protection_drop"] = 0.05
    assert "does not reproduce" in timeline.interpolation(best, {"lowkey": 0.1}, "x")


def test_systems_criteria_and_collusion():
    systems_ok = {
        "accurate_top1": {"clean_accuracy": 0.95, "protection_rate": 0.9},
        "robust_top1": {"clean_accuracy": 0.8, "protection_rate": 0.1},
    }
    for c in systems.COMBINED:
        systems_ok[c] = {"clean_accuracy": 0.95, "protection_rate": 0.12}
    out = {
        "systems": systems_ok,
        "threshold": 1.0,
        "rerouted_fraction": 0.01,
        "rerouted_fraction_with_detector": 0.02,
    }
    acc_ok, prot_ok = systems.criteria(systems_ok)
    assert all(acc_ok.values()) and all(prot_ok.values())
    assert "detector wins it back" in systems.what_we_measured(out, 0.8, 0.2, 0.1)
    assert "do **not** separate" in systems.what_we_measured(out, 0.3, 0.3, 0.1)
    systems_ok["combined_top2"] = {"clean_accuracy": 0.5, "protection_rate": 0.9}
    acc_ok, prot_ok = systems.criteria(systems_ok)
    assert not acc_ok["combined_top2"] and not prot_ok["combined_top2"]


def test_systems_premise_follows_the_accuracies():
    s = {
        "accurate_top1": {"clean_accuracy": 0.95, "protection_rate": 0.9},
        "robust_top1": {"clean_accuracy": 0.8, "protection_rate": 0.1},
    }
    text, more = systems.premise(s, "acc", "rob")
    assert more and "reason to combine" in text
    s["robust_top1"]["clean_accuracy"] = 0.97
    text, more = systems.premise(s, "acc", "rob")
    assert not more and "needs no partner" in text


def test_realism_sentence_names_the_gap():
    base = {"threshold": 0.6, "diff_under_threshold": 0.9, "same_under_threshold": 0.99}
    reports = {"dlib-resnet": {**base, "nn_accuracy": 0.5}, "ours": {"nn_accuracy": 0.9}}
    assert "colour and texture" in realism.generated_faces(reports, "dlib-resnet", 0.93)
    reports["dlib-resnet"]["nn_accuracy"] = 0.95
    assert "identity lives in the faces" in realism.generated_faces(reports, "dlib-resnet", 0.9)


def test_selfcheck_sentences():
    assert "do NOT match" in selfcheck.intervals(False, 6, 0.5, 0.3)
    summary = pd.DataFrame(
        {"mean": [0.9, 0.2], "min": [0.85, 0.0], "max": [1.0, 0.4]}, index=["old", "new"]
    )
    assert "Fooled on every split: old" in selfcheck.stability(summary, "new", 5, 0.8)
    summary["min"] = 0.0
    assert "No recogniser is fooled" in selfcheck.stability(summary, "new", 5, 0.8)
