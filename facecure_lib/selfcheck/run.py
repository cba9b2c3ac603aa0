"""The check itself: one person's photos against every recogniser, in a few named steps.

1. `read_photos`: list, pair and decode the folder (bad input fails here, before any model);
2. `open_world`: the trainer's scenario and the gallery of other people;
3. `pick_recognisers`: the extractors to ask, oldest to newest;
4. `posted_pictures`: what goes online, i.e. the person's cloaked gallery photos (their own
   cloaks, or a built-in attack's);
5. `score_recognisers`: protection per recogniser, with an interval and the unprotected
   error, plus the adaptively robust recogniser when it can be had;
6. `measure_cloak`: how big the cloak is, and whether the trainer's detector flags it.

All of it runs inside `folder_unchanged`: a check that changed a byte of the photo folder
raises instead of returning.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..config import check_profile
from ..data.dataset import FaceDataset, subset
from ..models.base import Extractor
from ..profiles import get_profile
from ..progress import tqdm
from ..recognition import Protocol, evaluate_protection
from ..scenario import Scenario
from .inputs import PhotoFolder, Photos, folder_unchanged, load_photos, scan_photos
from .names import resolve_pattern
from .result import CheckResult
from .spec import DEFENSE_MODES, MIN_PICTURES, CheckInputError
from .stats import outcome, wilson_interval
from .world import build_protocol, load_detector, load_models, load_robust, load_world


@dataclass
class Posted:
    """The person's pictures as the trainer scrapes them, and how they were cloaked."""

    gallery_cloaked: torch.Tensor  # float [n_gallery, 3, S, S] in [0, 1]
    clean: torch.Tensor  # uint8 pictures whose cloaks are measured ...
    cloaked: torch.Tensor  # ... and their cloaked versions (uint8)
    source: str
    surrogates: list[str]
    mode: str | None


def check_options(profile: str, defenses: str, attack: str | None, mode: str | None) -> str | None:
    """Validate the options; return the built-in attack's mode (its default when None)."""
    if defenses not in DEFENSE_MODES:
        raise ValueError(f"defenses must be one of {', '.join(DEFENSE_MODES)}, got {defenses!r}")
    if attack is None:
        return mode
    from ..attacks import attack_params

    try:
        return attack_params(attack, mode, profile)[0]
    except ValueError as err:
        raise CheckInputError(
            "--attack/--mode", [(f"{attack} {mode or ''}".strip(), str(err))]
        ) from None


def read_photos(
    folder: PhotoFolder,
    gallery: Any,
    scenario: Scenario | None,
    profile: str,
    align: bool,
    min_pictures: int,
    progress: bool,
) -> Photos:
    """Decode the photos at the size the recognisers will see (the gallery's)."""
    if isinstance(gallery, FaceDataset):
        size = gallery.image_size
    elif scenario is not None:
        size = scenario.ds.image_size
    else:
        size = get_profile(profile).sizes.image_size
    return load_photos(folder, size, align, min_pictures, progress)


def open_world(
    profile: str,
    scenario: Scenario | None,
    gallery: Any,
    scenario_seed: int,
    align: bool,
    progress: bool,
) -> tuple[Scenario, FaceDataset, str]:
    """(scenario, gallery of other people, a description of the gallery)."""
    if scenario is None:
        return load_world(profile, scenario_seed, gallery, align, progress)
    if isinstance(gallery, FaceDataset):
        return scenario, gallery, gallery.name
    return (
        scenario,
        subset(scenario.ds, scenario.private, "scenario identities"),
        f"{len(scenario.private)} identities of the given scenario",
    )


