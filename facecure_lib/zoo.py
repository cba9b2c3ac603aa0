"""The extractor zoo: name -> how to get the model, plus what it stands for in the paper.

Quick profile: small CNNs that the library trains on the public identities with different
recipes, each one an "era" of face recognition, plus a seed control (same recipe, other seed)
and a lineage (a generic self-supervised model and its face-tuned descendant). Trained models
are cached by a hash of their recipe, their parent and the training data.
Paper profile: pretrained extractors (facenet-pytorch, open_clip), see `models.pretrained`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .budget import capped
from .cache import artefact_path, config_hash, load_weights, save_tensors
from .clip_tuning import TUNED_NAME
from .config import get_device
from .models.base import Extractor, ExtractorInfo
from .models.dlib_resnet import DLIB_INFO, load_dlib_resnet
from .models.train import Recipe, fit, freeze, new_extractor
from .progress import tqdm
from .scenario import Scenario

_CNN = Recipe(arch="cnn", widths=(16, 32, 64, 128), batch_size=64, steps=1500)
_RES = Recipe(arch="resnet", widths=(24, 48, 96), batch_size=64, steps=1500)
_VIT = Recipe(arch="vit", widths=(96, 4, 8), batch_size=64, steps=1500)


@dataclass(frozen=True)
class ZooEntry:
    """A quick-profile extractor: its recipe, optional parent (fine-tuned from), the pool of
    identities it learns from, and metadata."""

    info: ExtractorInfo
    recipe: Recipe
    parent: str | None = None
    pool: str = "trainer"  # whose identities it is trained on: the trainer's or the attacks'


def _describe(r: Recipe) -> str:
    size = f", {r.input_size} px low-pass input" if r.antialias else ""
    return (
        f"{r.arch}{list(r.widths)} {r.loss} loss, {r.augment} augmentation{size}, {r.steps} steps"
    )


def entry(
    name: str,
    era: int,
    year: int,
    recipe: Recipe,
    stands_for: str,
    notes: str,
    parent: str | None = None,
    pool: str = "trainer",
) -> ZooEntry:
    """A zoo entry with its metadata."""
    info = ExtractorInfo(
        name=name,
        profile="quick",
        era=era,
        year=year,
        input_size=recipe.input_size,
        embedding_dim=recipe.embedding_dim,
        recipe=_describe(recipe),
        stands_for=stands_for,
        notes=notes,
    )
    return ZooEntry(info, recipe, parent, pool)


def _attack_side(name: str, era: int, year: int, recipe: Recipe, stands_for: str) -> ZooEntry:
    return entry(
        name,
        era,
        year,
        recipe,
        stands_for,
        "trained on the attack side's own people; never on the trainer's timeline",
        pool="attacker",
    )


QUICK_ZOO: dict[str, ZooEntry] = {
    e.info.name: e
    for e in [
        # the attacks' surrogates: trained on other people than the trainer's models
        _attack_side(
            "surrogate_era1",
            1,
            2015,
            _CNN.with_(loss="softmax", seed=11),
            "Fawkes v0.3's extractor (a WebFace-era CNN)",
        ),
        _attack_side(
            "surrogate_era2",
            2,
            2018,
            _CNN.with_(loss="cosface", margin=0.25, seed=12),
            "a CosFace model of Fawkes v1.0's and LowKey's ensembles",
        ),
        _attack_side(
            "surrogate_era3",
            3,
            2019,
            _RES.with_(loss="arcface", margin=0.3, seed=13),
            "an ArcFace ResNet of Fawkes v1.0's and LowKey's ensembles",
        ),
        # the trainer's timeline
        entry(
            "era1_softmax",
            1,
            2015,
            _CNN.with_(loss="softmax", seed=21),
            "a WebFace-era CNN (2015)",
            "plain softmax classifier",
        ),
        entry(
            "era2_cosface",
            2,
            2018,
            _CNN.with_(loss="cosface", margin=0.25, seed=22),
            "a FaceNet/VGGFace2-era model (2018)",
            "large-margin cosine loss",
        ),
        entry(
            "era3_arcface",
            3,
            2019,
            _RES.with_(loss="arcface", margin=0.3, seed=23),
            "an ArcFace-era ResNet (2019)",
            "residual network, additive angular margin",
        ),
        entry(
            "era3_arcface_seed2",
            3,
            2019,
            _RES.with_(loss="arcface", margin=0.3, seed=43),
            "seed control: the era-3 recipe trained again with another seed",
            "tells 'a newer model' apart from 'any other model of the same era'",
        ),
        entry(
            "era4_robust",
            4,
            2021,
            _RES.with_(
                loss="arcface", margin=0.3, augment="robust", input_size=32, antialias=True, seed=26
            ),
            "a MagFace-era model (2021)",
            "heavy augmentation (colour, blur, sensor noise) and a low-pass 32 px input",
        ),
        entry(
            "generic_vit",
            5,
            2021,
            _VIT.with_(loss="simclr", seed=33),
            "zero-shot CLIP: a generic vision transformer trained without identity labels",
            "SimCLR contrastive learning on unlabelled pictures",
        ),
        entry(
            "era5_vit_tuned",
            5,
            2022,
            _VIT.with_(loss="arcface", margin=0.3, lr=1e-3, seed=34),
            "CLIP fine-tuned on faces",
            "generic_vit fine-tuned with identity labels",
            parent="generic_vit",
        ),
    ]
}


# Real pretrained recognisers that ship with the package: available offline in every profile.
VENDORED: dict[str, ExtractorInfo] = {DLIB_INFO.name: DLIB_INFO}


def registry(profile: str) -> dict[str, ExtractorInfo]:
    """Every extractor a profile can load, by name: the quick zoo (trained by the package on
    generated faces) or the paper's pretrained models, plus the vendored real recognisers."""
    if profile == "quick":
        own = {n: e.info for n, e in QUICK_ZOO.items()}
    else:
        from .models.pretrained import PRETRAINED

        own = {n: s.info for n, s in PRETRAINED.items()}
    return {**own, **VENDORED}


