"""Notebook 04 (oblivious timeline): the issue's done criteria on its results file."""

import pytest

from .nbrun import COMMON_KEYS, run_notebook

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]
ATTACKS = ("fawkes_v03", "fawkes_v10", "lowkey")


@pytest.fixture(scope="module")
def results():
    return run_notebook("04_oblivious_timeline")


def test_results_contract(results):
    for key in (
        *COMMON_KEYS,
        "timeline",
        "contemporary_transfer",
        "newest",
        "mixed_versions",
        "unprotected_fraction",
        "interpolation",
    ):
        assert key in results, key
    assert len(results["timeline"]) >= 5
    for row in results["timeline"]:
        assert {"model", "era", "seen_by", "clean_error", "protection_rate"} <= set(row)
        for a in ATTACKS:
            assert row["excess_protection"][a] == pytest.approx(  # results keep 6 decimals
                row["protection_rate"][a] - row["clean_error"], abs=2e-6
            )
            lo, hi = row["excess_interval"][a]
            assert lo - 2e-6 <= row["excess_protection"][a] <= hi + 2e-6
    # surrogates are evaluated beside the timeline, seen by the attacks that used them
    rows = {r["model"]: r for r in results["timeline"]}
    for attack, names in results["surrogates"].items():
        for n in names:
            assert attack in rows[n]["seen_by"]
    for attack, block in results["contemporary_transfer"].items():
        assert attack not in rows[block["model"]]["seen_by"]
        assert block["model"] in results["contemporaries"][attack]
    assert results["newest"]["model"] == results["timeline"][-1]["model"]
    assert all({"fraction", "protection_rate"} <= set(r) for r in results["unprotected_fraction"])
    assert all(
        {"alpha", "clean_accuracy", "protection_rate"} <= set(r) for r in results["interpolation"]
    )
    assert results["runtime_s"] < 600  # budget: 5 min on an idle 2-core machine (shared here)


def test_attacks_work_on_their_own_surrogates(results):
    """White-box: every attack protects on at least one of its own surrogates."""
    rows = {r["model"]: r for r in results["timeline"]}
    for attack, names in results["surrogates"].items():
        own = max(rows[n]["excess_protection"][attack] for n in names)
        assert own >= 0.40, (attack, own)


def test_protection_falls_with_unprotected_pictures(results):
    levels = results["unprotected_fraction"]
    assert levels[0]["fraction"] == 0 and levels[-1]["fraction"] >= 0.4
    for attack in ATTACKS:
        rates = [lvl["protection_rate"][attack] for lvl in levels]
        assert rates[-1] < rates[0], (attack, rates)
        assert all(b <= a + 0.05 for a, b in zip(rates, rates[1:])), (attack, rates)


def test_synthesis_states_the_pattern_from_the_numbers(results):
    from facecure_lib.narrative.timeline import synthesis

    text, pattern = synthesis(results["contemporary_transfer"], results["newest"])
    assert pattern == results["pattern_holds"] and text == results["synthesis"]
