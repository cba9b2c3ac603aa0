"""Each profile says, in one place, what it is; its names exist and agree with each other."""

import pytest

from facecure_lib import zoo
from facecure_lib.models.pretrained import PRETRAINED
from facecure_lib.profiles import ATTACK_KEYS, PAPER, QUICK, get_profile


def test_get_profile_validates_names():
    assert get_profile("quick") is QUICK and get_profile("PAPER") is PAPER
    with pytest.raises(ValueError, match="valid profiles"):
        get_profile("fast")


@pytest.mark.parametrize(
    "profile, registry",
    [(QUICK, zoo.QUICK_ZOO), (PAPER, {**zoo.registry("paper"), **zoo.derived()})],
)
def test_every_named_model_exists(profile, registry):
    t = profile.timeline
    names = [
        *t.timeline,
        *profile.game_models,
        *t.off_timeline,
        *(n for n in (t.seed_control, t.generic, t.tuned) if n),
        *(n for a in ATTACK_KEYS for n in profile.contemporary_names(a)),
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


def test_paper_timeline_is_unseen_and_ordered_by_year():
    t = PAPER.timeline
    surrogates = {s for a in ATTACK_KEYS for s in PAPER.surrogate_names(a)}
    assert set(t.off_timeline) == surrogates and not surrogates & set(t.timeline)
    years = [zoo.info(n).year for n in t.timeline]
    assert years == sorted(years) and years[0] == 2017 and years[-1] >= 2022
    assert t.timeline == ("dlib-resnet", "arcface-r50-webface600k", *t.timeline[2:])
    assert t.generic in PRETRAINED and zoo.info(t.tuned).year >= zoo.info(t.generic).year
    assert t.tuned in zoo.derived() and t.tuned not in zoo.available("paper")  # trains on load
    assert PAPER.clip_tuning is not None and QUICK.clip_tuning is None
    assert any("arcface" in zoo.info(n).recipe.lower() for n in t.timeline)  # a margin loss


def test_paper_contemporaries_follow_the_rule():
    """Contemporaries: no newer than the attack's newest surrogate, and never its surrogates."""
    for attack in ATTACK_KEYS:
        own = PAPER.surrogate_names(attack)
        newest = max(zoo.info(s).year for s in own)
        expected = {n for n in zoo.registry("paper") if zoo.info(n).year <= newest and n not in own}
        assert set(PAPER.contemporary_names(attack)) == expected, attack
    for attack in ATTACK_KEYS:  # the quick world: on the timeline, never the attack's surrogates
        quick = set(QUICK.contemporary_names(attack))
        assert quick <= set(QUICK.timeline.timeline) | {QUICK.timeline.seed_control}
        assert not quick & set(QUICK.surrogate_names(attack))
