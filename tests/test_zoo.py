import pytest
import torch

from facecure_lib import zoo
from facecure_lib.models.train import Recipe, augment
from facecure_lib.profiles import QUICK
from facecure_lib.scenario import load_scenario

TINY = Recipe(arch="cnn", widths=(8, 8, 8, 8), embedding_dim=16, batch_size=8, steps=6, seed=0)


@pytest.fixture
def tiny_zoo(monkeypatch, tmp_cache):
    entries = {
        "tiny_a": zoo.entry("tiny_a", 1, 2015, TINY.with_(loss="cosface"), "test", "test"),
        "tiny_ssl": zoo.entry("tiny_ssl", 2, 2016, TINY.with_(loss="simclr", seed=1), "t", "t"),
        "tiny_child": zoo.entry(
            "tiny_child",
            3,
            2017,
            TINY.with_(loss="arcface", arch="resnet", widths=(8, 8, 8), seed=2),
            "t",
            "t",
        ),
        "tiny_tuned": zoo.entry(
            "tiny_tuned", 4, 2018, TINY.with_(loss="softmax", seed=3), "t", "t", parent="tiny_ssl"
        ),
    }
    monkeypatch.setattr(zoo, "QUICK_ZOO", entries)
    sc = load_scenario(
        "quick",
        seed=0,
        n_identities=10,
        pictures_per_identity=5,
        n_public=6,
        n_attackers=2,
        progress=False,
    )
    return sc


def test_training_is_cached_and_deterministic(tiny_zoo):
    a = zoo.load_extractor("tiny_a", tiny_zoo, torch.device("cpu"), progress=False)
    files = list(zoo.artefact_path("extractor", "x").parent.glob("*.safetensors"))
    assert len(files) == 1
    b = zoo.load_extractor("tiny_a", tiny_zoo, torch.device("cpu"), progress=False)
    x = torch.rand(3, 3, 64, 64)
    assert torch.equal(a(x), b(x)) and a.cache_key == b.cache_key
    assert torch.allclose(a(x).norm(dim=1), torch.ones(3), atol=1e-5)
    assert not any(p.requires_grad for p in a.parameters())


def test_every_loss_and_a_lineage(tiny_zoo):
    models = zoo.load_zoo(list(zoo.QUICK_ZOO), tiny_zoo, torch.device("cpu"), progress=False)
    assert set(models) == set(zoo.QUICK_ZOO)
    key = zoo.model_key("tiny_tuned", tiny_zoo)
    assert key["parent"]["name"] == "tiny_ssl"
    x = torch.rand(2, 3, 64, 64)
    assert not torch.equal(models["tiny_tuned"](x), models["tiny_ssl"](x))


def test_unknown_names_list_valid_ones(tiny_zoo):
    with pytest.raises(ValueError, match="valid: .*tiny_a"):
        zoo.load_extractor("nope", tiny_zoo)
    with pytest.raises(ValueError, match="pass scenario="):
        zoo.load_extractor("tiny_a", None)
    with pytest.raises(ValueError, match="Unknown loss"):
        Recipe(loss="triplet")


def test_augment_keeps_range_and_shape():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32)
    for kind in ("light", "heavy", "noise_blur"):
        y = augment(x, kind, g)
        assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1


def test_real_zoo_metadata():
    names = zoo.available("quick")
    timeline = QUICK.timeline.timeline
    assert len(names) >= 5 and set(timeline) <= set(names)
    assert [zoo.info(n).era for n in timeline] == sorted(zoo.info(n).era for n in timeline)
    assert any(e.parent for e in zoo.QUICK_ZOO.values())  # a lineage exists


def test_training_from_scratch_is_reproducible(tiny_zoo, tmp_path, monkeypatch):
    first = zoo.load_extractor("tiny_a", tiny_zoo, torch.device("cpu"), progress=False)
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "other-cache"))  # cold cache: retrain
    second = zoo.load_extractor("tiny_a", tiny_zoo, torch.device("cpu"), progress=False)
    for (k, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), k


def test_shipped_weights_are_used_instead_of_training(tiny_zoo, tmp_path, monkeypatch):
    import shutil

    trained = zoo.load_extractor("tiny_a", tiny_zoo, torch.device("cpu"), progress=False)
    key = zoo.config_hash(zoo.model_key("tiny_a", tiny_zoo))
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    src = zoo.artefact_path("extractor", key)
    for suffix in (".safetensors", ".json"):
        shutil.copyfile(src.with_suffix(suffix), shipped / f"{key}{suffix}")
    monkeypatch.setattr(zoo, "SHIPPED_DIR", shipped)
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "cold"))
    monkeypatch.setattr(zoo, "fit", lambda *a, **k: pytest.fail("trained despite shipped weights"))
    loaded = zoo.load_extractor("tiny_a", tiny_zoo, torch.device("cpu"), progress=False)
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(loaded(x), trained(x))
    assert zoo.artefact_path("extractor", key).exists()  # copied into the cache


SHIPPED_SEEDS = (0, 1, 2)  # the README says these seeds' zoos ship


@pytest.mark.parametrize("seed", SHIPPED_SEEDS)
def test_shipped_zoo_matches_current_recipes(tmp_cache, seed):
    """Every quick extractor of each shipped seed ships (re-run scripts/ship_zoo.py if not)."""
    sc = load_scenario("quick", seed=seed, progress=False)
    for name in zoo.QUICK_ZOO:
        key = zoo.config_hash(zoo.model_key(name, sc))
        assert (zoo.SHIPPED_DIR / f"{key}.safetensors").exists(), f"{name}: run scripts/ship_zoo.py"


@pytest.mark.parametrize("seed", SHIPPED_SEEDS)
def test_shipped_robust_extractor_matches_current_config(tmp_cache, seed):
    """Notebook 02's robust extractor and its control (default config) ship for each shipped
    seed, keyed by everything they depend on: attacks, their versions, the zoo
    (scripts/ship_zoo.py)."""
    from facecure_lib.defenses import robust

    sc = load_scenario("quick", seed=seed, progress=False)
    from facecure_lib.profiles import QUICK

    for config in (QUICK.robust, robust.control_config(QUICK.robust)):
        base = zoo.load_extractor(config.base, sc, torch.device("cpu"), progress=False)
        key = zoo.config_hash(robust.robust_key(sc, config, base))
        assert (zoo.SHIPPED_DIR / f"{key}.safetensors").exists(), "run scripts/ship_zoo.py"


def test_the_real_recogniser_is_in_every_profile():
    for profile in ("quick", "paper"):
        assert "dlib-resnet" in zoo.available(profile)
    info = zoo.info("dlib-resnet")
    assert info.real and info.year == 2017 and "real" in info.trained_on
    assert not zoo.info("era1_softmax").real
    model = zoo.load_extractor("dlib-resnet", device=torch.device("cpu"))
    assert model.cache_key.startswith("dlib-resnet-")
    assert model(torch.rand(2, 3, 64, 64)).shape == (2, 128)
