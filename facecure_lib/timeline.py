"""The oblivious trainer (paper §3.4, Figs. 3-5, 7, App. B.3, Table 4): time is all you need.

The trainer never sees the attack. It only adopts the models that appear after the users
cloaked their pictures. This module measures, for cloaks made once and for all:

* the protection of each attack on every extractor of a timeline, next to a *seed control*
  (the oldest recipe trained again with another seed), and protection minus clean error, so
  that "a newer technique" can be told apart from "any other model" (`attribute_drop`);
* mixed versions: part of a user's pictures cloaked with one attack, the rest with another
  (`mix_cloaks`);
* unprotected pictures: some of the user's scraped pictures left clean (`leave_unprotected`,
  `unprotected_curve`);
* weight interpolation between a generic model and its face-tuned descendant
  (`interpolate_weights`, `interpolated_extractor`, `interpolation_curve`);
* paper profile only: transfer of ImageNet adversarial examples from an old ensemble to newer
  classifiers (`pgd_ensemble`, `transfer_over_time`, torchvision models).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .models.base import IMAGENET_MEAN, IMAGENET_STD, Extractor
from .recognition import ProtectionResult, Protocol, evaluate_protection

# --------------------------------------------------------------------------------------------
# Which models play which role, per profile
# --------------------------------------------------------------------------------------------


UNPROTECTED_LEVELS: tuple[float | str, ...] = (0.0, "1 picture", 0.1, 0.25, 0.5)


def n_clean(n_pictures: int, level: float | str) -> int:
    """How many of `n_pictures` stay clean at a level: a fraction, or "1 picture".

    A positive fraction leaves at least one picture clean (rounded half up).
    """
    if isinstance(level, str):
        if level.strip() != "1 picture":
            raise ValueError(f"Unknown level {level!r}: use a fraction in [0, 1] or '1 picture'")
        return min(1, n_pictures)
    if not 0 <= level <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {level}")
    if level == 0:
        return 0
    return min(n_pictures, max(1, math.floor(level * n_pictures + 0.5)))


# --------------------------------------------------------------------------------------------
# Cloak bookkeeping: unprotected pictures, mixed versions
# --------------------------------------------------------------------------------------------


def leave_unprotected(
    cloaked: torch.Tensor, clean: torch.Tensor, k: int, order: torch.Tensor | None = None
) -> torch.Tensor:
    """Replace `k` cloaked pictures by their clean originals.

    `order` (a permutation of the rows) says which pictures are left clean first: the first
    `k` of it. Without it, the first `k` rows. The inputs are not modified.
    """
    if cloaked.shape != clean.shape:
        raise ValueError(f"cloaked {tuple(cloaked.shape)} and clean {tuple(clean.shape)} differ")
    n = cloaked.shape[0]
    if not 0 <= k <= n:
        raise ValueError(f"k must be in [0, {n}], got {k}")
    order = torch.arange(n) if order is None else torch.as_tensor(order)
    out = cloaked.clone()
    rows = order[:k]
    out[rows] = clean[rows].to(out.dtype)
    return out


def mix_cloaks(
    first: Mapping[int, torch.Tensor], second: Mapping[int, torch.Tensor], share_second: float = 0.5
) -> dict[int, torch.Tensor]:
    """Per user: the first pictures from `first`, the last `share_second` of them from `second`.

    Models a user who cloaked older pictures with one attack version and newer ones with
    another (paper: half Fawkes v0.3, half v1.0).
    """
    if set(first) != set(second):
        raise ValueError("both cloak sets must cover the same users")
    out = {}
    for u, a in first.items():
        b = second[u]
        if a.shape != b.shape:
            raise ValueError(f"user {u}: cloak shapes differ {tuple(a.shape)} vs {tuple(b.shape)}")
        k = n_clean(a.shape[0], share_second) if share_second > 0 else 0
        out[u] = torch.cat([a[: a.shape[0] - k], b[a.shape[0] - k :]])
    return out


def user_orders(protocol: Protocol, seed: int = 0) -> dict[int, torch.Tensor]:
    """A seeded random order of each attacker's scraped pictures (which ones stay clean first)."""
    g = torch.Generator().manual_seed(seed)
    return {
        u: torch.randperm(len(protocol.user_train_idx(u)), generator=g) for u in protocol.attackers
    }


