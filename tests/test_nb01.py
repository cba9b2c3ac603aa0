"""Notebook 01 end to end (quick profile): results file and the issue's done criteria."""

import pytest

from .helpers import ROUND_KEYS
from .nbrun import run_notebook

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


def test_threat_model_game_notebook():
    r = run_notebook("01_threat_model_game")
    for key in ("notebook", "profile", "seed", "runtime_s", "data", "static", "rounds"):
        assert key in r
    assert r["profile"] == "quick"
    static = r["static"]
    assert 0.0 <= static["protection_rate"] <= 1.0
    assert static["winner"] == (
        "user" if static["protection_rate"] >= r["win_threshold"] else "trainer"
    )
    assert static["oracle"]["passed"], static["oracle"]
    # the static game is played against the attack's surrogate and the trainer's model of
    # that era, with the same users' clean error beside each protection rate
    cont = r["static_contemporary"]
    assert cont["model"] == r["timeline"]["1"][-1] != static["model"]
    for res in (static, cont):
        assert res["excess_protection"] == pytest.approx(
            res["protection_rate"] - res["clean_error"]
        )
    rounds = r["rounds"]
    assert len(rounds) >= 4
    assert [x["round"] for x in rounds] == list(range(1, len(rounds) + 1))
    for x in rounds:
        assert ROUND_KEYS <= set(x)
        assert x["trainer_strategy"] == "retroactive"
        assert x["winner"] in ("user", "trainer")
        assert x["winner"] == ("user" if x["protection_rate"] >= r["win_threshold"] else "trainer")
    assert set(r["rounds_by_strategy"]) == {"static", "newest_on_new_data", "retroactive"}
    # a newer model appears, and the retroactive trainer wins every round from then on
    new = r["first_new_model_round"]
    assert new is not None and new <= len(rounds)
    assert rounds[new - 1]["trainer_model"] != rounds[0]["trainer_model"]
    assert all(x["winner"] == "trainer" for x in rounds[new - 1 :]), rounds
    assert r["retroactive_wins_after_new_model"] is True
    assert r["panel_default_matches"] is True
    # the seed control: the same game with a same-era model instead of newer ones
    control = r["newer_not_another"]
    assert (
        control["seed_control"] and control["control"]["trainer_model"] == control["seed_control"]
    )
    assert control["holds"] == (
        control["newest"]["winner"] == "trainer" and control["control"]["winner"] == "user"
    )
    assert r["runtime_s"] < 600
