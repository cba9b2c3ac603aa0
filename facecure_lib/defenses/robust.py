"""Adaptive robust training (paper §3.3, Fig. 2, App. B.4).

The trainer has black-box access to every cloaking tool: it runs the public attacks on some
of its *own* labelled (public) identities, then fine-tunes its extractor end to end on clean +
cloaked pictures with a linear softmax head (one identity label per picture, cloaked or not),
and discards the head. The fine-tuned extractor maps a cloaked picture close to the clean
pictures of the same person, so a user's cloak, crafted once and published, stops working.

How each attack then fares in each recognition mode (App. C.1) is in `evaluation`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import torch

from ..attacks import attack_fingerprint, cloak
from ..budget import capped_config
from ..cache import (
    artefact_path,
    config_hash,
    save_tensors,
)
from ..config import get_device
from ..experiments import load_surrogates, surrogate_names, target_pool
from ..models.base import Extractor
from ..models.train import Recipe, fit, freeze, probe_head
from ..profiles import RobustConfig, get_profile
from ..scenario import Scenario

ROBUST_VERSION = 2


# --------------------------------------------------------------------------- public cloaks
def public_subset(
    scenario: Scenario, attack_index: int, n_identities: int, per_identity: int, seed: int = 0
) -> dict[int, torch.Tensor]:
    """A seeded choice of the trainer's pool identities and of their pictures:
    {identity: indices into `scenario.pool("trainer")`}.

    Each attack (its index in the config) gets its own subset, so that together the attacks
    cover more of the trainer's identities. At least one identity stays out of each subset
    (Fawkes v0.3's target on a small folder of faces).
    """
    rng = np.random.default_rng([seed, attack_index, 17])
    pool = scenario.pool("trainer")
    public = np.arange(pool.n_identities)
    k = max(1, min(n_identities, len(public) - 1))
    chosen = sorted(rng.choice(public, size=k, replace=False).tolist())
    out = {}
    for ident in chosen:
        idx = pool.indices_of(ident).numpy()
        out[int(ident)] = torch.as_tensor(np.sort(rng.permutation(idx)[:per_identity]))
    return out


def cloak_public(
    attack: str,
    scenario: Scenario,
    subset: Mapping[int, torch.Tensor],
    surrogates: Sequence[Extractor],
    mode: str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict[int, torch.Tensor]:
    """Run a public attack on the trainer's own pictures: {identity: cloaked float pictures}.

    Every picture is cloaked in one batch. For the targeted Fawkes v0.3 that means one
    target for the whole batch (as if the trainer ran the tool once on a folder holding all
    these identities), drawn from the public identities *outside* the subset, so that no
    identity is pushed toward itself. One call per identity would follow Fawkes' one target
    per folder more closely but costs several times more on a CPU. Cached by `attacks.cloak`.
    """
    ds = scenario.pool("trainer")
    idents = list(subset)
    pics = torch.cat([ds.float_images(subset[i]) for i in idents])
    pool = None
    if attack == "fawkes_v03":
        pool = {k: v for k, v in target_pool(scenario).items() if k not in subset}
        if not pool:
            raise ValueError(
                "fawkes_v03 needs public identities outside the cloaked subset "
                "as targets: lower identities_per_attack"
            )
    res = cloak(
        attack,
        pics,
        surrogates,
        mode=mode,
        seed=seed,
        target_pool=pool,
        profile=scenario.profile,
        progress=progress,
    )
    return dict(zip(idents, torch.split(res.images, [len(subset[i]) for i in idents])))


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float pictures in [0, 1] -> uint8 (exact for cloaks on the 8-bit grid)."""
    return (images.detach().cpu().float() * 255).round().clamp(0, 255).to(torch.uint8)


def mix_clean_and_cloaked(
    clean_images: torch.Tensor,
    clean_labels: torch.Tensor,
    cloaked_images: torch.Tensor,
    cloaked_labels: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The robust training set: clean uint8 pictures followed by the cloaked ones (as uint8),
    each cloaked picture labelled with the identity of the person it shows."""
    cl = cloaked_images if cloaked_images.dtype == torch.uint8 else to_uint8(cloaked_images)
    return torch.cat([clean_images, cl]), torch.cat([clean_labels.long(), cloaked_labels.long()])


def trainer_cloaks(
    scenario: Scenario,
    config: RobustConfig,
    device: torch.device | None = None,
    progress: bool = True,
) -> dict[str, dict[int, tuple[torch.Tensor, torch.Tensor]]]:
    """The trainer's own cloaks: {attack: {public identity: (dataset indices, cloaked)}}."""
    out = {}
    for a_i, attack in enumerate(config.attacks):
        surrogates = load_surrogates(attack, scenario, device, progress)
        subset = public_subset(
            scenario, a_i, config.identities_per_attack, config.pictures_per_identity, config.seed
        )
        cloaks = cloak_public(
            attack, scenario, subset, surrogates, config.mode_of(attack), config.seed, progress
        )
        out[attack] = {ident: (subset[ident], cloaks[ident]) for ident in subset}
    return out


def example_cloaks(
    scenario: Scenario, config: RobustConfig, device: torch.device | None = None
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{attack: (clean, cloaked)}: one public picture per attack, cloaked as the trainer does.

    Cheap (one picture per attack) where `trainer_cloaks` cloaks every public subset; the
    picture is the first of the first identity of the attack's subset.
    """
    out = {}
    for a_i, attack in enumerate(config.attacks):
        subset = public_subset(
            scenario, a_i, config.identities_per_attack, config.pictures_per_identity, config.seed
        )
        ident = next(iter(subset))
        one = {ident: subset[ident][:1]}
        surrogates = load_surrogates(attack, scenario, device, progress=False)
        cloaked = cloak_public(
            attack, scenario, one, surrogates, config.mode_of(attack), config.seed, progress=False
        )[ident]
        out[attack] = (scenario.pool("trainer").float_images(one[ident])[0], cloaked[0])
    return out


def robust_training_set(
    scenario: Scenario,
    config: RobustConfig,
    device: torch.device | None = None,
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Clean public pictures + the trainer's own cloaks of a subset; labels 0..n_public-1.

    Returns (uint8 images, labels, info) where info counts the cloaked pictures per attack.
    """
    cl_imgs, cl_labels, info = [], [], {}
    for attack, cloaks in trainer_cloaks(scenario, config, device, progress).items():
        for ident, (_, pics) in cloaks.items():
            cl_imgs.append(to_uint8(pics))
            cl_labels.append(torch.full((len(pics),), ident, dtype=torch.long))
        info[attack] = {
            "identities": len(cloaks),
            "pictures": int(sum(len(p) for _, p in cloaks.values())),
        }
    if not cl_imgs:  # the control: the same fine-tuning on clean pictures only
        return scenario.public_images, scenario.public_labels.long(), info
    reps = max(1, config.cloaked_repeat)
    images, labels = mix_clean_and_cloaked(
        scenario.public_images,
        scenario.public_labels,
        torch.cat(cl_imgs).repeat(reps, 1, 1, 1),
        torch.cat(cl_labels).repeat(reps),
    )
    return images, labels, info


# --------------------------------------------------------------------------- robust extractor
def _base_key(name: str, scenario: Scenario, model: Extractor) -> dict:
    from ..zoo import QUICK_ZOO, model_key

    if name in QUICK_ZOO:
        return model_key(name, scenario)
    return {"name": name, "key": model.cache_key}


def profile_config(scenario: Scenario) -> RobustConfig:
    """The robust-training config of the scenario's profile (`Profile.robust`)."""
    return get_profile(scenario.profile).robust


def robust_key(scenario: Scenario, config: RobustConfig, base: Extractor) -> dict:
    """Everything the robust extractor's weights depend on."""
    from ..zoo import QUICK_ZOO, model_key

    surrogates = {}
    for attack in config.attacks:
        names = surrogate_names(attack, scenario.profile)
        surrogates[attack] = [model_key(n, scenario) if n in QUICK_ZOO else n for n in names]
    attacks = [attack_fingerprint(a, config.mode_of(a), scenario.profile) for a in config.attacks]
    return {
        "kind": "robust",
        "version": ROBUST_VERSION,
        "config": config.to_dict(),
        "base": _base_key(config.base, scenario, base),
        "surrogates": surrogates,
        "attacks": attacks,
        "profile": scenario.profile,
        "pool": scenario.pool_key("trainer"),
    }


def control_config(config: RobustConfig) -> RobustConfig:
    """The control of a robust config: the same fine-tuning (base, steps, head, schedule,
    augmentation, seed) without any cloaked picture."""
    return replace(config, attacks=(), modes=())


def is_cached(
    scenario: Scenario, config: RobustConfig | None = None, device: torch.device | None = None
) -> bool:
    """Whether `train_robust_extractor(scenario, config)` would load its weights (from the
    cache or the package) instead of training. Never trains anything; a paper-profile base
    model is loaded to read its weights' hash."""
    from ..zoo import QUICK_ZOO, load_extractor, weights_available

    config = capped_config(config or profile_config(scenario), "steps", "probe_steps")
    base = (
        None
        if config.base in QUICK_ZOO
        else load_extractor(config.base, scenario, device, progress=False)
    )
    return weights_available(config_hash(robust_key(scenario, config, base)))


def train_robust_extractor(
    scenario: Scenario,
    config: RobustConfig | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> Extractor:
    """The adaptively trained extractor: load it from the cache, or build it on a miss.

    A miss loads the weights shipped for the default scenario and config (if this exact key
    ships; `FACECURE_TRAIN_ZOO=1` ignores them), else cloaks the public subsets (cached per
    attack) and fine-tunes a copy of the base extractor. Notebook 05 calls this with the
    same config and gets the cached weights.
    """
    from ..zoo import QUICK_ZOO, load_extractor, load_saved_weights

    config = capped_config(config or profile_config(scenario), "steps", "probe_steps")
    device = device or get_device()
    base = load_extractor(config.base, scenario, device, progress)
    key = config_hash(robust_key(scenario, config, base))
    path = artefact_path("extractor", key)
    model = copy.deepcopy(base)
    kind = "robust" if config.attacks else "control"
    model.name, model.cache_key = f"{kind}_{config.base}", f"{kind}_{config.base}-{key}"
    if load_saved_weights(model, key):
        return freeze(model).to(device)
    images, labels, info = robust_training_set(scenario, config, device, progress)
    base_recipe = (
        QUICK_ZOO[config.base].recipe
        if config.base in QUICK_ZOO
        else Recipe(
            embedding_dim=int(
                base(torch.zeros(1, 3, base.input_size, base.input_size, device=device)).shape[1]
            ),
            input_size=base.input_size,
        )
    )
    for p in model.parameters():
        p.requires_grad_(True)
    recipe = config.recipe(base_recipe)
    head = (
        probe_head(model, images, labels, recipe, device, config.probe_steps)
        if config.probe_steps > 0 and recipe.loss != "simclr"
        else None
    )
    fit(
        model,
        images,
        labels,
        recipe,
        device,
        progress,
        desc=f"robust fine-tuning of {config.base}",
        head=head,
    )
    save_tensors(
        path,
        model.state_dict(),
        {"name": model.name, "training_set": info, "key": robust_key(scenario, config, base)},
    )
    return freeze(model).to(device)
