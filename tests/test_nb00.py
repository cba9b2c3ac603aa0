import pytest

from facecure_lib.profiles import QUICK

from .nbrun import run_notebook

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


def test_quickstart_notebook():
    r = run_notebook("00_quickstart")
    for key in ("notebook", "profile", "seed", "runtime_s", "data", "clean_accuracy"):
        assert key in r
    assert r["profile"] == "quick" and r["data"]["identities"] > 0 and r["data"]["images"] > 0
    acc = r["clean_accuracy"]
    assert len(acc) >= 4
    best, worst = max(acc.values()), min(acc.values())
    assert best >= 0.90, acc
    assert worst <= best - 0.05, acc  # the weakest recipe is clearly below the best
    # the generated data is not trivial: pictures alone, without face labels (the generic
    # self-supervised model) or with another world's training (dlib), recognise far less
    assert acc[QUICK.timeline.generic] <= best - 0.2, acc
    assert acc["dlib-resnet"] <= best - 0.2, acc
    # the student's first cloak: made against the profile's first Fawkes v1.0 surrogate,
    # measured there and on a contemporary it never saw, inside its L-inf budget
    cloak = r["my_cloak"]
    assert cloak["white_box"]["model"] == QUICK.surrogates["fawkes_v10"][0]
    assert cloak["unseen"]["model"] == QUICK.contemporaries["fawkes_v10"][0]
    assert cloak["linf_255"] <= cloak["eps"] * 255 + 1e-3 and cloak["white_box"]["shift"] > 0
    assert cloak["outcome"] in ("fooled", "recognised")
    assert len(r["exercises"]) >= 3
