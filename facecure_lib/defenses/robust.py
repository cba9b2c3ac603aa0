"""Adaptive robust training (paper §3.3, Fig. 2, App. B.4) and the recognition modes of App. C.1.

The trainer has black-box access to every cloaking tool: it runs the public attacks on some
of its *own* labelled (public) identities, then fine-tunes its extractor end to end on clean +
cloaked pictures with a linear softmax head (one identity label per picture, cloaked or not),
and discards the head. The fine-tuned extractor maps a cloaked picture close to the clean
pictures of the same person, so a user's cloak, crafted once and published, stops working.

Recognition modes (App. C.1): `nn` (1-nearest neighbour on frozen embeddings), `linear`
(logistic regression on frozen embeddings) and `end_to_end` (the extractor plus a linear
softmax head fine-tuned on the gallery, cloaked attackers included).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..attacks import attack_fingerprint, cloak
from ..cache import (
    artefact_path,
    cached_tensors,
    config_hash,
    save_tensors,
    tensor_hash,
)
from ..config import get_device
from ..experiments import load_surrogates, surrogate_names, target_pool
from ..models.base import Extractor
from ..models.train import Recipe, augment, fit, freeze, probe_head, run_steps
from ..profiles import RobustConfig
from ..recognition import Protocol, embed, evaluate_protection, nearest_neighbors, with_cloaks
from ..scenario import Scenario

ROBUST_VERSION = 2
RECOGNITION_MODES = ("nn", "linear", "end_to_end")


# --------------------------------------------------------------------------- public cloaks
def public_subset(scenario: Scenario, attack_index: int, n_identities: int, per_identity: int,
                  seed: int = 0) -> dict[int, torch.Tensor]:
    """A seeded choice of public identities and of their pictures: {identity: dataset indices}.

    Each attack (its index in the config) gets its own subset, so that together the attacks
    cover more of the trainer's identities.
    """
    rng = np.random.default_rng([seed, attack_index, 17])
    public = np.asarray(scenario.public)
    k = min(n_identities, len(public))
    chosen = sorted(rng.choice(public, size=k, replace=False).tolist())
    out = {}
    for ident in chosen:
        idx = scenario.ds.indices_of(ident).numpy()
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
    ds = scenario.ds
    idents = list(subset)
    pics = torch.cat([ds.float_images(subset[i]) for i in idents])
    pool = None
    if attack == "fawkes_v03":
        pool = {k: v for k, v in target_pool(scenario).items() if k not in subset}
        if not pool:
            raise ValueError("fawkes_v03 needs public identities outside the cloaked subset "
                             "as targets: lower identities_per_attack")
    res = cloak(attack, pics, surrogates, mode=mode, seed=seed, target_pool=pool,
                profile=scenario.profile, progress=progress)
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
        subset = public_subset(scenario, a_i, config.identities_per_attack,
                               config.pictures_per_identity, config.seed)
        cloaks = cloak_public(attack, scenario, subset, surrogates, config.mode_of(attack),
                              config.seed, progress)
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
        subset = public_subset(scenario, a_i, config.identities_per_attack,
                               config.pictures_per_identity, config.seed)
        ident = next(iter(subset))
        one = {ident: subset[ident][:1]}
        surrogates = load_surrogates(attack, scenario, device, progress=False)
        cloaked = cloak_public(attack, scenario, one, surrogates, config.mode_of(attack),
                               config.seed, progress=False)[ident]
        out[attack] = (scenario.ds.float_images(one[ident])[0], cloaked[0])
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
    remap = {ident: i for i, ident in enumerate(scenario.public)}
    cl_imgs, cl_labels, info = [], [], {}
    for attack, cloaks in trainer_cloaks(scenario, config, device, progress).items():
        for ident, (_, pics) in cloaks.items():
            cl_imgs.append(to_uint8(pics))
            cl_labels.append(torch.full((len(pics),), remap[ident], dtype=torch.long))
        info[attack] = {"identities": len(cloaks),
                        "pictures": int(sum(len(p) for _, p in cloaks.values()))}
    reps = max(1, config.cloaked_repeat)
    images, labels = mix_clean_and_cloaked(scenario.public_images, scenario.public_labels,
                                           torch.cat(cl_imgs).repeat(reps, 1, 1, 1),
                                           torch.cat(cl_labels).repeat(reps))
    return images, labels, info


# --------------------------------------------------------------------------- robust extractor
def _base_key(name: str, scenario: Scenario, model: Extractor) -> dict:
    from ..zoo import QUICK_ZOO, model_key

    if name in QUICK_ZOO:
        return model_key(name, scenario)
    return {"name": name, "key": model.cache_key}


def robust_key(scenario: Scenario, config: RobustConfig, base: Extractor) -> dict:
    """Everything the robust extractor's weights depend on."""
    from ..zoo import QUICK_ZOO, model_key

    surrogates = {}
    for attack in config.attacks:
        names = surrogate_names(attack, scenario.profile)
        surrogates[attack] = [model_key(n, scenario) if n in QUICK_ZOO else n for n in names]
    attacks = [attack_fingerprint(a, config.mode_of(a), scenario.profile) for a in config.attacks]
    return {"kind": "robust", "version": ROBUST_VERSION, "config": config.to_dict(),
            "base": _base_key(config.base, scenario, base), "surrogates": surrogates,
            "attacks": attacks,
            "profile": scenario.profile, **scenario.data_key()}