def derived() -> dict[str, ExtractorInfo]:
    """Extractors the package derives from others on demand (the paper's face-tuned CLIP,
    fine-tuned on a scenario's public identities): `info` and `load_extractor` know them,
    `available` does not list them (loading one trains it)."""
    from .clip_tuning import TUNED_INFO

    return {TUNED_INFO.name: TUNED_INFO}


def available(profile: str = "quick") -> list[str]:
    """Names of the extractors of a profile, oldest first (by year, then era, then name)."""
    infos = registry(profile)
    return sorted(infos, key=lambda n: (infos[n].year, infos[n].era, n))


def info(name: str) -> ExtractorInfo:
    """Metadata of a zoo entry (quick, paper, vendored or derived)."""
    for infos in (registry("quick"), registry("paper"), derived()):
        if name in infos:
            return infos[name]
    names = list(registry("quick")) + [n for n in registry("paper") if n not in VENDORED]
    names += list(derived())
    raise ValueError(f"Unknown extractor {name!r}; valid: {', '.join(names)}")


def model_key(name: str, scenario: Scenario) -> dict:
    """Everything that determines a quick extractor's weights (recursively, its parents')."""
    e = QUICK_ZOO[name]
    parent = model_key(e.parent, scenario) if e.parent else None
    return {
        "name": name,
        "recipe": seeded_recipe(e, scenario).to_dict(),
        "parent": parent,
        "pool": scenario.pool_key(e.pool),
    }


def seeded_recipe(e: ZooEntry, scenario: Scenario) -> Recipe:
    """The entry's recipe with its initialisation seed moved by the scenario's SEED (each
    SEED re-runs the whole world: other faces *and* other model initialisations)."""
    return e.recipe.with_(seed=e.recipe.seed + 100 * scenario.seed, steps=capped(e.recipe.steps))


def weights_key(name: str, scenario: Scenario) -> str:
    """The cache key of a quick extractor's weights (nothing is loaded or trained)."""
    return config_hash(model_key(name, scenario))


def cache_key(name: str, scenario: Scenario) -> str:
    """The `cache_key` a quick extractor carries once loaded (it keys cloaks and embeddings)."""
    return f"{name}-{weights_key(name, scenario)}"


