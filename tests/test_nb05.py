import pytest

from facecure_lib.systems import SYSTEMS

from .nbrun import COMMON_KEYS, run_notebook

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


def test_top2_and_thresholding_notebook():
    r = run_notebook("05_top2_and_thresholding")
    for key in (
        *COMMON_KEYS,
        "systems",
        "threshold",
        "rerouted_fraction",
        "arms_race",
    ):
        assert key in r
    s = r["systems"]
    assert set(s) == set(SYSTEMS)
    for v in s.values():
        assert 0 <= v["clean_accuracy"] <= 1 and 0 <= v["protection_rate"] <= 1
    assert set(r["arms_race"]) >= {"targeted_vs_threshold", "targeted_vs_threshold_with_detector"}
    # the threshold is set on calibration users and rerouting measured on the others
    assert r["rerouted_fraction_calibration"] < 0.02
    assert 0 <= r["rerouted_fraction"] <= 0.10, r["rerouted_fraction"]
    assert r["n_calibration_probes"] > 0 and r["n_clean_probes"] > 0
    assert set(r["systems_per_attack"]) == {"fawkes_v03", "fawkes_v10", "lowkey"}
    # the accurate model is the most accurate of the trainer's models (validation people)
    cands = {k: v for k, v in r["accurate_candidates"].items() if not k.startswith("robust")}
    assert r["accurate_model"] == max(cands, key=cands.get)
    assert r["detector"]["train_attack"] == "fawkes_v03"  # the colluders' attack (App. D)
    c = r["criteria"]
    assert c["accurate_more_accurate"] == (
        s["accurate_top1"]["clean_accuracy"] > s["robust_top1"]["clean_accuracy"]
    )