def is_cached(scenario: Scenario, config: RobustConfig | None = None,
              device: torch.device | None = None) -> bool:
    """Whether `train_robust_extractor(scenario, config)` would load its weights (from the
    cache or the package) instead of training. Never trains anything; a paper-profile base
    model is loaded to read its weights' hash."""
    from ..zoo import QUICK_ZOO, load_extractor, weights_available

    config = config or RobustConfig()
    base = None if config.base in QUICK_ZOO else load_extractor(config.base, scenario, device,
                                                                  progress=False)
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

    config = config or RobustConfig()
    device = device or get_device()
    base = load_extractor(config.base, scenario, device, progress)
    key = config_hash(robust_key(scenario, config, base))
    path = artefact_path("extractor", key)
    model = copy.deepcopy(base)
    model.name, model.cache_key = f"robust_{config.base}", f"robust_{config.base}-{key}"
    if load_saved_weights(model, key):
        return freeze(model).to(device)
    images, labels, info = robust_training_set(scenario, config, device, progress)
    base_recipe = QUICK_ZOO[config.base].recipe if config.base in QUICK_ZOO else Recipe(
        embedding_dim=int(base(torch.zeros(1, 3, base.input_size, base.input_size,
                                           device=device)).shape[1]),
        input_size=base.input_size)
    for p in model.parameters():
        p.requires_grad_(True)
    recipe = config.recipe(base_recipe)
    head = (probe_head(model, images, labels, recipe, device, config.probe_steps)
            if config.probe_steps > 0 and recipe.loss != "simclr" else None)
    fit(model, images, labels, recipe, device, progress,
        desc=f"robust fine-tuning of {config.base}", head=head)
    save_tensors(path, model.state_dict(), {"name": model.name, "training_set": info,
                                           "key": robust_key(scenario, config, base)})
    return freeze(model).to(device)


# --------------------------------------------------------------------------- recognition modes
@dataclass
class EndToEndSettings:
    """Fine-tuning of extractor + linear softmax head on the gallery (App. C.1)."""

    steps: int = 120
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def finetune_classifier(
    model: Extractor,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: EndToEndSettings,
    device: torch.device | None = None,
    progress: bool = False,
) -> tuple[Extractor, nn.Linear]:
    """Fine-tune a *copy* of `model` with a new linear softmax head on uint8 pictures.

    Returns (fine-tuned extractor, head) in eval mode; `labels` are 0..K-1.
    """
    device = device or torch.device("cpu")
    g = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)
    net = copy.deepcopy(model).to(device).train()
    for p in net.parameters():
        p.requires_grad_(True)
    with torch.no_grad():
        dim = net.backbone(net.preprocess(images[:2].float().div(255).to(device))).shape[1]
    head = nn.Linear(dim, int(labels.max()) + 1).to(device)
    opt = torch.optim.AdamW(list(net.parameters()) + list(head.parameters()), lr=settings.lr,
                            weight_decay=5e-4)

    def loss_at(_: int) -> torch.Tensor:
        idx = torch.randint(len(images), (settings.batch_size,), generator=g)
        x = augment(images[idx].float().div_(255), "light", g).to(device)
        return F.cross_entropy(head(net.backbone(net.preprocess(x))), labels[idx].to(device))

    run_steps(loss_at, settings.steps, opt,
              torch.optim.lr_scheduler.CosineAnnealingLR(opt, settings.steps), progress,
              "end-to-end fine-tuning")
    net.eval()
    head.eval()
    return freeze(net), head


@torch.no_grad()
def _classify(net: Extractor, head: nn.Linear, images: torch.Tensor, device: torch.device,
              batch: int = 256) -> torch.Tensor:
    out = []
    for i in range(0, len(images), batch):
        x = images[i:i + batch].float().div(255).to(device)
        out.append(head(net.backbone(net.preprocess(x))).argmax(1).cpu())
    return torch.cat(out)


