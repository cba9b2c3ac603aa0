import pytest
import torch

from facecure_lib import imagenet
from facecure_lib import interpolation as interp
from facecure_lib import timeline as tl
from facecure_lib.exercises import ExerciseFailed
from facecure_lib.exercises.nb04 import check_interpolate_weights, check_leave_unprotected
from facecure_lib.models.train import Recipe, new_extractor
from facecure_lib.recognition import Protocol, evaluate_protection

from .helpers import colour_dataset, mean_colour_extractor


@pytest.fixture
def protocol(tmp_cache):
    return Protocol.build(
        colour_dataset(n_ids=6, per_id=10), list(range(6)), n_attackers=2, attacker_seed=1
    )


def _decoys(protocol):
    """Every attacker's pictures replaced by black ones (far from every colour): full protection
    for the mean-colour recogniser."""
    return {u: torch.zeros_like(protocol.user_train_images(u)) for u in protocol.attackers}


def test_n_clean_levels():
    assert [tl.n_clean(14, lv) for lv in tl.UNPROTECTED_LEVELS] == [0, 1, 1, 4, 7]
    assert tl.n_clean(3, 0.1) == 1 and tl.n_clean(0, "1 picture") == 0 and tl.n_clean(7, 1.0) == 7
    with pytest.raises(ValueError, match="fraction"):
        tl.n_clean(10, 1.5)
    with pytest.raises(ValueError, match="1 picture"):
        tl.n_clean(10, "two pictures")


def test_leave_unprotected_and_its_check():
    clean = torch.rand(5, 3, 2, 2)
    cloaked = clean + 1
    out = tl.leave_unprotected(cloaked, clean, 2, torch.tensor([3, 0, 1, 2, 4]))
    assert torch.equal(out[[3, 0]], clean[[3, 0]]) and torch.equal(
        out[[1, 2, 4]], cloaked[[1, 2, 4]]
    )
    assert torch.equal(cloaked, clean + 1)  # input untouched
    with pytest.raises(ValueError, match="k must be"):
        tl.leave_unprotected(cloaked, clean, 6)
    assert check_leave_unprotected(tl.leave_unprotected)
    with pytest.raises(ExerciseFailed, match="order"):  # a classic mistake: first k rows
        check_leave_unprotected(lambda c, x, k, o: tl.leave_unprotected(c, x, k))


def test_mix_cloaks_takes_halves():
    a = {1: torch.zeros(6, 3, 2, 2)}
    b = {1: torch.ones(6, 3, 2, 2)}
    m = tl.mix_cloaks(a, b, 0.5)[1]
    assert m[:3].eq(0).all() and m[3:].eq(1).all()
    assert tl.mix_cloaks(a, b, 0.0)[1].eq(0).all()
    with pytest.raises(ValueError, match="same users"):
        tl.mix_cloaks(a, {2: b[1]})


def test_interpolation_known_answers_and_check():
    g = {"w": torch.zeros(2), "n": torch.tensor(1)}
    t = {"w": torch.ones(2) * 2, "n": torch.tensor(7)}
    out = interp.interpolate_weights(g, t, 0.6)
    assert torch.allclose(out["w"], torch.full((2,), 1.2)) and out["n"].item() == 7
    assert check_interpolate_weights(interp.interpolate_weights)
    with pytest.raises(ExerciseFailed, match="integer"):
        check_interpolate_weights(lambda a, b, al: {k: al * b[k] + (1 - al) * a[k] for k in a})
    with pytest.raises(ValueError, match="keys"):
        interp.interpolate_weights(g, {"w": t["w"]}, 0.5)


