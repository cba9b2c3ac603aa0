"""Unit tests of the cloak detector (tiny data, tiny networks; the ImageNet weights once)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facecure_lib.defenses import detection as D
from facecure_lib.defenses import detector
from facecure_lib.profiles import QUICK

from .helpers import colour_dataset, mean_colour_extractor

TINY = D.DetectorRecipe(
    backbone="tiny_cnn", input_size=16, train_from=1, epochs=4, lr=1e-2, batch_size=16
)


def test_metrics_known_answers():
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    s = [0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9]
    m = D.detection_metrics(y, s)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["auc"] == pytest.approx(15 / 16)
    assert m["n"] == 8 and m["accuracy_interval"][0] < 0.75 < m["accuracy_interval"][1]
    perfect = D.detection_metrics([0, 1], [0.2, 0.9])
    assert {k: perfect[k] for k in ("accuracy", "precision", "recall", "auc")} == dict.fromkeys(
        ("accuracy", "precision", "recall", "auc"), 1.0
    )
    assert perfect["accuracy_interval"][1] == 1.0 and perfect["accuracy_interval"][0] < 0.5


def test_users_are_seeded_and_capped():
    """Training users are numbers of the trainer's pool, held-out users private identities:
    different people by construction, so the two lists may share numbers."""
    tr, te = D.detection_users(range(0, 50), range(0, 30), 25, 20, seed=3)
    assert len(tr) == 25 and len(te) == 20
    assert (tr, te) == D.detection_users(range(0, 50), range(0, 30), 25, 20, seed=3)
    assert D.detection_users(range(0, 5), range(5, 8), 25, 20)[1] == [5, 6, 7]  # capped
    with pytest.raises(ValueError):
        D.detection_users([], [2, 3], 2, 2)


def test_resolve_attack_keys():
    assert D.resolve_attack("fawkes_high") == ("fawkes_v10", "high", "fawkes_high")
    assert D.resolve_attack("fawkes_v10", "low") == ("fawkes_v10", "low", "fawkes_low")
    assert D.resolve_attack("lowkey") == ("lowkey", "default", "lowkey")
    assert D.resolve_attack("fawkes") == ("fawkes_v10", "low+mid+high", "fawkes")
    with pytest.raises(ValueError):
        D.resolve_attack("fawkes_v10", "extreme")
    with pytest.raises(ValueError):
        D.resolve_attack("nope")


@pytest.mark.parametrize(
    "recipe", [TINY, TINY.with_(probe=True, train_from=3, epochs=10)], ids=["finetune", "probe"]
)
def test_detector_scores_and_learns_a_separable_task(recipe):
    torch.manual_seed(0)
    clean = torch.rand(48, 3, 16, 16) * 0.3 + 0.35
    noisy = (clean + 0.15 * torch.randn_like(clean)).clamp(0, 1)
    x = torch.cat([clean, noisy])
    y = torch.cat([torch.zeros(48), torch.ones(48)])
    det = D.Detector(recipe, pretrained=False)
    s = det.score(x[:5])
    assert s.shape == (5,) and ((s >= 0) & (s <= 1)).all()
    assert det.predict(x[:5], threshold=0.0).all() and not det.predict(x[:5], threshold=1.01).any()
    losses = D.fit_detector(det, x, y, torch.device("cpu"), progress=False)
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    m = D.detection_metrics(y, det.score(x))
    assert m["accuracy"] >= 0.9 and m["auc"] >= 0.95
    assert not any(p.requires_grad for p in det.parameters())


def test_detection_set_and_cached_get_detector(tmp_cache):
    ds = colour_dataset(n_ids=6, per_id=6, size=16)
    sur = [mean_colour_extractor(16)]
    data = D.detection_set(
        ds, [0, 1], "fawkes_low", sur, pictures_per_user=3, seed=0, progress=False, steps=3
    )
    assert len(data) == 12 and data.clean.shape == data.cloaked.shape == (6, 3, 16, 16)
    assert data.labels.tolist() == [0] * 6 + [1] * 6 and set(data.users.tolist()) == {0, 1}
    with pytest.raises(ValueError):
        D.detection_set(ds, [0], "fawkes_v03", sur)

    from facecure_lib.scenario import load_scenario

    scen = load_scenario("quick", 0, dataset=ds, n_public=3, n_attackers=1, progress=False)
    sizes = D.DetectionSizes(2, 2, 3)
    det = D.get_detector(
        scen,
        "fawkes_v10",
        "low",
        torch.device("cpu"),
        False,
        recipe=TINY,
        sizes=sizes,
        surrogates=sur,
    )
    again = D.get_detector(
        scen,
        "fawkes_low",
        device=torch.device("cpu"),
        progress=False,
        recipe=TINY,
        sizes=sizes,
        surrogates=sur,
    )
    assert det.cache_key == again.cache_key
    x = ds.float_images(torch.arange(6))
    assert torch.allclose(det.score(x), again.score(x))
    assert len(list((tmp_cache / "v1" / "detector").glob("*.safetensors"))) == 1
    other = D.get_detector(
        scen,
        "lowkey",
        device=torch.device("cpu"),
        progress=False,
        recipe=TINY.with_(epochs=1),
        sizes=sizes,
        surrogates=sur,
    )
    assert other.cache_key != det.cache_key
    tr, te = D.scenario_users(scen, sizes)  # pool numbers 0..2; the attacking users
    assert set(tr) <= {0, 1, 2} and te == list(scen.protocol.attackers)
    mixed = D.get_detector(scen, "fawkes", progress=False, recipe=TINY, sizes=sizes, surrogates=sur)
    assert mixed.cache_key not in (det.cache_key, other.cache_key)


def test_mixed_set_splits_each_users_pictures_across_modes(tmp_cache):
    ds = colour_dataset(n_ids=4, per_id=6, size=16)
    sur = [mean_colour_extractor(16)]
    data = D.mixed_detection_set(
        ds, [0, 1], "fawkes_v10", sur, ("low", "high"), 4, seed=0, progress=False
    )
    assert len(data) == 16 and data.mode == "low+high"
    low = D.detection_set(ds, [0, 1], "fawkes_low", sur, pictures_per_user=4, progress=False)
    assert torch.equal(data.clean, low.clean)
    changed = (data.cloaked - data.clean).abs().amax(dim=(1, 2, 3)) > 0
    assert changed.any()


def test_frame_control_gives_the_border_back():
    clean = torch.zeros(2, 3, 16, 16)
    data = D.DetectionSet(clean, torch.ones(2, 3, 16, 16), torch.tensor([0, 1]), "a", "m")
    framed = D.frame_restored(data, frame=4)
    assert framed.cloaked[:, :, :4].sum() == 0 and framed.cloaked[:, :, :, -4:].sum() == 0
    assert (framed.cloaked[:, :, 4:-4, 4:-4] == 1).all()
    assert torch.equal(data.cloaked, torch.ones(2, 3, 16, 16))  # the input is left alone


def test_efficientnet_lite0_imagenet_weights_load():
    skimage = pytest.importorskip("skimage")
    pytest.importorskip("timm")
    model = detector.efficientnet_lite0(pretrained=True).eval()
    cat = torch.tensor(skimage.data.chelsea()).permute(2, 0, 1).float()[None] / 255
    x = torch.nn.functional.interpolate(cat, size=(224, 224), mode="bilinear")
    with torch.no_grad():
        top = model((x - 0.5) / 0.5).argmax(1).item()
    assert 281 <= top <= 285  # an ImageNet cat class: the weights were mapped correctly
    det = D.Detector(QUICK.detector, pretrained=True)
    assert QUICK.detector.probe and not any(p.requires_grad for p in det.stem.parameters())
    assert det.score(torch.rand(2, 3, 64, 64)).shape == (2,)
    assert "efficientnet" in D.backbone_description(QUICK.detector)