# --------------------------------------------------------------------------------------------
# Evaluations
# --------------------------------------------------------------------------------------------


def evaluate_timeline(
    models: Mapping[str, Extractor],
    protocol: Protocol,
    cloaks: Mapping[str, Mapping[int, torch.Tensor]],
    mode: str = "nn",
    device: torch.device | None = None,
    progress: bool = True,
) -> dict[str, dict[str, ProtectionResult]]:
    """{model: {attack: ProtectionResult}} for every model and every attack's cloaks."""
    out: dict[str, dict[str, ProtectionResult]] = {}
    for name, model in tqdm(models.items(), desc="timeline", disable=not progress, leave=False):
        out[name] = {
            a: evaluate_protection(model, protocol, c, mode=mode, device=device)
            for a, c in cloaks.items()
        }
    return out


def excess_protection(protection: float, clean_error: float) -> float:
    """Protection rate above what the model gets wrong anyway for an unprotected user."""
    return float(protection) - float(clean_error)


def timeline_table(
    results: Mapping[str, Mapping[str, ProtectionResult]],
    infos: Mapping[str, object] | None = None,
    surrogates: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Long table: one row per (model, attack) with protection, clean error and their difference."""
    rows = []
    for m, per_attack in results.items():
        info = (infos or {}).get(m)
        for a, r in per_attack.items():
            rows.append(
                {
                    "model": m,
                    "era": getattr(info, "era", None),
                    "year": getattr(info, "year", None),
                    "attack": a,
                    "protection_rate": r.mean,
                    "clean_accuracy": r.clean_accuracy,
                    "clean_error": r.clean_error,
                    "excess_protection": excess_protection(r.mean, r.clean_error),
                    "surrogate": m in (surrogates or {}).get(a, ()),
                }
            )
    return pd.DataFrame(rows)


def timeline_records(
    results: Mapping[str, Mapping[str, ProtectionResult]], infos: Mapping[str, object]
) -> list[dict]:
    """The results-file form: [{model, era, year, clean_accuracy, protection_rate: {attack: mean},
    excess_protection: {attack: ...}, protection_rate_per_user: {attack: [...]}}]."""
    out = []
    for m, per_attack in results.items():
        any_r = next(iter(per_attack.values()))
        info = infos[m]
        out.append(
            {
                "model": m,
                "era": getattr(info, "era", None),
                "year": getattr(info, "year", None),
                "stands_for": getattr(info, "stands_for", ""),
                "clean_accuracy": any_r.clean_accuracy,
                "clean_error": any_r.clean_error,
                "protection_rate": {a: r.mean for a, r in per_attack.items()},
                "excess_protection": {
                    a: excess_protection(r.mean, r.clean_error) for a, r in per_attack.items()
                },
                "protection_rate_per_user": {
                    a: list(r.per_user.values()) for a, r in per_attack.items()
                },
            }
        )
    return out


@dataclass(frozen=True)
class Attribution:
    """Why protection fell for one attack: a newer technique, or merely another model.

    All three numbers are protection minus clean error: on the attack's own (white-box)
    surrogates, on the *other old* models (same era or older, not surrogates; the seed control
    is one of them), and averaged over the later, non-surrogate models of the timeline.
    """

    attack: str
    own: float
    other_old: float
    newer: float
    verdict: str  # "newer technique", "any other model", "both", "no drop"

    def sentence(self) -> str:
        o, c, n = self.own, self.other_old, self.newer
        return {
            "no drop": f"{self.attack}: later models do not remove the protection (excess {o:.2f} "
            f"on its surrogates, {n:.2f} on later models; {c:.2f} on other old models): time "
            "alone does not beat this attack here.",
            "any other model": f"{self.attack}: other old models (the seed control among them) "
            f"already remove the protection (excess {o:.2f} -> {c:.2f}) and later models do no "
            f"better ({n:.2f}): the data supports 'any other model', not 'a newer technique'.",
            "newer technique": f"{self.attack}: other old models keep the protection (excess "
            f"{c:.2f}) but later models remove it ({n:.2f}): the data supports 'a newer "
            "technique'.",
            "both": f"{self.attack}: other old models remove part of the protection (excess "
            f"{o:.2f} -> {c:.2f}) and later models remove more ({n:.2f}): both effects are "
            "at work.",
        }[self.verdict]


def attribute_drop(
    attack: str, own: float, other_old: float, newer: float, margin: float = 0.1
) -> Attribution:
    """Tell apart the drop in excess protection caused by another model of the same era (e.g.
    another seed) and the one caused by time. `margin` is the difference treated as real."""
    if own - newer <= margin:
        verdict = "no drop"
    elif other_old <= newer + margin:
        verdict = "any other model"
    elif own - other_old <= margin:
        verdict = "newer technique"
    else:
        verdict = "both"
    return Attribution(attack, float(own), float(other_old), float(newer), verdict)


def attribution_inputs(
    records: Sequence[Mapping],
    seed_control: Mapping | None,
    attack: str,
    surrogates: Sequence[str],
    key: str = "excess_protection",
) -> tuple[float, float, float]:
    """(own, other_old, newer) for `attribute_drop` from timeline records (oldest first):
    best over the attack's surrogates; mean over non-surrogate models up to the newest
    surrogate's position plus the seed control; mean over the models after it."""
    names = [r["model"] for r in records]
    pos = [names.index(s) for s in surrogates if s in names]
    if not pos:
        raise ValueError(f"none of {list(surrogates)} is on the timeline")
    own = max(records[i][key][attack] for i in pos)
    old = [r[key][attack] for r in records[: max(pos) + 1] if r["model"] not in surrogates]
    if seed_control is not None:
        old.append(seed_control[key][attack])
    newer = [r[key][attack] for r in records[max(pos) + 1 :]]
    mean = lambda v: float(np.mean(v)) if v else float("nan")  # noqa: E731
    return own, mean(old), mean(newer)


def unprotected_curve(
    model: Extractor,
    protocol: Protocol,
    cloaks: Mapping[int, torch.Tensor],
    levels: Sequence[float | str] = UNPROTECTED_LEVELS,
    seed: int = 0,
    device: torch.device | None = None,
) -> list[dict]:
    """Protection when a share of each user's scraped pictures is left clean (Fig. 7).

    The clean pictures are chosen by a seeded order per user, nested across levels (a picture
    left clean at 10% stays clean at 25%).
    """
    orders = user_orders(protocol, seed)
    out = []
    for level in levels:
        mixed, ks = {}, []
        for u, cl in cloaks.items():
            k = n_clean(cl.shape[0], level)
            ks.append(k / cl.shape[0])
            mixed[u] = leave_unprotected(cl, protocol.user_train_images(u), k, orders[u])
        r = evaluate_protection(model, protocol, mixed, device=device)
        out.append(
            {
                "level": str(level),
                "fraction": float(np.mean(ks)),
                "protection_rate": r.mean,
                "protection_rate_per_user": list(r.per_user.values()),
                "clean_error": r.clean_error,
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# Weight interpolation (App. B.3)
# --------------------------------------------------------------------------------------------


def interpolate_weights(
    generic: Mapping[str, torch.Tensor], tuned: Mapping[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """theta = alpha * theta_tuned + (1 - alpha) * theta_generic, entry by entry.

    Floating-point entries (weights *and* BatchNorm running statistics) are interpolated;
    integer entries (BatchNorm's `num_batches_tracked`) are taken from the tuned model.
    """
    if set(generic) != set(tuned):
        raise ValueError(f"state dicts differ in keys: {sorted(set(generic) ^ set(tuned))[:5]}")
    out = {}
    for k, t in tuned.items():
        g = generic[k]
        if g.shape != t.shape:
            raise ValueError(f"{k}: shapes differ {tuple(g.shape)} vs {tuple(t.shape)}")
        out[k] = (alpha * t + (1 - alpha) * g).to(t.dtype) if t.is_floating_point() else t.clone()
    return out


@torch.no_grad()
def reestimate_batchnorm(
    model: Extractor,
    images: torch.Tensor,
    batch_size: int = 128,
    device: torch.device | None = None,
) -> Extractor:
    """Recompute BatchNorm running statistics on `images` (uint8 or float) with fixed weights."""
    device = device or next(model.parameters()).device
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size]
        x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
        model(x.to(device))
    return model.eval()


def interpolated_extractor(
    generic: Extractor,
    tuned: Extractor,
    alpha: float,
    bn: str = "interpolate",
    calibration: torch.Tensor | None = None,
) -> Extractor:
    """A copy of `tuned` with interpolated weights; `bn` = "interpolate" or "reestimate".

    "reestimate" recomputes BatchNorm statistics on `calibration` pictures (e.g. the public ones).
    """
    if bn not in ("interpolate", "reestimate"):
        raise ValueError(f"bn must be 'interpolate' or 'reestimate', got {bn!r}")
    if bn == "reestimate" and calibration is None:
        raise ValueError("bn='reestimate' needs calibration pictures")
    model = copy.deepcopy(tuned)
    model.load_state_dict(interpolate_weights(generic.state_dict(), tuned.state_dict(), alpha))
    if bn == "reestimate":
        reestimate_batchnorm(model, calibration)
    model.name = f"interp(a={alpha:g})"
    model.cache_key = f"interp[{generic.cache_key}|{tuned.cache_key}|a={alpha:.4f}|bn={bn}]"
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def interpolation_curve(
    generic: Extractor,
    tuned: Extractor,
    protocol: Protocol,
    cloaks: Mapping[str, Mapping[int, torch.Tensor]],
    alphas: Sequence[float] = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    bn: str = "interpolate",
    calibration: torch.Tensor | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> list[dict]:
    """Clean accuracy and protection against each attack along the interpolation path."""
    out = []
    for a in tqdm(alphas, desc="interpolation", disable=not progress, leave=False):
        m = interpolated_extractor(generic, tuned, float(a), bn, calibration)
        if device is not None:
            m = m.to(device)
        res = {k: evaluate_protection(m, protocol, c, device=device) for k, c in cloaks.items()}
        first = next(iter(res.values()))
        out.append(
            {
                "alpha": float(a),
                "clean_accuracy": first.clean_accuracy,
                "protection_rate": {k: r.mean for k, r in res.items()},
            }
        )
    return out


def best_tradeoff(
    curve: Sequence[Mapping], attack: str, max_accuracy_drop: float = 0.03
) -> dict | None:
    """The point of an interpolation curve that keeps accuracy within `max_accuracy_drop` of the
    tuned model (alpha = 1) and has the lowest protection against `attack`; None if no point."""
    tuned = max(curve, key=lambda r: r["alpha"])
    ok = [
        r
        for r in curve
        if r["clean_accuracy"] >= tuned["clean_accuracy"] - max_accuracy_drop - 1e-9
    ]
    if not ok:
        return None
    best = min(ok, key=lambda r: (r["protection_rate"][attack], -r["alpha"]))
    return {
        "alpha": best["alpha"],
        "clean_accuracy": best["clean_accuracy"],
        "protection_rate": best["protection_rate"][attack],
        "tuned_clean_accuracy": tuned["clean_accuracy"],
        "tuned_protection_rate": tuned["protection_rate"][attack],
        "protection_drop": tuned["protection_rate"][attack] - best["protection_rate"][attack],
        "accuracy_drop": tuned["clean_accuracy"] - best["clean_accuracy"],
    }


# --------------------------------------------------------------------------------------------
# Table 4 (paper profile): ImageNet adversarial examples over time, torchvision classifiers
# --------------------------------------------------------------------------------------------

# Our choice of stand-ins for the paper's classifiers (torchvision names, year of the recipe).
TABLE4_SOURCES: dict[str, int] = {"vgg16": 2014, "googlenet": 2014, "resnet50": 2015}
TABLE4_TARGETS: dict[str, int] = {
    "resnet101": 2015,
    "densenet121": 2017,
    "resnext101_32x8d": 2017,
    "vit_b_16": 2021,
}

# Imagenette (fast.ai's 10-class ImageNet subset): WordNet id -> ImageNet-1k class index.
IMAGENETTE_CLASSES = {
    "n01440764": 0,
    "n02102040": 217,
    "n02979186": 482,
    "n03000684": 491,
    "n03028079": 497,
    "n03394916": 566,
    "n03417042": 569,
    "n03425413": 571,
    "n03445777": 574,
    "n03888605": 701,
}


class Normalized(nn.Module):
    """A classifier that takes pictures in [0, 1] and normalises (and resizes) them itself."""

    def __init__(
        self, net: nn.Module, mean=IMAGENET_MEAN, std=IMAGENET_STD, size: int | None = 224
    ):
        super().__init__()
        self.net, self.size = net, size
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size is not None and x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        out = self.net((x - self.mean) / self.std)
        return out.logits if hasattr(out, "logits") else out


def torchvision_classifier(name: str, weights: str | None = "DEFAULT", **kwargs) -> Normalized:
    """A torchvision ImageNet classifier (weights download: Colab) wrapped to take [0, 1] input.

    `weights=None` builds random weights offline (tests); `kwargs` go to the builder
    (e.g. num_classes=10 for a tiny random model).
    """
    import torchvision

    try:
        builder = torchvision.models.get_model_builder(name)
    except ValueError as err:
        raise ValueError(f"Unknown torchvision model {name!r}") from err
    if name == "googlenet" and weights is None:
        kwargs.setdefault("aux_logits", False)
        kwargs.setdefault("init_weights", True)
    net = builder(weights=weights, **kwargs).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return Normalized(net).eval()


def pgd_ensemble(
    models: Sequence[nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float = 16 / 255,
    steps: int = 10,
    step_size: float | None = None,
    random_start: bool = True,
    seed: int = 0,
) -> torch.Tensor:
    """Untargeted L-inf PGD on the mean cross-entropy of an ensemble; returns x' in [0, 1].

    Every step: x' <- clip(x' + step_size * sign(grad), x - eps, x + eps, 0, 1).
    """
    if not models:
        raise ValueError("at least one model is needed")
    step_size = step_size if step_size is not None else 2.5 * eps / steps
    g = torch.Generator().manual_seed(seed)
    x = x.detach().float()
    delta = (
        (torch.rand(x.shape, generator=g) * 2 - 1) * eps if random_start else torch.zeros_like(x)
    )
    xa = (x + delta.to(x.device)).clamp(0, 1)
    for _ in range(steps):
        xa.requires_grad_(True)
        loss = sum(F.cross_entropy(m(xa), y) for m in models) / len(models)
        (grad,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            xa = xa + step_size * grad.sign()
            xa = torch.min(torch.max(xa, x - eps), x + eps).clamp(0, 1)
    return xa.detach()


@torch.no_grad()
def top1(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 64) -> float:
    """Top-1 accuracy of a classifier on pictures in [0, 1]."""
    hits = 0
    for i in range(0, len(x), batch_size):
        hits += int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
    return hits / max(1, len(x))


def transfer_over_time(
    sources: Mapping[str, nn.Module],
    targets: Mapping[str, nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    years: Mapping[str, int] | None = None,
    eps: float = 16 / 255,
    steps: int = 10,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Craft PGD examples on the `sources` ensemble, then clean and adversarial top-1 of every
    source (white-box) and target (transfer) model: one row per model."""
    device = images.device
    adv = []
    for i in tqdm(
        range(0, len(images), batch_size),
        desc="PGD on the old ensemble",
        disable=not progress,
        leave=False,
    ):
        adv.append(
            pgd_ensemble(
                list(sources.values()),
                images[i : i + batch_size],
                labels[i : i + batch_size].to(device),
                eps,
                steps,
                seed=seed + i,
            )
        )
    adv = torch.cat(adv)
    rows = []
    for role, group in (("source", sources), ("target", targets)):
        for name, m in group.items():
            rows.append(
                {
                    "model": name,
                    "year": (years or {}).get(name),
                    "role": role,
                    "clean_top1": top1(m, images, labels),
                    "adversarial_top1": top1(m, adv, labels),
                }
            )
    return pd.DataFrame(rows)


def load_imagenet_folder(
    path: str | Path,
    per_class: int = 10,
    size: int = 224,
    class_index: Mapping[str, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pictures from a folder of WordNet-id sub-folders (ImageNet val layout, or Imagenette).

    Labels: `class_index` if given, else the Imagenette table when every folder is in it, else
    the sorted order of the folders (right for the full 1000-class layout only).
    """
    from PIL import Image

    root = Path(path)
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not folders:
        raise FileNotFoundError(f"{root}: expected one sub-folder per WordNet id (n01440764, ...)")
    if class_index is None:
        names = [f.name for f in folders]
        class_index = (
            IMAGENETTE_CLASSES
            if set(names) <= set(IMAGENETTE_CLASSES)
            else {n: i for i, n in enumerate(names)}
        )
    xs, ys = [], []
    for f in folders:
        files = sorted(p for p in f.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[
            :per_class
        ]
        for p in files:
            img = Image.open(p).convert("RGB")
            w, h = img.size
            s = min(w, h)
            img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize(
                (size, size)
            )
            xs.append(torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255)
            ys.append(class_index[f.name])
    return torch.stack(xs), torch.tensor(ys)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def plot_timeline(
    records: Sequence[Mapping],
    seed_control: Mapping | None = None,
    surrogates: Mapping[str, Sequence[str]] | None = None,
):
    """Figs. 4-5 style: protection (left) and protection minus clean error (right) along the
    timeline, one line per attack, clean error as reference; the seed control as hollow markers,
    and each attack's own surrogates circled."""
    import matplotlib.pyplot as plt

    from .plots import PALETTE

    names = [r["model"] for r in records]
    attacks = list(records[0]["protection_rate"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=False)
    xs = np.arange(len(names))
    for ax, key, title in (
        (axes[0], "protection_rate", "protection rate"),
        (axes[1], "excess_protection", "protection rate - clean error"),
    ):
        for a in attacks:
            ys = [r[key][a] for r in records]
            ax.plot(xs, ys, "-o", color=PALETTE.get(a), label=a)
            for x, n in zip(xs, names):
                if n in (surrogates or {}).get(a, ()):
                    ax.plot(
                        x,
                        records[names.index(n)][key][a],
                        "o",
                        ms=13,
                        mfc="none",
                        color=PALETTE.get(a),
                    )
            if seed_control is not None:
                ax.plot(-1, seed_control[key][a], "D", mfc="none", ms=8, color=PALETTE.get(a))
        if key == "protection_rate":
            ax.plot(
                xs,
                [r["clean_error"] for r in records],
                "--",
                color=PALETTE["clean"],
                label="clean error",
            )
            if seed_control is not None:
                ax.plot(-1, seed_control["clean_error"], "x", color=PALETTE["clean"])
        ax.axhline(0, color="k", lw=0.5)
        labels = (
            [f"{seed_control['model']}\n(seed control)"] if seed_control is not None else []
        ) + [f"{n}\n{r.get('year', '')}" for n, r in zip(names, records)]
        ticks = ([-1] if seed_control is not None else []) + list(xs)
        ax.set_xticks(ticks, labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(-0.25 if key != "protection_rate" else 0, 1.05)
        ax.set_title(title)
    axes[0].legend(fontsize=8)
    axes[0].set_ylabel("error on the user's clean probes")
    fig.tight_layout()
    return fig


def plot_unprotected(curves: Mapping[str, Sequence[Mapping]]):
    """Fig. 7 style: protection against the share of the user's pictures left clean."""
    import matplotlib.pyplot as plt

    from .plots import PALETTE

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for a, curve in curves.items():
        ax.plot(
            [c["fraction"] for c in curve],
            [c["protection_rate"] for c in curve],
            "-o",
            color=PALETTE.get(a),
            label=a,
        )
    ax.set_xlabel("share of the user's scraped pictures left unprotected")
    ax.set_ylabel("protection rate (own surrogate)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_interpolation(curve: Sequence[Mapping]):
    """App. B.3 style: clean accuracy and protection against each attack along alpha."""
    import matplotlib.pyplot as plt

    from .plots import PALETTE

    alphas = [c["alpha"] for c in curve]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.plot(alphas, [c["clean_accuracy"] for c in curve], "-s", color="k", label="clean accuracy")
    for a in curve[0]["protection_rate"]:
        ax.plot(
            alphas,
            [c["protection_rate"][a] for c in curve],
            "-o",
            color=PALETTE.get(a, "#8172B3"),
            label=f"protection: {a}",
        )
    ax.set_xlabel("alpha  (0 = generic model, 1 = face-tuned model)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def vulnerable_attacks(
    protection_on_tuned: Mapping[str, float], clean_error: float, threshold: float = 0.3
) -> list[str]:
    """Attacks whose protection on the tuned model exceeds its clean error by `threshold`:
    only those can show the interpolation's effect (a model that resists an attack already
    has nothing to gain from interpolation)."""
    return [a for a, p in protection_on_tuned.items() if p - clean_error >= threshold]
