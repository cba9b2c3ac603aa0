import pytest

from .nbrun import run_notebook

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

ATTACKS = ("fawkes_v03", "fawkes_v10", "lowkey")


def test_adaptive_robust_training_notebook():
    r = run_notebook("02_adaptive_robust_training")
    for key in ("notebook", "profile", "seed", "runtime_s", "data", "baseline", "robust", "modes"):
        assert key in r
    for side in ("baseline", "robust"):
        block = r[side]
        assert set(block["protection_rate"]) == set(ATTACKS)
        assert all(len(block["protection_rate_per_user"][a]) >= 5 for a in ATTACKS)
        assert 0 <= block["clean_error"] <= 1
    assert set(r["modes"]) == {"nn", "linear", "end_to_end"}
    for mode in r["modes"].values():
        assert set(mode) == {"baseline", "robust"}
        assert set(mode["robust"]["protection_rate"]) == set(ATTACKS)
    attackers = set(r["data"]["attackers"])
    assert attackers and sum(r["data"]["public_identities"].values()) > 0


def test_adaptive_robust_training_baseline_criteria():
    """The baseline (era-3 ArcFace, reached by transfer only) is fooled by Fawkes v1.0 and
    LowKey at a low clean error; Fawkes v0.3 does not transfer (docs/quick_world.md)."""
    r = run_notebook("02_adaptive_robust_training")
    base = r["baseline"]
    assert sum(base["protection_rate"][a] >= 0.5 for a in ATTACKS) >= 2, base["protection_rate"]
    assert base["clean_error"] <= 0.15
    assert base["seen_by"] == []
    # robust training beats its control (the same fine-tuning without cloaks) on every attack
    # the baseline is fooled by
    rob, ctl = r["robust"], r["control"]
    for a in ATTACKS:
        if base["protection_rate"][a] >= 0.5:
            assert rob["protection_rate"][a] < ctl["protection_rate"][a] - 0.2, (a, rob, ctl)


# Measured on SEED 0 (2026-12-01, robust settings re-chosen on validation people: 150 cloaked
# people per attack, 2,000 steps): robust v03/v10/lowkey 0.00/0.01/0.01 at clean error 0.00
# (control 0.00/0.53/0.76). With the earlier 48 people per attack LowKey kept 0.40.
def test_adaptive_robust_training_done_criteria():
    r = run_notebook("02_adaptive_robust_training")
    rob = r["robust"]
    for a in ATTACKS:
        assert rob["protection_rate"][a] <= rob["clean_error"] + 0.10, (a, rob)
