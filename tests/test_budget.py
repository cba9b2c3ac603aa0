"""The step cap (`MAX_STEPS`), the paper profile's per-notebook choices, and the caps on the
paper profile's faces."""

from __future__ import annotations

import pytest
import torch

from facecure_lib import budget
from facecure_lib.attacks import attack_fingerprint, attack_params
from facecure_lib.clip_tuning import ClipTuningConfig
from facecure_lib.data.paper_data import at_most_pictures
from facecure_lib.profiles import PAPER, QUICK, RobustConfig, get_profile
from facecure_lib.zoo import QUICK_ZOO

from .helpers import colour_dataset


@pytest.fixture(autouse=True)
def _no_cap():
    yield
    budget.set_max_steps(None)


def test_cap_limits_every_attack_and_is_recorded():
    full = attack_fingerprint("fawkes_v03", None, "paper")
    budget.set_max_steps(3)
    for attack in ("fawkes_v03", "fawkes_v10", "lowkey"):
        _, params, scaled = attack_params(attack, None, "paper")
        assert params["steps"] == 3 and scaled["steps"]["used"] == 3
    assert attack_fingerprint("fawkes_v03", None, "paper") != full  # cloak caches differ
    _, params, _ = attack_params("fawkes_v10", "low", "quick", steps=2)  # below the cap
    assert params["steps"] == 2
    budget.set_max_steps(None)
    assert attack_params("fawkes_v03", None, "paper")[1]["steps"] == 500


def test_cap_on_configs_and_bad_values():
    config = ClipTuningConfig(steps=150)
    assert budget.capped_config(config, "steps") is config  # no cap: the same object
    budget.set_max_steps(2)
    assert budget.capped_config(config, "steps").steps == 2
    robust = budget.capped_config(PAPER.robust, "steps", "probe_steps")
    assert (robust.steps, robust.probe_steps, robust.batch_size) == (2, 2, 32)
    assert budget.capped(1) == 1
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="max_steps"):
            budget.set_max_steps(bad)


def test_cap_is_part_of_quick_zoo_keys(tmp_cache):
    from facecure_lib.scenario import load_scenario
    from facecure_lib.zoo import weights_key

    scenario = load_scenario("quick", 0, dataset=colour_dataset(), n_attackers=1, progress=False)
    full = weights_key("era1_softmax", scenario)
    budget.set_max_steps(1)
    assert weights_key("era1_softmax", scenario) != full


def test_profiles_name_their_own_models():
    quick_names = set(QUICK_ZOO)
    for profile in (QUICK, PAPER):
        assert profile.robust.base and profile.accurate_candidates
    assert PAPER.robust.base == "facenet-casia-webface"
    assert (PAPER.robust.loss, PAPER.robust.steps, PAPER.robust.batch_size) == ("softmax", 500, 32)
    assert not quick_names & {PAPER.robust.base, *PAPER.accurate_candidates, *PAPER.game_models}
    assert {QUICK.robust.base, *QUICK.accurate_candidates} <= quick_names
    # notebooks 02 and 05 build the same config: None keeps the profile's value
    assert get_profile("paper").robust_with(base=None, steps=None) == PAPER.robust
    assert get_profile("quick").robust_with(steps=10).steps == 10
    assert QUICK.robust == RobustConfig()  # the shipped robust extractor's key is unchanged


def test_collusion_mode_comes_from_the_profile(monkeypatch):
    from facecure_lib import systems

    seen = []
    monkeypatch.setattr(systems, "cloak", lambda *a, mode=None, **k: seen.append(mode) or _Result())
    monkeypatch.setattr(systems, "_centroid", lambda model, pics: torch.zeros(4))

    class _Proto:
        def user_train_images(self, u):
            return torch.rand(2, 3, 8, 8)

    systems.targeted_collusion_cloaks(_Proto(), [(0, 1)], object(), None, 0, "paper")
    systems.targeted_collusion_cloaks(_Proto(), [(0, 1)], object(), None, 0, "quick")
    systems.targeted_collusion_cloaks(_Proto(), [(0, 1)], object(), "low", 0, "paper")
    assert seen == [PAPER.collusion_mode, None, "low"]


class _Result:
    images = torch.zeros(2, 3, 8, 8)


def test_at_most_pictures_per_person():
    ds = colour_dataset(n_ids=3, per_id=12)
    small = at_most_pictures(ds, 10, seed=0)
    counts = torch.bincount(small.labels)
    assert counts.tolist() == [10, 10, 10] and small.meta["max_pictures_per_identity"] == 10
    assert at_most_pictures(ds, 10, seed=0).fingerprint() == small.fingerprint()  # seeded
    assert at_most_pictures(ds, 12) is ds
    with pytest.raises(ValueError, match="max_pictures"):
        at_most_pictures(ds, 1)


def test_robust_subsets_leave_a_target_outside(tmp_cache):
    from facecure_lib.defenses.robust import public_subset
    from facecure_lib.scenario import load_scenario

    scenario = load_scenario("paper", 0, dataset=colour_dataset(n_ids=6), progress=False)
    subset = public_subset(scenario, 0, n_identities=48, per_identity=2)
    assert len(subset) == len(scenario.public) - 1
