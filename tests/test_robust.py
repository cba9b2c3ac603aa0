"""Fast tests of facecure_lib.defenses.robust on tiny known-answer data."""

from __future__ import annotations

import pytest
import torch

from facecure_lib.defenses import evaluation, robust
from facecure_lib.defenses.validation import CONTROL_ROW, choose_robust_config
from facecure_lib.exercises import ExerciseFailed
from facecure_lib.exercises import nb02 as checks
from facecure_lib.models.base import Extractor
from facecure_lib.models.nets import build_backbone
from facecure_lib.recognition import Protocol
from facecure_lib.scenario import load_scenario

from .helpers import colour_dataset, mean_colour_extractor


def _protocol(n_ids: int = 6, per_id: int = 10, attackers: int = 2) -> Protocol:
    ds = colour_dataset(n_ids, per_id)
    return Protocol.build(ds, list(range(n_ids)), attackers)


def _swap_cloaks(proto: Protocol, other_of: dict[int, int]) -> dict[int, torch.Tensor]:
    """'Cloaks' that are pictures of another identity: a perfect attack on mean colour."""
    out = {}
    for u in proto.attackers:
        n = len(proto.user_train_idx(u))
        other = proto.ds.indices_of(other_of[u])[:n]
        out[u] = proto.ds.float_images(other)
    return out


def test_to_uint8_and_mix_are_exact():
    clean = torch.randint(0, 256, (4, 3, 5, 5), dtype=torch.uint8)
    cloaked = clean[:2].float() / 255
    assert torch.equal(robust.to_uint8(cloaked), clean[:2])
    imgs, labels = robust.mix_clean_and_cloaked(
        clean, torch.tensor([0, 0, 1, 1]), cloaked, torch.tensor([0, 0])
    )
    assert imgs.dtype == torch.uint8 and imgs.shape[0] == 6
    assert labels.tolist() == [0, 0, 1, 1, 0, 0]
    assert torch.equal(imgs[4:], clean[:2])


def tiny_scenario():
    """A quick scenario of 12 generated people at 32 px (6 public, 2 attackers)."""
    return load_scenario(
        "quick",
        0,
        n_identities=12,
        pictures_per_identity=6,
        image_size=32,
        n_public=6,
        n_attackers=2,
        progress=False,
    )


def test_public_subset_is_seeded_and_public(tmp_cache):
    sc = tiny_scenario()
    a = robust.public_subset(sc, 0, 4, 3)
    assert a.keys() == robust.public_subset(sc, 0, 4, 3).keys()
    assert all(torch.equal(a[k], robust.public_subset(sc, 0, 4, 3)[k]) for k in a)
    pool = sc.pool("trainer")
    assert len(a) == 4 and set(a) <= set(range(pool.n_identities))
    assert all(len(v) == 3 and bool((pool.labels[v] == k).all()) for k, v in a.items())
    b = robust.public_subset(sc, 1, 4, 3)
    assert any(k not in b or not torch.equal(a[k], b[k]) for k in a)  # another attack, other subset
    assert len(robust.public_subset(sc, 0, 100, 3)) == pool.n_identities - 1  # a target stays out
    # with real data both pools are the public identities: no target left once all are cloaked
    real = load_scenario(
        "quick", 0, dataset=colour_dataset(10, 6), n_public=5, n_attackers=1, progress=False
    )
    pool = real.pool("trainer")
    assert len(robust.public_subset(real, 0, 100, 3)) == pool.n_identities - 1
    every = {i: pool.indices_of(i)[:3] for i in range(pool.n_identities)}
    with pytest.raises(ValueError, match="outside"):  # no target left for the targeted attack
        robust.cloak_public("fawkes_v03", real, every, [mean_colour_extractor()])


def test_evaluate_attacks_known_answers():
    proto = _protocol()
    model = mean_colour_extractor()
    others = {u: next(i for i in range(6) if i not in proto.attackers) for u in proto.attackers}
    perfect = _swap_cloaks(proto, others)
    clean = {u: proto.user_train_images(u) for u in proto.attackers}
    for mode in ("nn", "linear"):
        ev = evaluation.evaluate_attacks(model, proto, {"swap": perfect, "none": clean}, mode)
        assert ev.protection_rate["swap"] == pytest.approx(1.0)
        assert ev.protection_rate["none"] == pytest.approx(0.0)
        assert ev.clean_error == pytest.approx(0.0)
        d = ev.to_dict()
        assert set(d) >= {"protection_rate", "protection_rate_per_user", "clean_error"}
        assert len(d["protection_rate_per_user"]["swap"]) == len(proto.attackers)
    with pytest.raises(ValueError, match="valid"):
        evaluation.evaluate_attacks(model, proto, {}, "knn")