def pick_recognisers(
    profile: str,
    extractors: Sequence[str] | None,
    models: Mapping[str, Extractor] | None,
    scenario: Scenario,
    device: torch.device | None,
    progress: bool,
) -> tuple[dict[str, Extractor], list[str], list[str]]:
    """(loaded models, the names to ask in order, notes on models that could not load)."""
    from ..zoo import available, info

    names = (
        list(extractors)
        if extractors is not None
        else (list(models) if models else available(profile))
    )
    unknown = [n for n in names if models is None or n not in models]
    if extractors is not None:
        try:
            for n in unknown:
                info(n)
        except ValueError as err:
            raise CheckInputError("--extractors", [(",".join(names), str(err))]) from None
    loaded, notes = dict(models or {}), []
    if unknown:
        more, notes = load_models(unknown, scenario, device, progress)
        loaded.update(more)
    order = [n for n in names if n in loaded]
    if not order:
        raise CheckInputError(
            "--extractors",
            [(",".join(names), "no recogniser could be loaded: " + "; ".join(notes))],
        )
    return loaded, order, notes


def posted_pictures(
    photos: Photos,
    tr: list[int],
    attack: str | None,
    mode: str | None,
    pattern: str | None,
    profile: str,
    scenario: Scenario,
    loaded: dict[str, Extractor],
    seed: int,
    device: torch.device | None,
    progress: bool,
) -> Posted:
    """The cloaked versions of the gallery photos: the person's own, or a built-in attack's
    (crafted against the profile's surrogates of that attack; `loaded` gains them)."""
    if attack is None:
        return Posted(
            photos.cloaked[tr].float() / 255,
            photos.clean,
            photos.cloaked,
            f"your cloaked photos (pattern {pattern})",
            [],
            mode,
        )
    from ..attacks import cloak
    from ..experiments import surrogate_names, target_pool

    names = surrogate_names(attack, profile)
    need = [n for n in names if n not in loaded]
    if need:
        more, load_notes = load_models(need, scenario, device, progress)
        if load_notes:
            raise RuntimeError("cannot run the built-in attack: " + "; ".join(load_notes))
        loaded.update(more)
    res = cloak(
        attack,
        photos.clean[tr].float() / 255,
        [loaded[n] for n in names],
        mode=mode,
        seed=seed,
        target_pool=target_pool(scenario) if attack == "fawkes_v03" else None,
        profile=profile,
        progress=progress,
    )
    mode = res.config.get("mode", mode)
    return Posted(
        res.images,
        photos.clean[tr],
        (res.images * 255).round().to(torch.uint8),
        f"built-in {attack} ({mode}) against {', '.join(names)}",
        names,
        mode,
    )


def model_meta(name: str) -> dict:
    """Year and what a recogniser stands for (empty for models outside the zoo)."""
    from ..zoo import info

    try:
        i = info(name)
        return {"year": i.year, "stands_for": i.stands_for, "trained_on": i.trained_on}
    except ValueError:
        return {"year": None, "stands_for": "", "trained_on": "unknown"}


def score_row(
    name: str,
    model: Extractor,
    protocol: Protocol,
    gallery_cloaked: torch.Tensor,
    device: torch.device | None,
    role: str,
    meta: dict,
) -> dict:
    """One recogniser's line of the report: protection with its interval, and the error it
    makes when the clean photos are posted instead."""
    user = protocol.attackers[0]
    prot = evaluate_protection(model, protocol, {user: gallery_cloaked}, device=device)
    base = evaluate_protection(model, protocol, {}, device=device)
    rate, n = prot.per_user[user], prot.n_probes[user]
    k = int(round(rate * n))
    lo, hi = wilson_interval(k, n)
    return {
        "recogniser": name,
        "year": meta.get("year"),
        "stands_for": meta.get("stands_for", ""),
        "trained_on": meta.get("trained_on", "unknown"),
        "protection_rate": rate,
        "missed": k,
        "n_probes": n,
        "ci_low": lo,
        "ci_high": hi,
        "unprotected_error": base.per_user[user],
        "excess_protection": rate - base.per_user[user],
        "others_accuracy": prot.clean_accuracy,
        "outcome": outcome(rate),
        "role": role,
    }


