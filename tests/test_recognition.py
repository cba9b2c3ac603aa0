import pytest
import torch

from facecure_lib.recognition import (
    Protocol,
    clean_accuracy,
    evaluate_protection,
    nearest_neighbors,
)

from .helpers import colour_dataset, mean_colour_extractor


def test_nearest_neighbors_known_answer():
    gallery = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [0.2, 0.0]])
    labels = torch.tensor([0, 1, 2, 0])
    probes = torch.tensor([[9.0, 1.0], [0.1, 0.0]])
    lab, dist = nearest_neighbors(gallery, labels, probes, k=2)
    assert lab[:, 0].tolist() == [1, 0]
    assert lab[0, 1].item() in (0, 2)
    assert dist[1, 0] == pytest.approx(0.1, abs=1e-5)
    assert (dist[:, 0] <= dist[:, 1]).all()


def test_topk_counts_distinct_identities():
    gallery = torch.tensor([[0.0], [0.1], [0.2], [5.0]])
    lab, _ = nearest_neighbors(gallery, torch.tensor([0, 0, 0, 1]), torch.tensor([[0.0]]), k=2)
    assert lab[0].tolist() == [0, 1]


def test_empty_gallery_is_an_error():
    with pytest.raises(ValueError, match="empty gallery"):
        nearest_neighbors(torch.empty(0, 2), torch.empty(0, dtype=torch.long), torch.zeros(1, 2))


@pytest.fixture
def protocol(tmp_cache):
    ds = colour_dataset()
    return Protocol.build(ds, identities=[0, 1, 2, 3, 4, 5], n_attackers=2, attacker_seed=1)


def test_unprotected_users_are_recognised(protocol):
    model = mean_colour_extractor()
    res = evaluate_protection(model, protocol, {})
    assert res.mean == 0.0 and res.clean_accuracy == 1.0
    assert clean_accuracy(model, protocol) == 1.0


def test_swapping_a_users_pictures_gives_full_protection(protocol):
    model = mean_colour_extractor()
    u, v = protocol.attackers
    other = [i for i in protocol.identities if i not in (u, v)][0]
    n = len(protocol.user_train_idx(u))
    decoy = protocol.ds.float_images(protocol.user_train_idx(other))[:1].expand(n, -1, -1, -1)
    res = evaluate_protection(model, protocol, {u: decoy})
    assert res.per_user[u] == 1.0 and res.per_user[v] == 0.0
    assert res.mean == 0.5
    assert res.n_probes[u] == len(protocol.user_test_idx(u))
    lin = evaluate_protection(model, protocol, {u: decoy}, mode="linear")
    assert lin.per_user[v] == 0.0


def test_bad_inputs_are_clear(protocol):
    model = mean_colour_extractor()
    with pytest.raises(ValueError, match="valid: nn, linear"):
        evaluate_protection(model, protocol, {}, mode="knn")
    with pytest.raises(ValueError, match="not attackers"):
        evaluate_protection(model, protocol, {99: torch.zeros(1, 3, 32, 32)})
    u = protocol.attackers[0]
    with pytest.raises(ValueError, match="cloaked pictures"):
        evaluate_protection(model, protocol, {u: torch.zeros(1, 3, 32, 32)})


def test_split_is_seeded_and_per_identity(protocol):
    again = Protocol.build(protocol.ds, protocol.identities, 2, attacker_seed=1)
    assert torch.equal(again.split.train, protocol.split.train)
    for ident in protocol.identities:
        assert len(protocol.user_train_idx(ident)) == 7 and len(protocol.user_test_idx(ident)) == 3