def _tiny_cnn() -> Extractor:
    torch.manual_seed(0)
    return Extractor(build_backbone("cnn", (8, 16), 16), "tiny", 32, cache_key="tiny-test")


def test_finetune_classifier_learns_colours():
    ds = colour_dataset(4, 8)
    settings = evaluation.EndToEndSettings(steps=40, batch_size=16, lr=3e-3)
    net, head = evaluation.finetune_classifier(_tiny_cnn(), ds.images, ds.labels, settings)
    pred = evaluation.classify(net, head, ds.images, torch.device("cpu"))
    assert float((pred == ds.labels).float().mean()) >= 0.9
    assert not any(p.requires_grad for p in net.parameters())


def test_end_to_end_protection_cached(tmp_cache, monkeypatch):
    proto = _protocol(4, 10, 1)
    model = _tiny_cnn()
    u = proto.attackers[0]
    cloaks = {u: proto.user_train_images(u)}
    settings = evaluation.EndToEndSettings(steps=30, batch_size=16, lr=3e-3)
    r = evaluation.end_to_end_protection(model, proto, cloaks, settings)
    assert set(r["per_user"]) == {u} and 0 <= r["per_user"][u] <= 1
    assert r["clean_accuracy"] >= 0.6

    def boom(*a, **k):
        raise AssertionError("should have been loaded from the cache")

    monkeypatch.setattr(evaluation, "finetune_classifier", boom)
    assert evaluation.end_to_end_protection(model, proto, cloaks, settings) == r
    with pytest.raises(ValueError, match="cloaked pictures"):
        evaluation.end_to_end_protection(
            model, proto, {u: cloaks[u][:2]}, settings.__class__(steps=2)
        )


def test_nearest_matches_shapes_and_labels(tmp_cache):
    proto = _protocol()
    model = mean_colour_extractor()
    u = proto.attackers[0]
    m = evaluation.nearest_matches(model, proto, u, None)
    n = len(proto.user_test_idx(u))
    assert m["probes"].shape[0] == m["matches"].shape[0] == n
    assert (m["match_labels"] == u).all()
    other = next(i for i in range(6) if i != u)
    swapped = _swap_cloaks(proto, {a: other for a in proto.attackers})[u]
    assert (evaluation.nearest_matches(model, proto, u, swapped)["match_labels"] != u).all()


def test_config_recipe_keeps_architecture():
    from facecure_lib.models.train import Recipe

    base = Recipe(arch="resnet", widths=(8, 16), embedding_dim=32, loss="arcface")
    r = robust.RobustConfig(steps=7, lr=1e-4).recipe(base)
    assert (r.arch, r.widths, r.embedding_dim) == ("resnet", (8, 16), 32)
    assert (r.loss, r.steps, r.lr) == ("arcface", 7, 1e-4)  # default: the base's own head
    soft = robust.RobustConfig(loss="softmax").recipe(base)
    assert soft.loss == "softmax" and soft.arch == "resnet"
    assert robust.RobustConfig(modes=(("fawkes_v10", "low"),)).mode_of("fawkes_v10") == "low"


def test_checks_accept_solutions_and_reject_mistakes():
    def good_rate(g, lab, p, user):
        return float((lab[torch.cdist(p, g).argmin(1)] != user).float().mean())

    def accuracy_instead(g, lab, p, user):
        return 1 - good_rate(g, lab, p, user)

    assert checks.check_protection_rate(good_rate)
    with pytest.raises(ExerciseFailed):
        checks.check_protection_rate(accuracy_instead)

    def good_set(c, cl, k, kl):
        return robust.mix_clean_and_cloaked(c, cl, k, kl)

    def truncating(c, cl, k, kl):
        return torch.cat([c, (k * 255).to(torch.uint8)]), torch.cat([cl, kl])

    def wrong_labels(c, cl, k, kl):
        return robust.mix_clean_and_cloaked(c, cl, k, torch.full_like(kl, -1))

    assert checks.check_training_set(good_set)
    for bad in (truncating, wrong_labels):
        with pytest.raises(ExerciseFailed):
            checks.check_training_set(bad)