def score_recognisers(
    order: list[str],
    loaded: dict[str, Extractor],
    protocol: Protocol,
    posted: Posted,
    scenario: Scenario,
    defenses: str,
    device: torch.device | None,
    progress: bool,
) -> tuple[pd.DataFrame, list]:
    """The report's table (oldest to newest, then the robust recogniser); notes."""
    rows, notes = [], []
    for name in tqdm(order, desc="recognisers", disable=not progress, leave=False):
        role = "surrogate of the attack" if name in posted.surrogates else ""
        rows.append(
            score_row(
                name, loaded[name], protocol, posted.gallery_cloaked, device, role, model_meta(name)
            )
        )
    robust, robust_note = load_robust(scenario, defenses, device, progress=progress)
    if robust is not None:
        rows.append(
            score_row(
                getattr(robust, "name", "robust"),
                robust,
                protocol,
                posted.gallery_cloaked,
                device,
                "adaptively robust (trained on cloaked pictures)",
                {
                    "year": None,
                    "stands_for": "the paper's adaptive trainer (§3.3)",
                    "trained_on": "generated faces, then cloaked pictures (this package)",
                },
            )
        )
    else:
        notes.append(f"adaptively robust recogniser {robust_note}")
    table = pd.DataFrame(rows)
    # whole years, also when a row has none (the adaptively robust one): never 2015.0
    table["year"] = table["year"].astype("Int64")
    return table, notes


def perturbation_summary(clean: torch.Tensor, cloaked: torch.Tensor) -> tuple[dict, pd.DataFrame]:
    """Size of the cloak over the photos (DSSIM, largest change, PSNR) and the per-photo table."""
    from ..attacks import perturbation_report

    rep = perturbation_report(clean.float() / 255, cloaked.float() / 255)
    summary = {
        "n": len(rep),
        "dssim_mean": float(rep["dssim"].mean()),
        "dssim_max": float(rep["dssim"].max()),
        "linf_255_max": float(rep["linf_255"].max()),
        "psnr_mean": float(rep["psnr"].replace(np.inf, np.nan).mean()),
        "unchanged": int((rep["linf"] == 0).sum()),
    }
    return summary, rep


def detector_verdict(detector: Any, clean: torch.Tensor, cloaked: torch.Tensor) -> dict:
    """How many of the cloaked (and of the clean) photos the detector flags, and its AUC."""
    from sklearn.metrics import roc_auc_score

    def scores(x: torch.Tensor) -> np.ndarray:
        out = detector.score(x.float() / 255)
        out = out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out)
        return out.astype(float).reshape(-1)

    s_cl, s_cc = scores(clean), scores(cloaked)
    y = np.r_[np.zeros(len(s_cl)), np.ones(len(s_cc))]
    return {
        "ran": True,
        "flagged": int((s_cc > 0.5).sum()),
        "n_cloaked": len(s_cc),
        "flagged_rate": float((s_cc > 0.5).mean()),
        "false_alarms": int((s_cl > 0.5).sum()),
        "n_clean": len(s_cl),
        "mean_score_cloaked": float(s_cc.mean()),
        "mean_score_clean": float(s_cl.mean()),
        "auc": float(roc_auc_score(y, np.r_[s_cl, s_cc])),
    }


def measure_cloak(
    posted: Posted, scenario: Scenario, defenses: str, device: torch.device | None, progress: bool
) -> tuple[dict, pd.DataFrame, dict, list[str]]:
    """(perturbation summary, per-photo table, detection block, notes)."""
    perturbation, rep = perturbation_summary(posted.clean, posted.cloaked)
    notes = []
    if perturbation["unchanged"]:
        notes.append(
            f"{perturbation['unchanged']} cloaked photo(s) are pixel-identical to their "
            "clean photo after cropping and resizing: the tool changed nothing there"
        )
    detector, det_note = load_detector(scenario, defenses, device=device, progress=progress)
    detection = (
        {"ran": False, "note": det_note}
        if detector is None
        else {
            **detector_verdict(detector, posted.clean, posted.cloaked),
            "trained_on": "fawkes_v10 (high) cloaks of the trainer's own users",
        }
    )
    return perturbation, rep, detection, notes


