"""Accuracy and robustness together: top-2 and confidence thresholding (paper §3.5, Fig. 6, App. D).

An *accurate* model (vulnerable to cloaks) and a *robust* model (adaptively trained, less
accurate) answer together:

* `combined_top2`: the accurate model's top-1 and the robust model's top-1;
* `combined_threshold`: the accurate model answers unless its nearest-neighbour distance is
  above a threshold (low confidence); then the robust model answers. The threshold is set
  on the clean probes of half of the non-attacking users (the calibration split) so that
  fewer than 2% of them are rerouted; clean accuracy and rerouting are measured on the
  other half;
* `combined_threshold_detector` (App. D): reroute also when the gallery picture the accurate
  model matched is flagged as cloaked by a detector.

App. D's counter-attack: colluding users. A helper uploads pictures cloaked with a *targeted*
attack toward the protected user's clean embedding, so the protected user's clean probes
are confidently matched to the helper and never rerouted by plain thresholding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .attacks import cloak
from .config import get_device
from .models.base import Extractor
from .recognition import Protocol, embed, nearest_neighbors, with_cloaks

SYSTEMS = (
    "accurate_top1",
    "accurate_top2",
    "robust_top1",
    "combined_top2",
    "combined_threshold",
    "combined_threshold_detector",
)

Scorer = Callable[[torch.Tensor], torch.Tensor]  # float pictures [N, 3, H, W] -> P(cloaked) [N]


def calibrate_threshold(distances: torch.Tensor, max_rerouted: float = 0.02) -> float:
    """The smallest threshold t such that fewer than `max_rerouted` of `distances` are > t.

    A probe is rerouted when its distance is strictly above t.
    """
    d = torch.as_tensor(distances).flatten().float().sort().values
    n = d.numel()
    if n == 0:
        raise ValueError("no distances to calibrate on")
    if not 0 < max_rerouted <= 1:
        raise ValueError(f"max_rerouted must be in (0, 1], got {max_rerouted}")
    k = max(0, math.ceil(max_rerouted * n) - 1)  # how many may be rerouted (k / n < max_rerouted)
    return float(d[n - 1 - k])


def threshold_answer(
    acc_label: torch.Tensor,
    acc_dist: torch.Tensor,
    rob_label: torch.Tensor,
    threshold: float,
    reroute: torch.Tensor | None = None,
) -> torch.Tensor:
    """The thresholding system's answers: the accurate model's label unless rerouted."""
    go = acc_dist > threshold
    if reroute is not None:
        go = go | reroute.bool()
    return torch.where(go, rob_label, acc_label)


@dataclass
class Answers:
    """What the two models answer for a set of probes (true labels in `truth`)."""

    truth: torch.Tensor
    acc_top2: torch.Tensor  # [P, 2] identities by the accurate model
    acc_dist: torch.Tensor  # [P] distance to the accurate model's nearest picture
    acc_match: torch.Tensor  # [P] index (into the gallery) of that nearest picture
    rob_top1: torch.Tensor  # [P]
    match_cloaked: torch.Tensor | None = None  # [P] detector flag of the matched picture

    def correct(self, system: str, threshold: float) -> torch.Tensor:
        """Boolean [P]: is the system's answer (or one of its two answers) right?"""
        a1 = self.acc_top2[:, 0]
        if system == "accurate_top1":
            return a1 == self.truth
        if system == "accurate_top2":
            return (self.acc_top2 == self.truth[:, None]).any(1)
        if system == "robust_top1":
            return self.rob_top1 == self.truth
        if system == "combined_top2":
            return (a1 == self.truth) | (self.rob_top1 == self.truth)
        if system == "combined_threshold":
            return threshold_answer(a1, self.acc_dist, self.rob_top1, threshold) == self.truth
        if system == "combined_threshold_detector":
            flags = self.match_cloaked if self.match_cloaked is not None else torch.zeros_like(a1)
            ans = threshold_answer(a1, self.acc_dist, self.rob_top1, threshold, flags)
            return ans == self.truth
        raise ValueError(f"Unknown system {system!r}; valid: {', '.join(SYSTEMS)}")

    def rerouted(self, threshold: float, with_detector: bool = False) -> torch.Tensor:
        go = self.acc_dist > threshold
        if with_detector and self.match_cloaked is not None:
            go = go | self.match_cloaked.bool()
        return go


def answer(
    acc_gallery: torch.Tensor,
    rob_gallery: torch.Tensor,
    gallery_labels: torch.Tensor,
    acc_probes: torch.Tensor,
    rob_probes: torch.Tensor,
    truth: torch.Tensor,
    gallery_cloaked: torch.Tensor | None = None,
) -> Answers:
    """Both models' answers from embeddings; `gallery_cloaked` [G] are the detector's flags."""
    top2, _ = nearest_neighbors(acc_gallery, gallery_labels, acc_probes, 2)
    d = torch.cdist(acc_probes.float(), acc_gallery.float())
    dist, match = d.min(1)
    rob = nearest_neighbors(rob_gallery, gallery_labels, rob_probes, 1)[0][:, 0]
    flags = None if gallery_cloaked is None else gallery_cloaked[match]
    return Answers(truth, top2, dist, match, rob, flags)


