"""CLIP fine-tuning (paper App. B.3) on CPU with random weights and a tiny dataset."""

from __future__ import annotations

import pytest
import torch

from facecure_lib import clip_tuning as ct
from facecure_lib.cache import artefact_path
from tests.helpers import colour_dataset

pytest.importorskip("open_clip")


def test_contrastive_loss_known_answers():
    labels = torch.tensor([0, 1, 2])
    e = torch.eye(3)
    scale = torch.tensor(100.0).log()
    assert float(ct.contrastive_loss(e, e, labels, scale)) < 1e-6  # perfect matches
    random = float(ct.contrastive_loss(torch.ones(3, 3), torch.ones(3, 3), labels, scale))
    assert random == pytest.approx(torch.tensor(3.0).log().item(), abs=1e-5)  # chance: ln 3
    # Two pictures of one identity share a caption: matching either is right.
    same = torch.tensor([0, 0, 1])
    img = torch.tensor([[1.0, 0], [1.0, 0], [0, 1.0]])
    assert float(ct.contrastive_loss(img, img, same, scale)) == pytest.approx(
        torch.tensor(2.0).log().item() * 2 / 3, abs=1e-4
    )


def test_batches_hold_distinct_identities_when_possible():
    labels = torch.arange(10).repeat_interleave(3)
    g = torch.Generator().manual_seed(0)
    idx = ct.sample_batch(labels, 8, g)
    assert len(idx) == 8 and len(set(labels[idx].tolist())) == 8
    idx = ct.sample_batch(labels, 16, g)  # more than the 10 identities: topped up
    assert len(idx) == 16 and set(labels[idx].tolist()) == set(range(10))


def test_config_is_checked():
    with pytest.raises(ValueError, match="caption must contain"):
        ct.ClipTuningConfig(caption="A photograph of a user.")
    with pytest.raises(ValueError, match="steps must be"):
        ct.ClipTuningConfig(steps=0)
    with pytest.raises(ValueError, match="not an open_clip model"):
        ct.load_clip("facenet-vggface2")


def test_fine_tuning_lowers_the_loss_caches_and_interpolates(tmp_cache, one_thread):
    ds = colour_dataset(n_ids=4, per_id=3, size=32)
    config = ct.ClipTuningConfig(steps=4, batch_size=4, lr=1e-5, weight_decay=0.0, seed=0)
    pair = ct.fine_tune_clip(ds.images, ds.labels, config, pretrained=None, progress=False)
    assert len(pair.losses) == 4
    assert pair.losses[0] == pytest.approx(torch.tensor(4.0).log().item(), abs=0.05)  # chance
    assert pair.losses[-1] < pair.losses[0] - 0.2
    x = ds.images[:3].float() / 255
    with torch.no_grad():
        tuned, generic = pair.tuned(x), pair.generic(x)
    assert tuned.shape == (3, 512) and torch.allclose(tuned.norm(dim=1), torch.ones(3))
    assert not torch.allclose(tuned, generic)
    assert pair.tuned.name == ct.TUNED_NAME and pair.tuned.cache_key.startswith(ct.TUNED_NAME)
    assert not pair.tuned.training and not any(p.requires_grad for p in pair.tuned.parameters())

    # Interpolation: alpha 0 is zero-shot, 1 is tuned, weights in between.
    with torch.no_grad():
        assert torch.allclose(ct.clip_interpolation(pair, 0.0)(x), generic, atol=1e-5)
        assert torch.allclose(ct.clip_interpolation(pair, 1.0)(x), tuned, atol=1e-5)
    half = ct.clip_interpolation(pair, 0.5).backbone.conv1.weight
    mid = (pair.tuned.backbone.conv1.weight + pair.generic.backbone.conv1.weight) / 2
    assert torch.allclose(half, mid)

    # Cached by config: the same call trains nothing; another config is another entry.
    key = ct.tuning_key(pair.generic.cache_key, ds.images, ds.labels, config)
    assert artefact_path("clip_tuned", key).exists()
    again = ct.fine_tune_clip(
        ds.images,
        ds.labels,
        config,
        pretrained=None,
        progress=False,
        device="cpu",
    )
    assert again.losses == pair.losses
    with torch.no_grad():
        assert torch.equal(again.tuned(x), tuned)
    other = ct.tuning_key(pair.generic.cache_key, ds.images, ds.labels, config.__class__(steps=5))
    assert other != key