def check_cloak(
    photos_dir: str | os.PathLike,
    *,
    profile: str | None = "quick",
    seed: int = 0,
    pattern: str | None = "fawkes",
    attack: str | None = None,
    mode: str | None = None,
    extractors: Sequence[str] | None = None,
    gallery: str | os.PathLike | FaceDataset | None = None,
    align: bool = False,
    min_pictures: int = MIN_PICTURES,
    defenses: str = "cached",
    scenario_seed: int = 0,
    scenario: Scenario | None = None,
    models: Mapping[str, Extractor] | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> CheckResult:
    """Check one person's cloaked photos against every recogniser of a profile.

    `photos_dir` holds clean photos and their cloaked versions (named by `pattern`), or, with
    `attack` (fawkes_v03 | fawkes_v10 | lowkey, `mode`), clean photos only, which the check
    cloaks itself against the profile's surrogates. `seed` picks the 70/30 split (and the
    built-in attack's randomness); `scenario_seed` the world (which trained models). Pass
    `scenario`/`models` to reuse loaded ones. The input folder is never written; a change to
    any of its files raises RuntimeError. Bad input raises `CheckInputError`.
    """
    profile = check_profile(profile)
    mode = check_options(profile, defenses, attack, mode)
    folder = Path(photos_dir).expanduser()
    pattern_used = resolve_pattern(pattern) if attack is None else None
    with folder_unchanged(folder):
        listing = scan_photos(
            folder, pattern or "fawkes", builtin_attack=attack is not None, raise_problems=False
        )
        photos = read_photos(listing, gallery, scenario, profile, align, min_pictures, progress)
        scenario, gallery_ds, gallery_desc = open_world(
            profile, scenario, gallery, scenario_seed, align, progress
        )
        if gallery_ds.image_size != photos.clean.shape[-1]:  # e.g. a gallery of another size
            photos = load_photos(listing, gallery_ds.image_size, align, min_pictures, False)
        person = folder.resolve().name or "you"
        protocol, tr, te = build_protocol(gallery_ds, photos.clean, person, seed)
        loaded, order, load_notes = pick_recognisers(
            profile, extractors, models, scenario, device, progress
        )
        posted = posted_pictures(
            photos,
            tr,
            attack,
            mode,
            pattern_used,
            profile,
            scenario,
            loaded,
            seed,
            device,
            progress,
        )
        table, score_notes = score_recognisers(
            order, loaded, protocol, posted, scenario, defenses, device, progress
        )
        perturbation, rep, detection, cloak_notes = measure_cloak(
            posted, scenario, defenses, device, progress
        )
    k = min(4, len(posted.clean))
    return CheckResult(
        folder=str(folder.resolve()),
        person=person,
        profile=profile,
        seed=seed,
        source=posted.source,
        pattern=pattern_used,
        attack=attack,
        mode=posted.mode,
        surrogates=posted.surrogates,
        gallery={
            "description": gallery_desc,
            "identities": gallery_ds.n_identities,
            "pictures": len(gallery_ds),
            "image_size": gallery_ds.image_size,
        },
        gallery_photos=[photos.names[i] for i in tr],
        probe_photos=[photos.names[i] for i in te],
        table=table,
        detection=detection,
        perturbation=perturbation,
        notes=list(listing.notes) + load_notes + score_notes + cloak_notes,
        clean_examples=posted.clean[:k].float() / 255,
        cloaked_examples=posted.cloaked[:k].float() / 255,
        example_titles=[f"DSSIM {d:.3f}" for d in rep["dssim"][:k]],
        created=_dt.datetime.now().replace(microsecond=0).isoformat(),
    )