@dataclass
class SystemsResult:
    """Clean accuracy and protection rate of every system, for one or more attacks."""

    threshold: float
    clean: Answers  # the held-out clean probes (non-attacking users outside calibration)
    protection: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)
    calibration: Answers | None = None  # the clean probes the threshold was set on

    def clean_accuracy(self) -> dict[str, float]:
        return {s: float(self.clean.correct(s, self.threshold).float().mean()) for s in SYSTEMS}

    def rerouted_fraction(self, with_detector: bool = False) -> float:
        return float(self.clean.rerouted(self.threshold, with_detector).float().mean())

    def protection_rate(self, attack: str | None = None) -> dict[str, float]:
        """Mean over users (and over attacks when `attack` is None) of each system's error."""
        attacks = [attack] if attack else list(self.protection)
        return {
            s: float(
                np.mean([np.mean([u[s] for u in self.protection[a].values()]) for a in attacks])
            )
            for s in SYSTEMS
        }

    def to_dict(self) -> dict:
        acc = self.clean_accuracy()
        prot = self.protection_rate()
        cal = self.calibration
        return {
            "systems_per_attack": {
                a: {
                    s: {"clean_accuracy": acc[s], "protection_rate": self.protection_rate(a)[s]}
                    for s in SYSTEMS
                }
                for a in self.protection
            },
            "rerouted_fraction_calibration": (
                float(cal.rerouted(self.threshold).float().mean()) if cal is not None else None
            ),
            "n_clean_probes": len(self.clean.truth),
            "n_calibration_probes": len(cal.truth) if cal is not None else 0,
            "systems": {
                s: {
                    "clean_accuracy": acc[s],
                    "protection_rate": prot[s],
                    "protection_rate_per_attack": {
                        a: self.protection_rate(a)[s] for a in self.protection
                    },
                }
                for s in SYSTEMS
            },
            "threshold": self.threshold,
            "rerouted_fraction": self.rerouted_fraction(),
            "rerouted_fraction_with_detector": self.rerouted_fraction(True),
        }


def _flags(
    scorer: Scorer | None, images: torch.Tensor, threshold: float = 0.5
) -> torch.Tensor | None:
    if scorer is None:
        return None
    x = images.float().div(255) if images.dtype == torch.uint8 else images.float()
    return torch.as_tensor(scorer(x)).flatten().cpu() > threshold


@dataclass
class _Views:
    """Both models' embeddings of the clean gallery and probes, and the gallery's flags."""

    acc_g: torch.Tensor
    rob_g: torch.Tensor
    g_lab: torch.Tensor
    acc_p: torch.Tensor
    rob_p: torch.Tensor
    p_lab: torch.Tensor
    flags: torch.Tensor | None


def _views(
    accurate: Extractor,
    robust: Extractor,
    protocol: Protocol,
    detector: Scorer | None,
    device: torch.device,
) -> _Views:
    ds = protocol.ds
    g_idx, p_idx = protocol.gallery_idx, protocol.probe_idx
    acc_all = embed(accurate, ds.images, device=device)
    rob_all = embed(robust, ds.images, device=device)
    return _Views(
        acc_all[g_idx],
        rob_all[g_idx],
        ds.labels[g_idx],
        acc_all[p_idx],
        rob_all[p_idx],
        ds.labels[p_idx],
        _flags(detector, ds.images[g_idx]),
    )


def _with_cloaks(
    v: _Views,
    accurate: Extractor,
    robust: Extractor,
    detector: Scorer | None,
    cloaks: Mapping[int, torch.Tensor],
    device: torch.device,
):
    """Gallery embeddings and flags with each user's scraped pictures replaced by its cloaks."""
    ag = with_cloaks(v.acc_g, v.g_lab, cloaks, lambda c: embed(accurate, c, device=device))
    rg = with_cloaks(v.rob_g, v.g_lab, cloaks, lambda c: embed(robust, c, device=device))
    flags = (
        None
        if v.flags is None
        else with_cloaks(v.flags, v.g_lab, cloaks, lambda c: _flags(detector, c))
    )
    return ag, rg, flags


