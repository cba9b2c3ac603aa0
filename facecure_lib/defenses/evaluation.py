"""How well each attack protects its users against a model, in the three recognition modes
of App. C.1: `nn` (1-nearest neighbour on frozen embeddings), `linear` (logistic
regression on frozen embeddings) and `end_to_end` (the extractor plus a linear softmax head
fine-tuned on the gallery, cloaked attackers included); and which gallery pictures a model
matches a user's probes with (the "recognised again" figure)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..budget import capped, capped_config
from ..cache import cached_tensors, tensor_hash
from ..config import get_device
from ..models.base import Extractor
from ..models.train import augment, freeze, run_steps
from ..recognition import Protocol, embed, evaluate_protection, nearest_neighbors, with_cloaks
from .robust import ROBUST_VERSION, to_uint8

RECOGNITION_MODES = ("nn", "linear", "end_to_end")


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
    opt = torch.optim.AdamW(
        list(net.parameters()) + list(head.parameters()), lr=settings.lr, weight_decay=5e-4
    )

    def loss_at(_: int) -> torch.Tensor:
        idx = torch.randint(len(images), (settings.batch_size,), generator=g)
        x = augment(images[idx].float().div_(255), "light", g).to(device)
        return F.cross_entropy(head(net.backbone(net.preprocess(x))), labels[idx].to(device))

    steps = capped(settings.steps)
    run_steps(
        loss_at,
        steps,
        opt,
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps),
        progress,
        "end-to-end fine-tuning",
    )
    net.eval()
    head.eval()
    return freeze(net), head


@torch.no_grad()
def classify(
    net: Extractor, head: nn.Linear, images: torch.Tensor, device: torch.device, batch: int = 256
) -> torch.Tensor:
    out = []
    for i in range(0, len(images), batch):
        x = images[i : i + batch].float().div(255).to(device)
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
    settings = capped_config(settings or EndToEndSettings(), "steps")  # part of the key
    device = device or get_device()
    users = sorted(cloaks)
    ds = protocol.ds
    ids = protocol.identities
    remap = torch.full((ds.n_identities,), -1, dtype=torch.long)
    remap[torch.as_tensor(ids)] = torch.arange(len(ids))
    config = {
        "kind": "end_to_end",
        "version": ROBUST_VERSION,
        "model": model.cache_key,
        "cloaks": {str(u): tensor_hash(cloaks[u]) for u in users},
        "data": ds.fingerprint(),
        "identities": ids,
        "split": tensor_hash(protocol.split.train),
        "settings": settings.to_dict(),
    }

    def build() -> dict[str, torch.Tensor]:
        g_idx = protocol.gallery_idx
        g_lab = ds.labels[g_idx]
        images = with_cloaks(ds.images[g_idx], g_lab, {u: cloaks[u] for u in users}, to_uint8)
        net, head = finetune_classifier(model, images, remap[g_lab], settings, device, progress)
        p_idx = protocol.probe_idx
        pred = classify(net, head, ds.images[p_idx], device)
        truth = remap[ds.labels[p_idx]]
        p_lab = ds.labels[p_idx]
        others = ~torch.isin(p_lab, torch.as_tensor(users))
        per_user = [float((pred[p_lab == u] != truth[p_lab == u]).float().mean()) for u in users]
        clean = float((pred[others] == truth[others]).float().mean())
        return {"per_user": torch.tensor(per_user), "clean_accuracy": torch.tensor([clean])}

    out = cached_tensors("evaluation", config, build)
    return {
        "per_user": dict(zip(users, out["per_user"].tolist())),
        "clean_accuracy": float(out["clean_accuracy"][0]),
    }


@dataclass
class AttackEvaluation:
    """Protection of each attacker per attack for one model and one recognition mode, and
    each attacker's own error when unprotected (`clean_per_user`, where measured)."""

    model: str
    mode: str
    per_user: dict[str, dict[int, float]] = field(default_factory=dict)
    clean_accuracy: float = float("nan")
    clean_per_user: dict[int, float] = field(default_factory=dict)

    @property
    def protection_rate(self) -> dict[str, float]:
        return {a: float(np.mean(list(v.values()))) for a, v in self.per_user.items()}

    @property
    def clean_error(self) -> float:
        """The attacking users' error when they post clean pictures (1 - the others' clean
        accuracy where that was not measured, e.g. end to end)."""
        if self.clean_per_user:
            return float(np.mean(list(self.clean_per_user.values())))
        return 1.0 - self.clean_accuracy

    @property
    def excess_protection(self) -> dict[str, float]:
        """Protection rate minus the same users' clean error, per attack."""
        return {a: p - self.clean_error for a, p in self.protection_rate.items()}

    def excess_interval(self, attack: str) -> tuple[float, float]:
        """95% bootstrap interval over users of the excess protection (paired per user)."""
        from ..timeline import excess_interval

        rates = self.per_user[attack]
        if self.clean_per_user and set(self.clean_per_user) == set(rates):
            return excess_interval(list(rates.values()), [self.clean_per_user[u] for u in rates])
        return excess_interval(list(rates.values()), self.clean_error)

    def to_dict(self) -> dict:
        """The block of a results file: protection_rate, protection_rate_per_user, clean_error,
        excess_protection (with its interval)."""
        return {
            "protection_rate": self.protection_rate,
            "protection_rate_per_user": {a: list(v.values()) for a, v in self.per_user.items()},
            "users": {a: list(v) for a, v in self.per_user.items()},
            "clean_error": self.clean_error,
            "clean_error_per_user": list(self.clean_per_user.values()),
            "excess_protection": self.excess_protection,
            "excess_interval": {a: list(self.excess_interval(a)) for a in self.per_user},
            "clean_accuracy": self.clean_accuracy,
            "mode": self.mode,
            "model": self.model,
        }


