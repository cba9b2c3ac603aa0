"""Notebook 03's tables (paper §3.3): Table 2 (the mixed-mode Fawkes detector per mode and
the LowKey detector, on the attacking users' pictures), Table 3 (cross-attack transfer), the
frame control, and the pictures a detector is most and least sure about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..config import get_device
from ..models.base import Extractor
from ..profiles import DetectionSizes, DetectorRecipe, get_profile
from ..progress import tqdm
from .detection import (
    DETECTION_ATTACKS,
    DETECTOR_OF,
    DetectionResult,
    DetectionSet,
    evaluate_detector,
    frame_restored,
    get_detector,
    resolve_attack,
    scenario_users,
)
from .detector import Detector, backbone_description

TRANSFER_PAIRS = (("fawkes", "lowkey"), ("lowkey", "fawkes_high"))


@dataclass
class DetectionTables:
    """Table 2 (the mixed-mode Fawkes detector per mode and the LowKey detector, on held-out
    users), Table 3 (cross-attack transfer) and the frame control."""

    detectors: dict[str, Detector]
    test_sets: dict[str, DetectionSet]
    results: dict[str, DetectionResult]
    transfer: dict[str, DetectionResult]
    frame_control: dict[str, DetectionResult]
    train_users: list[int]
    test_users: list[int]
    backbone: str
    seconds: dict[str, float] = field(default_factory=dict)

    def table(self, which: str = "detection"):
        """A DataFrame of accuracy / precision / recall / auc (+ n and intervals), one row per
        test set ("detection"), transfer pair ("transfer") or frame control ("frame")."""
        import pandas as pd

        rows = {"detection": self.results, "transfer": self.transfer, "frame": self.frame_control}
        return pd.DataFrame({k: r.metrics for k, r in rows[which].items()}).T

    def to_dict(self) -> dict:
        """The `detection`, `transfer`, `frame_control` and `backbone` blocks of the results."""
        return {
            "detection": {k: r.metrics for k, r in self.results.items()},
            "transfer": {k: r.metrics for k, r in self.transfer.items()},
            "frame_control": {k: r.metrics for k, r in self.frame_control.items()},
            "detector_of": {k: DETECTOR_OF[k] for k in self.results},
            "backbone": self.backbone,
        }


def attacker_set(scenario, key: str, surrogates: Sequence[Extractor], progress: bool = True):
    """Held-out set of a Table-2 key: every scraped picture of every attacking user, clean
    and cloaked (the users' own cloaks, `experiments.cloak_users`, shared with notebooks 02
    and 04 for the default modes)."""
    from ..experiments import cloak_users

    attack, mode, _ = resolve_attack(key)
    cloaks = cloak_users(
        attack, scenario, surrogates, mode=mode, seed=scenario.seed, progress=progress
    )
    users = list(scenario.protocol.attackers)
    clean = torch.cat([scenario.protocol.user_train_images(u) for u in users])
    who = torch.cat([torch.full((len(cloaks[u]),), int(u)) for u in users])
    return DetectionSet(clean, torch.cat([cloaks[u] for u in users]), who, attack, mode)


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
    """Train the detectors Table 2 needs (`DETECTOR_OF`: one mixed-mode Fawkes detector, one
    LowKey detector) on the training users, score every held-out set (the attacking users'
    pictures, clean and cloaked), each transfer pair (detector -> test set) and the frame
    control (the same sets with the clean border given back)."""
    import time

    from ..experiments import load_surrogates

    recipe = recipe or get_profile(scenario.profile).detector
    sizes = sizes or get_profile(scenario.profile).detection_sizes
    seed = scenario.seed if seed is None else seed
    device = device or get_device()
    train_users, test_users = scenario_users(scenario, sizes, seed)
    wanted = [DETECTOR_OF[k] for k in keys] + [a for a, _ in transfer]
    detectors, test_sets, seconds = {}, {}, {}
    for name in tqdm(list(dict.fromkeys(wanted)), desc="detectors", disable=not progress):
        start = time.perf_counter()
        attack = resolve_attack(name)[0]
        sur = load_surrogates(attack, scenario, device, progress=False)
        detectors[name] = get_detector(
            scenario, name, "high", device, False, recipe, sizes, sur, seed
        )
        seconds[name] = time.perf_counter() - start
    for key in tqdm(
        list(dict.fromkeys([*keys, *(b for _, b in transfer)])),
        desc="held-out sets",
        disable=not progress,
    ):
        start = time.perf_counter()
        sur = load_surrogates(resolve_attack(key)[0], scenario, device, progress=False)
        test_sets[key] = attacker_set(scenario, key, sur, progress=False)
        seconds[key] = time.perf_counter() - start
    results = {
        k: evaluate_detector(
            detectors[DETECTOR_OF[k]], test_sets[k], train_key=DETECTOR_OF[k], test_key=k
        )
        for k in keys
    }
    moved = {
        f"{a}->{b}": evaluate_detector(detectors[a], test_sets[b], train_key=a, test_key=b)
        for a, b in transfer
    }
    frame = {
        k: evaluate_detector(
            detectors[DETECTOR_OF[k]],
            frame_restored(test_sets[k]),
            train_key=DETECTOR_OF[k],
            test_key=k,
        )
        for k in keys
    }
    return DetectionTables(
        detectors,
        test_sets,
        results,
        moved,
        frame,
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
