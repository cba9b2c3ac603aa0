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
from tqdm.auto import tqdm

from .cache import artefact_path, config_hash, load_weights, save_tensors
from .clip_tuning import TUNED_NAME
from .config import get_device
from .models.base import Extractor, ExtractorInfo
from .models.dlib_resnet import DLIB_INFO, load_dlib_resnet
from .models.train import Recipe, fit, freeze, new_extractor
from .scenario import Scenario

_CNN = Recipe(arch="cnn", widths=(16, 32, 64, 128), batch_size=64, steps=400)
_RES = Recipe(arch="resnet", widths=(24, 48, 96), batch_size=64, steps=400)


@dataclass(frozen=True)
class ZooEntry:
    """A quick-profile extractor: its recipe, optional parent (fine-tuned from) and metadata."""

    info: ExtractorInfo
    recipe: Recipe
    parent: str | None = None
    pool: str = "trainer"  # whose identities it is trained on: the trainer's or the attacks'


def _info(
    name: str, era: int, year: int, recipe: Recipe, stands_for: str, notes: str
) -> ExtractorInfo:
    return ExtractorInfo(
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


def _describe(r: Recipe) -> str:
    return f"{r.arch}{list(r.widths)} {r.loss} loss, {r.augment} augmentation, {r.steps} steps"


def entry(
    name: str,
    era: int,
    year: int,
    recipe: Recipe,
    stands_for: str,
    notes: str,
    parent: str | None = None,
) -> ZooEntry:
    return ZooEntry(_info(name, era, year, recipe, stands_for, notes), recipe, parent)


QUICK_ZOO: dict[str, ZooEntry] = {
    e.info.name: e
    for e in [
        entry(
            "era1_softmax",
            1,
            2015,
            _CNN.with_(loss="softmax", seed=1),
            "WebFace-era CNN (the Fawkes v0.3 surrogate)",
            "plain softmax classifier on the public identities",
        ),
        entry(
            "era1_softmax_seed2",
            1,
            2015,
            _CNN.with_(loss="softmax", seed=2),
            "seed control: the era-1 recipe with another seed",
            "tells 'a newer technique' apart from 'any other model'",
        ),
        entry(
            "era2_cosface",
            2,
            2018,
            _CNN.with_(loss="cosface", margin=0.25, seed=3),
            "FaceNet/VGGFace2-era model (a Fawkes v1.0 surrogate)",
            "large-margin cosine loss",
        ),
        entry(
            "era3_arcface",
            3,
            2019,
            _RES.with_(loss="arcface", margin=0.3, seed=4),
            "ArcFace-era ResNet (a Fawkes v1.0 surrogate)",
            "residual architecture, additive angular margin",
        ),
        entry(
            "era4_robust_aug",
            4,
            2021,
            _RES.with_(loss="arcface", augment="noise_blur", seed=5),
            "MagFace-era model trained with heavy augmentation",
            "noise, blur, colour and geometric augmentation",
        ),
        entry(
            "generic_ssl",
            5,
            2021,
            _CNN.with_(loss="simclr", widths=(24, 48, 96, 128), seed=6),
            "zero-shot CLIP: a generic model trained without identity labels",
            "SimCLR contrastive learning on unlabelled pictures",
        ),
        entry(
            "generic_tuned",
            6,
            2022,
            _CNN.with_(
                loss="cosface", widths=(24, 48, 96, 128), margin=0.25, steps=250, lr=1e-3, seed=7
            ),
            "CLIP fine-tuned on faces (descends from generic_ssl)",
            "generic_ssl fine-tuned with identity labels",
            parent="generic_ssl",
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
    """Everything that determines a quick extractor's weights (recursively, its parent's)."""
    entry = QUICK_ZOO[name]
    parent = model_key(entry.parent, scenario) if entry.parent else None
    return {
        "name": name,
        "recipe": entry.recipe.to_dict(),
        "parent": parent,
        "pool": scenario.pool_key(entry.pool),
    }


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
    model = new_extractor(entry.recipe, name, cache_key=cache_key(name, scenario))
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
        entry.recipe,
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
