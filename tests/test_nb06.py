import pytest

from facecure_lib.profiles import QUICK
from facecure_lib.selfcheck import REPORT_FILES

from .nbrun import COMMON_KEYS, run_notebook

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


def test_check_your_own_cloak_notebook():
    r = run_notebook("06_check_your_own_cloak")
    for key in (
        *COMMON_KEYS,
        "protection",
        "n_probes",
        "unprotected_error",
        "interval",
        "verdict",
        "limits",
        "detection",
        "perturbation",
        "split_seeds",
        "report_files",
        "input_unchanged",
        "cli_matches_library",
    ):
        assert key in r, key
    prot = r["protection"]
    assert len(prot) >= 4 and r["n_recognisers"] == len(prot)
    assert r["n_probes"] >= 3 and r["n_photos"] > r["n_probes"]
    for name, rate in prot.items():
        lo, hi = r["interval"][name]
        assert 0 <= lo <= rate <= hi <= 1
        assert len(r["split_seeds"][name]) >= 2
    # the report is written next to the photos, they are unchanged, the CLI agrees
    assert set(r["report_files"]) >= set(REPORT_FILES)
    assert r["input_unchanged"] is True and r["cli_matches_library"] is True
    assert r["newest"] in r["verdict"] and any("test photo" in s for s in r["limits"])
    assert r["newest_outcome"] == r["outcome"][r["newest"]]
    assert set(r["cloak_helps"]) == set(prot)
    assert set(r["cloak_helps"].values()) <= {"helps", "cannot tell", "no help"}
    assert len(r["exercises"]) >= 4
    # the pipeline keeps cloaks paired: white-box, the attack beats its own surrogates
    surr = [n for n in QUICK.surrogates[r["attack"]] if n in prot]
    if surr:
        assert sum(prot[n] for n in surr) > sum(r["unprotected_error"][n] for n in surr)
    assert r["runtime_s"] < 600  # budget: 3 minutes on 2 idle cores (measured in the report)
