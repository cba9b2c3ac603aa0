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
    assert attackers and r["data"]["public_identities"] > 0


# Holds for SEED=0 (robust v03/v10/lowkey 0.00/0.04/0.02 at clean error 0.00), not for SEED=1
# (0.06/0.29/0.25 at 0.02), measured with the default RobustConfig; the defenses issue re-runs
# it on SEEDs 0-2 (`make seeds`).
def test_adaptive_robust_training_done_criteria():
    r = run_notebook("02_adaptive_robust_training")
    base, rob = r["baseline"], r["robust"]
    assert sum(base["protection_rate"][a] >= 0.5 for a in ATTACKS) >= 2, base["protection_rate"]
    assert base["clean_error"] <= 0.20
    for a in ATTACKS:
        assert rob["protection_rate"][a] <= rob["clean_error"] + 0.10, (a, rob)