def excess_table(sides: Mapping[str, AttackEvaluation]) -> pd.DataFrame:
    """One row per (model, attack): protection rate, clean error, excess protection and its
    95% interval over users."""
    rows = []
    for side, ev in sides.items():
        for attack, rate in ev.protection_rate.items():
            lo, hi = ev.excess_interval(attack)
            rows.append(
                {
                    "model": side,
                    "attack": attack,
                    "protection_rate": rate,
                    "clean_error": ev.clean_error,
                    "excess_protection": ev.excess_protection[attack],
                    "interval_low": lo,
                    "interval_high": hi,
                }
            )
    return pd.DataFrame(rows).set_index(["model", "attack"])


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
            ev.clean_per_user = dict(r.clean_per_user)
        accs.append(acc)
    ev.clean_accuracy = float(np.mean(accs)) if accs else float("nan")
    return ev


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
    g_imgs = with_cloaks(
        ds.float_images(g_idx), g_lab, {user: cloaked} if cloaked is not None else {}
    )
    g_emb = embed(model, g_imgs, device=device)
    p_emb = embed(model, ds.images[p_idx], device=device)
    d = torch.cdist(p_emb, g_emb)
    j = d.argmin(1)
    lab, _ = nearest_neighbors(g_emb, g_lab, p_emb, 1)
    return {"probes": ds.images[p_idx], "matches": g_imgs[j], "match_labels": lab[:, 0]}


def recognised_again(
    base: Extractor,
    robust_model: Extractor,
    protocol: Protocol,
    user: int,
    cloaked: torch.Tensor,
    device: torch.device | None = None,
    k: int = 6,
) -> tuple[torch.Tensor, list[str]]:
    """A user's first `k` clean probes, then the gallery pictures the baseline and the robust
    extractor match them with (3 rows of `k` float pictures) and titles (the matched
    identity, ✓ when it is the user)."""
    m_base = nearest_matches(base, protocol, user, cloaked, device)
    m_rob = nearest_matches(robust_model, protocol, user, cloaked, device)
    k = min(k, len(m_base["probes"]))

    def tag(prefix: str, labels: torch.Tensor) -> list[str]:
        return [f"{prefix}: {int(lab)}" + (" ✓" if int(lab) == user else "") for lab in labels[:k]]

    images = torch.cat(
        [m_base["probes"][:k].float() / 255, m_base["matches"][:k], m_rob["matches"][:k]]
    )
    titles = (
        ["probe"] * k + tag("base", m_base["match_labels"]) + tag("robust", m_rob["match_labels"])
    )
    return images, titles
