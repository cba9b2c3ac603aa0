"""Each profile says, in one place, what it is; its names exist and agree with each other."""

import pytest

from facecure_lib import zoo
from facecure_lib.models.pretrained import PRETRAINED
from facecure_lib.profiles import ATTACK_KEYS, PAPER, QUICK, get_profile


def test_get_profile_validates_names():
    assert get_profile("quick") is QUICK and get_profile("PAPER") is PAPER
    with pytest.raises(ValueError, match="valid profiles"):
        get_profile("fast")


@pytest.mark.parametrize("profile, registry", [(QUICK, zoo.QUICK_ZOO), (PAPER, PRETRAINED)])
def test_every_named_model_exists(profile, registry):
    t = profile.timeline
    names = [
        *t.timeline,
        *profile.game_models,
        *(n for n in (t.seed_control, t.generic, t.tuned) if n),
    ]
    names += [s for a in ATTACK_KEYS for s in profile.surrogate_names(a)]
    assert set(names) <= set(registry), set(names) - set(registry)
    assert set(profile.surrogates) == set(ATTACK_KEYS)


def test_quick_profile_has_the_controls_the_timeline_needs():
    t = QUICK.timeline
    assert len(t.timeline) >= 5 and t.seed_control and t.generic and t.tuned
    assert t.seed_control not in t.timeline
    assert QUICK.robust.base in zoo.QUICK_ZOO
    assert PAPER.timeline.seed_control is None and PAPER.detector.backbone == "mobilenet_v2"


def test_unknown_attack_is_named():
    with pytest.raises(ValueError, match="Unknown attack"):
        QUICK.surrogate_names("glaze")