def end_to_end_protection(
    model: Extractor,
    protocol: Protocol,
    cloaks: Mapping[int, torch.Tensor],
    settings: EndToEndSettings | None = None,
    device: torch.device | None = None,
    progress: bool = False,
) -> dict:
    """Protection when the recogniser fine-tunes extractor + classifier on the gallery.

    To keep the cost at one fine-tuning per (model, attack), every attacker in `cloaks` is
    cloaked in the same gallery. Returns {per_user: {user: error}, clean_accuracy} and is
    cached by model, cloaks, protocol and settings.
    """
    settings = settings or EndToEndSettings()
    device = device or get_device()
    users = sorted(cloaks)
    ds = protocol.ds
    ids = protocol.identities
    remap = torch.full((ds.n_identities,), -1, dtype=torch.long)
    remap[torch.as_tensor(ids)] = torch.arange(len(ids))
    config = {"kind": "end_to_end", "version": ROBUST_VERSION, "model": model.cache_key,
              "cloaks": {str(u): tensor_hash(cloaks[u]) for u in users},
              "data": ds.fingerprint(), "identities": ids,
              "split": tensor_hash(protocol.split.train),
              "settings": settings.to_dict()}

    def build() -> dict[str, torch.Tensor]:
        g_idx = protocol.gallery_idx
        g_lab = ds.labels[g_idx]
        images = with_cloaks(ds.images[g_idx], g_lab, {u: cloaks[u] for u in users}, to_uint8)
        net, head = finetune_classifier(model, images, remap[g_lab], settings, device, progress)
        p_idx = protocol.probe_idx
        pred = _classify(net, head, ds.images[p_idx], device)
        truth = remap[ds.labels[p_idx]]
        p_lab = ds.labels[p_idx]
        others = ~torch.isin(p_lab, torch.as_tensor(users))
        per_user = [float((pred[p_lab == u] != truth[p_lab == u]).float().mean()) for u in users]
        clean = float((pred[others] == truth[others]).float().mean())
        return {"per_user": torch.tensor(per_user), "clean_accuracy": torch.tensor([clean])}

    out = cached_tensors("evaluation", config, build)
    return {"per_user": dict(zip(users, out["per_user"].tolist())),
            "clean_accuracy": float(out["clean_accuracy"][0])}


@dataclass
class AttackEvaluation:
    """Protection of each attacker per attack for one model and one recognition mode."""

    model: str
    mode: str
    per_user: dict[str, dict[int, float]] = field(default_factory=dict)
    clean_accuracy: float = float("nan")

    @property
    def protection_rate(self) -> dict[str, float]:
        return {a: float(np.mean(list(v.values()))) for a, v in self.per_user.items()}

    @property
    def clean_error(self) -> float:
        return 1.0 - self.clean_accuracy

    def to_dict(self) -> dict:
        """The block of a results file: protection_rate, protection_rate_per_user, clean_error."""
        return {"protection_rate": self.protection_rate,
                "protection_rate_per_user": {a: list(v.values()) for a, v in self.per_user.items()},
                "users": {a: list(v) for a, v in self.per_user.items()},
                "clean_error": self.clean_error, "clean_accuracy": self.clean_accuracy,
                "mode": self.mode, "model": self.model}


def evaluate_attacks(
    model: Extractor,
    protocol: Protocol,
    cloaks_by_attack: Mapping[str, Mapping[int, torch.Tensor]],
    mode: str = "nn",
    device: torch.device | None = None,
    end_to_end: EndToEndSettings | None = None,
    progress: bool = False,
) -> AttackEvaluation:
    """Protection rate per attack (and per user) of `model` in a recognition mode."""
    if mode not in RECOGNITION_MODES:
        raise ValueError(f"Unknown mode {mode!r}; valid: {', '.join(RECOGNITION_MODES)}")
    ev = AttackEvaluation(model.name, mode)
    accs = []
    for attack, cloaks in cloaks_by_attack.items():
        if mode == "end_to_end":
            r = end_to_end_protection(model, protocol, cloaks, end_to_end, device, progress)
            ev.per_user[attack], acc = r["per_user"], r["clean_accuracy"]
        else:
            r = evaluate_protection(model, protocol, cloaks, mode=mode, device=device)
            ev.per_user[attack], acc = dict(r.per_user), r.clean_accuracy
        accs.append(acc)
    ev.clean_accuracy = float(np.mean(accs)) if accs else float("nan")
    return ev


# --------------------------------------------------------------------------- figures' helpers
@torch.no_grad()
def nearest_matches(
    model: Extractor,
    protocol: Protocol,
    user: int,
    cloaked: torch.Tensor | None,
    device: torch.device | None = None,
) -> dict[str, torch.Tensor]:
    """For each clean probe of `user`: the gallery picture 1-NN matches and its label.

    The user's gallery pictures are replaced by `cloaked` (when given). Returns
    {probes (uint8), matches (float in [0, 1]), match_labels}.
    """
    ds = protocol.ds
    g_idx, p_idx = protocol.gallery_idx, protocol.user_test_idx(user)
    g_lab = ds.labels[g_idx]
    g_imgs = with_cloaks(ds.float_images(g_idx), g_lab, {user: cloaked} if cloaked is not None
                         else {})
    g_emb = embed(model, g_imgs, device=device)
    p_emb = embed(model, ds.images[p_idx], device=device)
    d = torch.cdist(p_emb, g_emb)
    j = d.argmin(1)
    lab, _ = nearest_neighbors(g_emb, g_lab, p_emb, 1)
    return {"probes": ds.images[p_idx], "matches": g_imgs[j], "match_labels": lab[:, 0]}