def test_interpolated_extractor_endpoints_and_batchnorm():
    r = Recipe(arch="cnn", widths=(4, 8), embedding_dim=8, input_size=16)
    a, b = new_extractor(r.with_(seed=1), "a"), new_extractor(r.with_(seed=2), "b")
    for m in (a, b):
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
        m.eval()
    x = torch.rand(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(interp.interpolated_extractor(a, b, 1.0)(x), b(x), atol=1e-6)
        assert torch.allclose(interp.interpolated_extractor(a, b, 0.0)(x), a(x), atol=1e-6)
        mid = interp.interpolated_extractor(a, b, 0.5)
        assert mid.cache_key != interp.interpolated_extractor(a, b, 0.6).cache_key
        re = interp.interpolated_extractor(
            a, b, 0.5, bn="reestimate", calibration=torch.rand(8, 3, 16, 16)
        )
        assert not torch.allclose(re(x), mid(x))
    assert not any(p.requires_grad for p in mid.parameters())
    with pytest.raises(ValueError, match="calibration"):
        interp.interpolated_extractor(a, b, 0.5, bn="reestimate")


def test_timeline_evaluation_and_records(protocol):
    model = mean_colour_extractor()
    cloaks = {"decoy": _decoys(protocol), "none": {}}
    res = tl.evaluate_timeline({"mc": model}, protocol, cloaks, progress=False)
    assert res["mc"]["decoy"].mean == 1.0 and res["mc"]["none"].mean == 0.0
    from facecure_lib.models.base import ExtractorInfo

    info = ExtractorInfo("mc", "quick", 1, 2015, 32, 3, "", "mean colour")
    rec = tl.timeline_records(res, {"mc": info})[0]
    assert rec["protection_rate"] == {"decoy": 1.0, "none": 0.0} and rec["era"] == 1
    assert rec["excess_protection"]["decoy"] == pytest.approx(1.0 - rec["clean_error"])
    table = tl.timeline_table(res, {"mc": info}, {"decoy": ["mc"]})
    assert set(table["attack"]) == {"decoy", "none"} and table["surrogate"].sum() == 1


def test_unprotected_curve_falls(protocol):
    curve = tl.unprotected_curve(
        mean_colour_extractor(), protocol, _decoys(protocol), levels=(0.0, "1 picture", 0.5)
    )
    rates = [c["protection_rate"] for c in curve]
    assert rates[0] == 1.0 and rates[-1] == 0.0  # one clean picture is the nearest neighbour
    assert [c["level"] for c in curve] == ["0.0", "1 picture", "0.5"]
    assert curve[2]["fraction"] == pytest.approx(4 / 7)


def test_interpolation_curve_and_best_tradeoff(protocol):
    r = Recipe(arch="cnn", widths=(4, 8), embedding_dim=8, input_size=32)
    a, b = (
        new_extractor(r.with_(seed=1), "a", "a-key"),
        new_extractor(r.with_(seed=2), "b", "b-key"),
    )
    for m in (a, b):
        m.eval()
    curve = interp.interpolation_curve(
        a, b, protocol, {"decoy": _decoys(protocol)}, alphas=(0.0, 0.5, 1.0), progress=False
    )
    assert [c["alpha"] for c in curve] == [0.0, 0.5, 1.0]
    end = evaluate_protection(b, protocol, _decoys(protocol))
    assert curve[-1]["protection_rate"]["decoy"] == pytest.approx(end.mean)
    fake = [
        {"alpha": 0.0, "clean_accuracy": 0.5, "protection_rate": {"x": 0.1}},
        {"alpha": 0.6, "clean_accuracy": 0.88, "protection_rate": {"x": 0.2}},
        {"alpha": 0.8, "clean_accuracy": 0.9, "protection_rate": {"x": 0.5}},
        {"alpha": 1.0, "clean_accuracy": 0.9, "protection_rate": {"x": 0.8}},
    ]
    best = interp.best_tradeoff(fake, "x")
    assert best["alpha"] == 0.6 and best["protection_drop"] == pytest.approx(0.6)


def test_excess_interval_brackets_the_mean():
    lo, hi = tl.excess_interval([0.0, 1.0, 0.5, 0.8, 0.2, 0.9], clean_error=0.1, seed=0)
    mean = (0.0 + 1.0 + 0.5 + 0.8 + 0.2 + 0.9) / 6 - 0.1
    assert lo < mean < hi and -0.1 <= lo and hi <= 0.9
    assert tl.excess_interval([0.4, 0.4], 0.1) == pytest.approx((0.3, 0.3))
    assert tl.excess_interval([0.0, 1.0] * 4, 0.0, seed=1) == tl.excess_interval(
        [0.0, 1.0] * 4, 0.0, seed=1
    )


def test_contemporaries_and_newest_blocks():
    def rec(model, excess, seen=()):
        return {
            "model": model,
            "seen_by": list(seen),
            "clean_error": 0.05,
            "excess_protection": {"x": excess},
            "excess_interval": {"x": [excess - 0.1, excess + 0.1]},
        }

    records = [rec("sur", 0.9, ["x"]), rec("twin", 0.4), rec("peer", 0.6), rec("new", 0.05)]
    out = tl.contemporary_transfer(records, {"x": ["sur", "twin", "peer"]})
    assert out == {"x": {"model": "peer", "excess_protection": 0.6, "interval": [0.5, 0.7]}}
    assert tl.contemporary_transfer(records, {"x": ["sur"]}) == {}  # only seen models
    newest = tl.newest_block(records, "new")
    assert newest["model"] == "new" and newest["excess_protection"] == {"x": 0.05}
    assert tl.seen_by({"a": ["m1", "m2"], "b": ["m2"]}) == {"m1": ["a"], "m2": ["a", "b"]}


def test_table4_pipeline_on_tiny_random_models():
    torch.manual_seed(0)
    kw = {"weights": None, "num_classes": 10}
    src = {"resnet18": imagenet.torchvision_classifier("resnet18", **kw)}
    tgt = {"mobilenet_v2": imagenet.torchvision_classifier("mobilenet_v2", **kw)}
    for m in (*src.values(), *tgt.values()):
        m.size = 32  # tiny inputs keep the test fast
    x, y = torch.rand(3, 3, 32, 32), torch.tensor([1, 2, 3])
    adv = imagenet.pgd_ensemble(list(src.values()), x, y, eps=8 / 255, steps=3)
    assert adv.shape == x.shape and (adv - x).abs().max() <= 8 / 255 + 1e-6 and adv.min() >= 0
    with torch.no_grad():
        loss = lambda z: torch.nn.functional.cross_entropy(src["resnet18"](z), y)  # noqa: E731
        assert loss(adv) > loss(x)
    df = imagenet.transfer_over_time(
        src, tgt, x, y, years={"resnet18": 2015}, eps=8 / 255, steps=2, progress=False
    )
    assert list(df["role"]) == ["source", "target"] and df["adversarial_top1"].between(0, 1).all()
    with pytest.raises(ValueError, match="Unknown torchvision"):
        imagenet.torchvision_classifier("no_such_net", weights=None)


def test_load_imagenet_folder(tmp_path):
    import numpy as np
    from PIL import Image

    for wnid in ("n01440764", "n03888605"):
        (tmp_path / wnid).mkdir()
        Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(tmp_path / wnid / "a.png")
    x, y = imagenet.load_imagenet_folder(tmp_path, size=16)
    assert x.shape == (2, 3, 16, 16) and y.tolist() == [0, 701]
    with pytest.raises(FileNotFoundError):
        imagenet.load_imagenet_folder(tmp_path / "missing")