def load_extractor(
    name: str,
    scenario: Scenario | None = None,
    device: torch.device | None = None,
    progress: bool = True,
    weights_path: str | None = None,
) -> Extractor:
    """Load (training it on a cache miss) the extractor `name`.

    Quick names need the `scenario` whose public identities they train on. Paper names load
    pretrained weights (downloaded, or from `weights_path`; assets without a published hash
    are trusted on first use, as registered); the paper's face-tuned CLIP is fine-tuned on
    the scenario's trainer pool (`clip_tuning`, cached).
    """
    if name in VENDORED:
        return load_dlib_resnet(device or get_device())
    if name == TUNED_NAME:
        return _tuned_clip(scenario, device or get_device(), progress, weights_path)
    if name not in QUICK_ZOO:
        from .models.pretrained import load_pretrained

        info(name)  # a clear error for unknown names
        return load_pretrained(name, weights_path=weights_path, device=device).extractor
    if scenario is None:
        raise ValueError(f"{name!r} is trained on a scenario's public identities: pass scenario=")
    device = device or get_device()
    entry = QUICK_ZOO[name]
    key = weights_key(name, scenario)
    path = artefact_path("extractor", key)
    recipe = seeded_recipe(entry, scenario)
    model = new_extractor(recipe, name, cache_key=cache_key(name, scenario))
    if load_saved_weights(model, key):
        return freeze(model).to(device)
    if entry.parent:
        parent = load_extractor(entry.parent, scenario, device, progress)
        model.load_state_dict(parent.state_dict())
        for p in model.parameters():
            p.requires_grad_(True)
    pool = scenario.pool(entry.pool)
    fit(
        model,
        pool.images,
        pool.labels,
        recipe,
        device,
        progress,
        desc=f"training {name}",
    )
    save_tensors(path, model.state_dict(), {"name": name, "key": model_key(name, scenario)})
    return freeze(model).to(device)


def _tuned_clip(
    scenario: Scenario | None, device: torch.device, progress: bool, weights_path: str | None
) -> Extractor:
    from .clip_tuning import fine_tune_clip
    from .profiles import get_profile

    if scenario is None:
        raise ValueError(
            f"{TUNED_NAME!r} is fine-tuned on a scenario's public identities: pass scenario="
        )
    pool = scenario.pool("trainer")
    config = get_profile("paper").clip_tuning
    pair = fine_tune_clip(
        pool.images,
        pool.labels,
        config,
        weights_path=weights_path,
        device=device,
        progress=progress,
    )
    return pair.tuned


SHIPPED_DIR = Path(__file__).resolve().parent / "assets" / "zoo"


def shipped_weights(key: str) -> Path | None:
    """The weights that ship with the package for this exact key, if any (and allowed).

    The package ships the quick zoo and notebook 02's robust extractor, trained on the
    default scenario (`scripts/ship_zoo.py`), so that a cold start (Binder, CI, a fresh
    laptop) does not spend minutes cloaking and training. `FACECURE_TRAIN_ZOO=1` ignores
    them and trains from scratch; any other scenario always trains.
    """
    path = SHIPPED_DIR / f"{key}.safetensors"
    if os.environ.get("FACECURE_TRAIN_ZOO") == "1" or not path.exists():
        return None
    return path


def load_saved_weights(model: Extractor, key: str) -> bool:
    """Fill `model` with the weights saved under `key`: from the cache, else from the
    weights shipped with the package (sha256-checked, then copied into the cache). False
    when neither exists or is usable: the caller trains."""
    path = artefact_path("extractor", key)
    if load_weights(model, path, "retraining") is not None:
        return True
    shipped = shipped_weights(key)
    if shipped is None:
        return False
    meta = load_weights(model, shipped, "training instead")
    if meta is None:
        return False
    save_tensors(path, model.state_dict(), {**meta, "source": "shipped with facecure_lib"})
    return True


def weights_available(key: str) -> bool:
    """Whether `load_saved_weights` would find weights for `key` without training."""
    return artefact_path("extractor", key).exists() or shipped_weights(key) is not None


def load_zoo(
    names: list[str], scenario: Scenario, device: torch.device | None = None, progress: bool = True
) -> dict[str, Extractor]:
    """Several extractors at once (each trained only on a cache miss)."""
    return {
        n: load_extractor(n, scenario, device, progress)
        for n in tqdm(names, desc="extractor zoo", disable=not progress, leave=False)
    }
