import pytest

from .nbrun import run_notebook

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

SYSTEMS = (
    "accurate_top1",
    "accurate_top2",
    "robust_top1",
    "combined_top2",
    "combined_threshold",
    "combined_threshold_detector",
)


def test_top2_and_thresholding_notebook():
    r = run_notebook("05_top2_and_thresholding")
    for key in (
        "notebook",
        "profile",
        "seed",
        "runtime_s",
        "data",
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
    # done criteria (quick profile)
    assert r["rerouted_fraction"] < 0.02
    for name in ("combined_top2", "combined_threshold", "combined_threshold_detector"):
        assert s[name]["clean_accuracy"] >= s["accurate_top1"]["clean_accuracy"] - 0.01, name
        assert s[name]["protection_rate"] <= s["robust_top1"]["protection_rate"] + 0.05, name