def evaluate_systems(
    accurate: Extractor,
    robust: Extractor,
    protocol: Protocol,
    cloaks_by_attack: Mapping[str, Mapping[int, torch.Tensor]],
    detector: Scorer | None = None,
    max_rerouted: float = 0.02,
    device: torch.device | None = None,
    seed: int = 0,
) -> SystemsResult:
    """Every system's clean accuracy (non-attacking users, clean gallery) and protection rate
    (each attacker alone in the gallery with its cloaks, as in `evaluate_protection`).

    The non-attacking users are split in two (seeded, by identity): the threshold is
    calibrated on the first half's clean probes; clean accuracy and the rerouted fraction
    are measured on the other half. `detector` maps float pictures to P(cloaked); a flag
    means P > 0.5.
    """
    device = device or get_device()
    v = _views(accurate, robust, protocol, detector, device)
    cal_ids, eval_ids = calibration_split(v.p_lab, protocol.attackers, seed)

    def clean_answers(ids: list[int]) -> Answers:
        m = torch.isin(v.p_lab, torch.as_tensor(ids))
        return answer(v.acc_g, v.rob_g, v.g_lab, v.acc_p[m], v.rob_p[m], v.p_lab[m], v.flags)

    calibration, clean = clean_answers(cal_ids), clean_answers(eval_ids)
    threshold = calibrate_threshold(calibration.acc_dist, max_rerouted)
    result = SystemsResult(threshold, clean, calibration=calibration)
    for attack, cloaks in cloaks_by_attack.items():
        result.protection[attack] = {}
        for user, cl in cloaks.items():
            ag, rg, flags = _with_cloaks(v, accurate, robust, detector, {user: cl}, device)
            mine = v.p_lab == user
            ans = answer(ag, rg, v.g_lab, v.acc_p[mine], v.rob_p[mine], v.p_lab[mine], flags)
            result.protection[attack][int(user)] = {
                s: float(1 - ans.correct(s, threshold).float().mean()) for s in SYSTEMS
            }
    return result


def calibration_split(
    probe_labels: torch.Tensor, attackers: Sequence[int], seed: int = 0
) -> tuple[list[int], list[int]]:
    """(calibration identities, evaluation identities): the non-attacking identities of the
    probes, split in two seeded halves."""
    others = sorted(set(torch.unique(probe_labels).tolist()) - {int(a) for a in attackers})
    if len(others) < 2:
        raise ValueError("need at least two non-attacking identities to calibrate and evaluate")
    order = np.random.default_rng([seed, 23]).permutation(others).tolist()
    half = len(order) // 2
    return sorted(order[:half]), sorted(order[half:])


# --------------------------------------------------------------------------- App. D: collusion
def collusion_pairs(attackers: Sequence[int]) -> list[tuple[int, int]]:
    """Pair attacking users as (helper, protected): (a0, a1), (a2, a3), ..."""
    a = list(attackers)
    return [(a[i], a[i + 1]) for i in range(0, len(a) - 1, 2)]


@torch.no_grad()
def _centroid(model: Extractor, images: torch.Tensor) -> torch.Tensor:
    from .attacks.core import model_device

    return model(images.to(model_device([model]))).mean(0).cpu()


def targeted_collusion_cloaks(
    protocol: Protocol,
    pairs: Sequence[tuple[int, int]],
    surrogate: Extractor,
    mode: str | None = None,
    seed: int = 0,
    profile: str = "quick",
    progress: bool = False,
    **overrides,
) -> dict[int, torch.Tensor]:
    """{helper: its scraped pictures cloaked toward the protected user's clean embedding}.

    Uses `attacks.cloak("fawkes_v03", ...)` with a one-entry target pool given as an
    embedding: Fawkes v0.3 aims at f(x) + 2(c_T - mean f(helper)), so passing
    c_T = (mean f(helper) + c_protected) / 2 lands the target at f(x) + c_protected -
    mean f(helper), i.e. on the protected user's clean centroid (the helper's own spread
    kept). The protected user's clean pictures used are its scraped (gallery) ones.
    `mode=None` takes the profile's `collusion_mode`. `overrides` go to the attack.
    """
    from .profiles import get_profile

    mode = mode or get_profile(profile).collusion_mode
    out = {}
    for helper, protected in pairs:
        pics = protocol.user_train_images(helper)
        c_help = _centroid(surrogate, pics)
        c_prot = _centroid(surrogate, protocol.user_train_images(protected))
        pool = {int(protected): ((c_help + c_prot) / 2)[None]}
        out[int(helper)] = cloak(
            "fawkes_v03",
            pics,
            [surrogate],
            mode=mode,
            seed=seed + helper,
            target_pool=pool,
            profile=profile,
            progress=progress,
            **overrides,
        ).images
    return out


def collusion_protection(
    accurate: Extractor,
    robust: Extractor,
    protocol: Protocol,
    pairs: Sequence[tuple[int, int]],
    helper_cloaks: Mapping[int, torch.Tensor],
    protected_cloaks: Mapping[int, torch.Tensor],
    threshold: float,
    detector: Scorer | None = None,
    device: torch.device | None = None,
) -> dict[str, dict[int, float]]:
    """Protection of each protected user when its helper's targeted cloaks and its own cloaks
    are both in the gallery: {system: {protected user: error on its clean probes}}."""
    device = device or get_device()
    v = _views(accurate, robust, protocol, detector, device)
    out: dict[str, dict[int, float]] = {s: {} for s in SYSTEMS}
    for helper, protected in pairs:
        cloaks = {helper: helper_cloaks[helper], protected: protected_cloaks[protected]}
        ag, rg, flags = _with_cloaks(v, accurate, robust, detector, cloaks, device)
        mine = v.p_lab == protected
        ans = answer(ag, rg, v.g_lab, v.acc_p[mine], v.rob_p[mine], v.p_lab[mine], flags)
        for s in SYSTEMS:
            out[s][int(protected)] = float(1 - ans.correct(s, threshold).float().mean())
    return out
