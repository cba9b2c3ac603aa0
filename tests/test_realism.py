"""Realism diagnostics on tiny data with known answers."""

from __future__ import annotations

import itertools

import pytest
import torch

from facecure_lib.data.dataset import FaceDataset
from facecure_lib.realism import (
    gallery_split,
    pair_distances,
    pixel_lda_accuracy,
    realism_report,
)

from .helpers import colour_dataset, mean_colour_extractor

pytestmark = pytest.mark.usefixtures("one_thread")


def _flat_dataset(colours: list[tuple[int, int, int]], per_id: int = 4) -> FaceDataset:
    """Noise-free flat colours: embeddings (mean colour / 255) are known exactly."""
    c = torch.tensor(colours, dtype=torch.uint8)
    labels = torch.arange(len(colours)).repeat_interleave(per_id)
    imgs = c[labels].view(-1, 3, 1, 1).expand(-1, 3, 8, 8).contiguous()
    return FaceDataset("flat", imgs, labels, [f"id{i}" for i in range(len(colours))])


def test_gallery_split_is_seeded_and_per_identity():
    labels = torch.arange(5).repeat_interleave(6)
    g, p = gallery_split(labels, 4, seed=3)
    assert torch.equal(torch.bincount(labels[g]), torch.full((5,), 4))
    assert torch.equal(torch.bincount(labels[p]), torch.full((5,), 2))
    assert set(g.tolist()).isdisjoint(p.tolist())
    assert torch.equal(gallery_split(labels, 4, seed=3)[0], g)
    assert not torch.equal(gallery_split(labels, 4, seed=4)[0], g)


@pytest.mark.parametrize("k", [0, 6, 7])
def test_gallery_split_needs_a_probe_per_identity(k):
    with pytest.raises(ValueError, match="train_per_identity"):
        gallery_split(torch.arange(3).repeat_interleave(6), k)


def test_pair_distances_count_and_values():
    feats = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    same, diff = pair_distances(feats, torch.tensor([0, 0, 1]), chunk=2)
    torch.testing.assert_close(same, torch.tensor([5.0]))
    torch.testing.assert_close(diff.sort().values, torch.tensor([1.0, 18**0.5]))


def test_report_on_known_embeddings(tmp_cache):
    colours = [(0, 0, 0), (51, 0, 0), (0, 255, 0)]
    ds = _flat_dataset(colours, per_id=4)
    r = realism_report(mean_colour_extractor(8), ds, train_per_identity=3, threshold=0.5)
    assert r["nn_accuracy"] == 1.0 and r["gallery"] == 9 and r["probes"] == 3
    assert r["same_pairs"] == 3 * 6 and r["diff_pairs"] == 3 * 16
    assert r["same_mean"] == pytest.approx(0, abs=1e-6) and r["same_under_threshold"] == 1.0
    pair_d = [
        torch.dist(a / 255.0, b / 255.0).item()
        for a, b in itertools.combinations(torch.tensor(colours).float(), 2)
    ]
    assert r["diff_mean"] == pytest.approx(sum(pair_d) / 3, abs=1e-5)
    assert r["diff_median"] == pytest.approx(sorted(pair_d)[1], abs=1e-5)
    # only the (black, dark red) pairs, distance 0.2, are under 0.5
    assert r["diff_under_threshold"] == pytest.approx(1 / 3)


def test_report_threshold_extremes(tmp_cache):
    ds = colour_dataset(n_ids=4, per_id=6, size=16)
    ext = mean_colour_extractor(16)
    high = realism_report(ext, ds, train_per_identity=4, threshold=10.0)
    low = realism_report(ext, ds, train_per_identity=4, threshold=0.0)
    assert high["nn_accuracy"] == 1.0
    assert high["diff_under_threshold"] == high["same_under_threshold"] == 1.0
    assert low["diff_under_threshold"] == low["same_under_threshold"] == 0.0
    assert high["same_mean"] < high["diff_mean"]


def test_pixel_lda_separates_colours():
    ds = colour_dataset(n_ids=5, per_id=8, size=16, noise=20.0)
    assert pixel_lda_accuracy(ds, train_per_identity=5, size=4) == 1.0
    assert pixel_lda_accuracy(ds, train_per_identity=5, size=4, mode="nn") == 1.0
    with pytest.raises(ValueError, match="mode"):
        pixel_lda_accuracy(ds, train_per_identity=5, mode="svm")


def test_pixel_lda_is_at_chance_on_pure_noise():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (6 * 10, 3, 8, 8), generator=g, dtype=torch.uint8)
    ds = FaceDataset("noise", imgs, torch.arange(6).repeat_interleave(10), list("abcdef"))
    assert pixel_lda_accuracy(ds, train_per_identity=7, size=4) < 0.6