def test_robust_key_follows_the_attacks(tmp_cache, monkeypatch):
    """A changed attack (parameters or algorithm version) must not reuse a stale robust model."""
    from facecure_lib.attacks import api

    sc = tiny_scenario()
    base, config = mean_colour_extractor(), robust.RobustConfig()
    key = robust.robust_key(sc, config, base)
    assert key == robust.robust_key(sc, config, base)
    monkeypatch.setattr(api, "ATTACK_VERSION", api.ATTACK_VERSION + 1)
    assert robust.robust_key(sc, config, base) != key
    monkeypatch.undo()
    lowkey = api.ATTACKS["lowkey"]
    quick = {"default": {**lowkey.quick["default"], "perceptual_weight": 1.0}}
    monkeypatch.setitem(
        api.ATTACKS,
        "lowkey",
        api.AttackSpec(
            lowkey.name,
            lowkey.targeted,
            lowkey.default_mode,
            lowkey.modes,
            quick,
            lowkey.description,
            lowkey.run,
        ),
    )
    assert robust.robust_key(sc, config, base) != key


def test_probe_head_fits_frozen_features_and_seeds_fit():
    """The linear probe classifies separable features without touching the extractor, and
    `fit` starts from the head it is given."""
    from facecure_lib.models.train import Recipe, fit, new_head, probe_head

    ds = colour_dataset(4, 8)
    model = Extractor(build_backbone("cnn", (8, 8), 16), "tiny", 32, cache_key="tiny")
    recipe = Recipe(widths=(8, 8), embedding_dim=16, input_size=32, steps=2, batch_size=8, lr=1e-3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    head = probe_head(model, ds.images, ds.labels, recipe, steps=300, lr=5e-2)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with torch.no_grad():
        emb = model.backbone(model.preprocess(ds.images.float() / 255))
        probed = (head(emb, ds.labels).argmax(1) == ds.labels).float().mean()
        fresh = (new_head(recipe, 4)(emb, ds.labels).argmax(1) == ds.labels).float().mean()
    assert probed >= 0.9 and probed > fresh
    weight = head.weight.detach().clone()
    for p in model.parameters():
        p.requires_grad_(True)
    fit(model, ds.images, ds.labels, recipe, progress=False, head=head)
    assert not torch.equal(head.weight, weight)  # the given head was trained further


@pytest.mark.parametrize(
    "record_name",
    ["robust_validation.json", "robust_validation_seed1.json", "robust_validation_seed2.json"],
)
def test_quick_robust_config_is_the_one_chosen_on_validation_people(record_name):
    """The profile's robust-training settings are the validation record's choice on every
    seed's validation people (docs/robust_validation*.json), so a changed default needs a new
    validation run, and the choice is not a constant of one seed."""
    import json
    from pathlib import Path

    from facecure_lib.profiles import QUICK

    record = json.loads((Path(__file__).resolve().parents[1] / "docs" / record_name).read_text())
    chosen = record["candidates"][record["chosen"]]
    assert chosen == json.loads(json.dumps(QUICK.robust.to_dict()))  # tuples as lists
    # and the record's choice follows its rule
    assert record["chosen"] == choose_robust_config(record["results"])


def _row(clean_error: float, *excess: float) -> dict:
    return {"clean_error": clean_error, "excess_protection": dict(zip(("a", "b", "c"), excess))}


def test_robust_rule_picks_the_lowest_worst_attack_among_accurate_candidates():
    results = {
        CONTROL_ROW: _row(0.05, 0.0, 0.6, 0.8),
        "cheap": _row(0.05, 0.0, 0.1, 0.4),
        "inaccurate": _row(0.08, 0.0, 0.0, 0.0),  # best protection, error > control + 0.02
        "better": _row(0.06, 0.0, 0.3, 0.1),
        "as good, listed later": _row(0.07, 0.0, 0.1, 0.3),
    }
    assert choose_robust_config(results) == "better"  # worst 0.3; the tie goes to the first
    assert choose_robust_config(results, max_extra_error=0.05) == "inaccurate"
    assert choose_robust_config({k: results[k] for k in (CONTROL_ROW, "inaccurate")}) is None
    with pytest.raises(KeyError, match="control"):
        choose_robust_config({"cheap": results["cheap"]})
