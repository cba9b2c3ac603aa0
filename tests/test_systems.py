"""Fast tests of facecure_lib.systems on tiny known-answer data."""

from __future__ import annotations

import pytest
import torch

from facecure_lib import systems
from facecure_lib.exercises import ExerciseFailed
from facecure_lib.exercises import nb05 as checks
from facecure_lib.recognition import Protocol

from .helpers import colour_dataset, mean_colour_extractor


def _protocol(n_ids: int = 8, per_id: int = 10, attackers: int = 2) -> Protocol:
    return Protocol.build(colour_dataset(n_ids, per_id), list(range(n_ids)), attackers)


def _pictures_of(proto: Protocol, who: int, n: int) -> torch.Tensor:
    return proto.ds.float_images(proto.ds.indices_of(who)[:n])


def test_calibrate_threshold_known_answers():
    assert systems.calibrate_threshold(torch.arange(100.0), 0.02) == 98.0
    assert systems.calibrate_threshold(torch.tensor([4.0, 1.0, 3.0, 2.0]), 0.5) == 3.0
    d = torch.rand(1000)
    t = systems.calibrate_threshold(d, 0.02)
    assert float((d > t).float().mean()) < 0.02
    assert int((d > t).sum()) == 19
    with pytest.raises(ValueError):
        systems.calibrate_threshold(torch.tensor([]))


def test_answers_correct_per_system():
    ans = systems.Answers(
        truth=torch.tensor([0, 1, 2, 3]),
        acc_top2=torch.tensor([[0, 5], [5, 1], [5, 6], [5, 6]]),
        acc_dist=torch.tensor([0.1, 0.9, 0.9, 0.1]),
        acc_match=torch.zeros(4, dtype=torch.long),
        rob_top1=torch.tensor([9, 1, 2, 3]),
        match_cloaked=torch.tensor([False, False, False, True]),
    )
    t = 0.5
    assert ans.correct("accurate_top1", t).tolist() == [True, False, False, False]
    assert ans.correct("accurate_top2", t).tolist() == [True, True, False, False]
    assert ans.correct("robust_top1", t).tolist() == [False, True, True, True]
    assert ans.correct("combined_top2", t).tolist() == [True, True, True, True]
    assert ans.correct("combined_threshold", t).tolist() == [True, True, True, False]
    assert ans.correct("combined_threshold_detector", t).tolist() == [True, True, True, True]
    assert ans.rerouted(t).tolist() == [False, True, True, False]
    assert ans.rerouted(t, with_detector=True).tolist() == [False, True, True, True]
    with pytest.raises(ValueError, match="valid"):
        ans.correct("top3", t)


def test_evaluate_systems_on_colours():
    proto = _protocol()
    model = mean_colour_extractor()
    victim = next(i for i in range(8) if i not in proto.attackers)
    cloaks = {u: _pictures_of(proto, victim, len(proto.user_train_idx(u))) for u in proto.attackers}
    clean = {u: proto.user_train_images(u) for u in proto.attackers}
    res = systems.evaluate_systems(
        model, model, proto, {"swap": cloaks, "none": clean}, max_rerouted=0.02
    )
    out = res.to_dict()
    assert set(out["systems"]) == set(systems.SYSTEMS)
    # calibrated on half of the non-attacking people, measured on the other half
    assert out["rerouted_fraction_calibration"] < 0.02
    cal, held = set(res.calibration.truth.tolist()), set(res.clean.truth.tolist())
    assert cal and held and not cal & held and not (cal | held) & set(proto.attackers)
    assert set(out["systems_per_attack"]) == {"swap", "none"}
    for name in systems.SYSTEMS:
        assert out["systems"][name]["clean_accuracy"] == pytest.approx(1.0)
        assert res.protection_rate("none")[name] == pytest.approx(0.0)
    # the swap makes every model answer `victim`, so nothing recovers the attackers
    assert res.protection_rate("swap")["combined_threshold"] == pytest.approx(1.0)

    def detector(x):  # flags every picture of the victim's colour, cloaked or not
        return (x.mean(dim=(1, 2, 3)) - cloaks[proto.attackers[0]].mean()).abs() < 0.02

    res_d = systems.evaluate_systems(model, model, proto, {"swap": cloaks}, detector)
    assert res_d.rerouted_fraction(with_detector=True) > res_d.rerouted_fraction()


def test_collusion_pairs_and_known_answer():
    assert systems.collusion_pairs([3, 5, 9, 11, 12]) == [(3, 5), (9, 11)]
    proto = _protocol(8, 10, 4)
    model = mean_colour_extractor()
    pairs = systems.collusion_pairs(proto.attackers)
    third = next(i for i in range(8) if i not in proto.attackers)
    # a perfect targeted collusion: the helper uploads pictures of the protected user's colour
    helper = {h: _pictures_of(proto, b, len(proto.user_train_idx(h))) for h, b in pairs}
    own = {b: _pictures_of(proto, third, len(proto.user_train_idx(b))) for _, b in pairs}
    res = systems.evaluate_systems(model, model, proto, {"x": own})
    col = systems.collusion_protection(model, model, proto, pairs, helper, own, res.threshold)
    for _, b in pairs:
        assert col["accurate_top1"][b] == pytest.approx(1.0)
        assert col["combined_threshold"][b] == pytest.approx(1.0)  # confident, never rerouted


def test_targeted_collusion_cloaks_move_toward_protected(tmp_cache):
    from facecure_lib.models.base import Extractor
    from facecure_lib.models.nets import build_backbone

    torch.manual_seed(0)
    net = Extractor(build_backbone("cnn", (8, 16), 16), "tiny", 32, cache_key="tiny-coll").eval()
    proto = _protocol(6, 10, 2)
    ((h, b),) = systems.collusion_pairs(proto.attackers)
    out = systems.targeted_collusion_cloaks(proto, [(h, b)], net, mode="high", steps=25)
    pics = proto.user_train_images(h)
    assert out[h].shape == pics.shape
    with torch.no_grad():
        c_b = net(proto.user_train_images(b)).mean(0)
        before = (net(pics) - c_b).norm(dim=1).mean()
        after = (net(out[h]) - c_b).norm(dim=1).mean()
    assert after < before


def test_checks_accept_solutions_and_reject_mistakes():
    assert checks.check_calibrate_threshold(systems.calibrate_threshold)
    assert checks.check_threshold_answer(lambda a, d, r, t: systems.threshold_answer(a, d, r, t))

    def quantile(d, m):  # reroutes exactly m of them, not fewer
        return float(torch.quantile(torch.as_tensor(d).float(), 1 - m))

    def too_high(d, m):
        return float(torch.as_tensor(d).max())

    for bad in (quantile, too_high):
        with pytest.raises(ExerciseFailed):
            checks.check_calibrate_threshold(bad)
    with pytest.raises(ExerciseFailed):
        checks.check_threshold_answer(lambda a, d, r, t: torch.where(d >= t, a, r))
