"""The world a photo folder is checked in: the trainer's scenario, the gallery of other
people, the recognisers, and (when available) the trainer's defenses."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from ..config import check_profile
from ..data.dataset import FaceDataset, Split, split_per_identity, subset
from ..models.base import Extractor
from ..progress import tqdm
from ..recognition import Protocol
from ..scenario import Scenario
from .stats import split_photos


def load_world(
    profile: str,
    seed: int = 0,
    gallery: str | os.PathLike | FaceDataset | None = None,
    align: bool = False,
    progress: bool = True,
) -> tuple[Scenario, FaceDataset, str]:
    """The scenario (trainer's data, surrogates) and the gallery of other identities.

    Quick: the generated scenario; its private identities are the gallery. Paper: LFW (or
    `FACECURE_DATASET`, or the `gallery` folder or faces, one sub-folder per person); half
    its identities are the gallery.
    A `gallery` folder in the quick profile replaces only the gallery.
    """
    from ..data.folder import load_identity_folder
    from ..scenario import load_scenario

    profile = check_profile(profile)
    if profile == "quick":
        scenario = load_scenario("quick", seed, progress=progress)
        if gallery is None:
            return (
                scenario,
                subset(scenario.ds, scenario.private, "generated identities"),
                "generated identities (the quick profile's private identities)",
            )
        ds = (
            gallery
            if isinstance(gallery, FaceDataset)
            else load_identity_folder(gallery, image_size=scenario.ds.image_size, align=align)
        )
        return scenario, ds, f"your gallery folder {ds.meta.get('source', ds.name)}"
    if gallery is None:
        from ..data.paper_data import load_paper_dataset

        ds = load_paper_dataset(image_size=112)  # LFW, or FACECURE_DATASET
        desc = f"{ds.name} ({ds.n_identities} people)"
    elif isinstance(gallery, FaceDataset):
        ds, desc = gallery, gallery.name
    else:
        ds = load_identity_folder(gallery, image_size=112, align=align)
        desc = f"your gallery folder {gallery}"
    scenario = load_scenario("paper", seed, dataset=ds, progress=progress)
    return scenario, subset(ds, scenario.private, ds.name), desc


def load_models(
    names: Sequence[str],
    scenario: Scenario,
    device: torch.device | None = None,
    progress: bool = True,
) -> tuple[dict[str, Extractor], list[str]]:
    """Load extractors by name (a quick one trains on a cache miss); (models, notes on failures)."""
    from ..download import DownloadError
    from ..zoo import load_extractor

    models, notes = {}, []
    for name in tqdm(list(names), desc="loading recognisers", disable=not progress, leave=False):
        try:
            models[name] = load_extractor(name, scenario, device, progress)
        except DownloadError as err:  # offline: say so, and offer what needs no download
            notes.append(download_note(name, err))
        except Exception as err:  # a download that fails offline must not end the check
            notes.append(f"{name} skipped: could not be loaded ({type(err).__name__}: {err})")
    return models, notes


def download_note(name: str, err: Exception) -> str:
    """Why a pretrained model was skipped, and the models that need no download."""
    from ..zoo import available

    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return (
        f"{name} skipped: it needs its pretrained weights downloaded, which did not work "
        f"here ({first}). The quick profile's own models need no download: "
        f"--extractors {','.join(available('quick'))}"
    )


def load_robust(
    scenario: Scenario,
    defenses: str = "cached",
    device: torch.device | None = None,
    config: Any = None,
    progress: bool = False,
) -> tuple[Extractor | None, str | None]:
    """The adaptively robust extractor (`defenses.robust.train_robust_extractor`), or a note.

    `defenses`: "cached" loads it only when its weights can be had without training (cache
    or package), "train" trains it on a miss, "off" skips it. `config` defaults to the
    profile's (`Profile.robust`).
    """
    if defenses == "off":
        return None, "not run (defenses switched off)"
    try:
        from ..defenses import robust as rb

        config = config or rb.profile_config(scenario)
        if defenses == "cached" and not rb.is_cached(scenario, config, device):
            return None, (
                f"not run: no cached robust extractor (base {config.base}); "
                "train it in notebook 02 or run with --defenses train"
            )
        return rb.train_robust_extractor(scenario, config, device, progress), None
    except Exception as err:  # an optional extra must never end the check
        return None, f"not run: {type(err).__name__}: {err}"


def load_detector(
    scenario: Scenario,
    defenses: str = "cached",
    train_attack: str = "fawkes",
    mode: str = "high",
    device: torch.device | None = None,
    progress: bool = False,
) -> tuple[Any, str | None]:
    """The cloak detector (`defenses.detection.get_detector`; default: notebook 03's Fawkes
    detector trained on mixed modes), or a note why it did not run.

    "cached" uses it only when it is in the cache, "train" trains it on a miss, "off" skips.
    """
    if defenses == "off":
        return None, "not run (defenses switched off)"
    try:
        from ..defenses import detection as dt

        if defenses == "cached" and not dt.is_cached(scenario, train_attack, mode):
            return None, (
                f"not run: no cached {train_attack} detector; train it "
                "in notebook 03 or run with --defenses train"
            )
        return dt.get_detector(scenario, train_attack, mode, device=device, progress=progress), None
    except Exception as err:  # an optional extra must never end the check
        return None, f"not run: {type(err).__name__}: {err}"


def _others_split(gallery: FaceDataset) -> Split:
    return split_per_identity(gallery, 0.7, seed=10)


def build_protocol(
    gallery: FaceDataset, person: torch.Tensor, name: str, seed: int
) -> tuple[Protocol, list[int], list[int]]:
    """The gallery identities plus the person (last label), split 70/30; (protocol, tr, te)."""
    if person.shape[-1] != gallery.image_size:
        raise ValueError(f"photos are {person.shape[-1]} px, the gallery {gallery.image_size} px")
    label = gallery.n_identities
    n_g = len(gallery)
    ds = FaceDataset(
        f"{gallery.name}+{name}",
        torch.cat([gallery.images, person]),
        torch.cat([gallery.labels, torch.full((len(person),), label)]),
        list(gallery.identities) + [name],
    )
    base = _others_split(gallery)
    tr, te = split_photos(len(person), seed)
    split = Split(
        torch.cat([base.train, torch.as_tensor(tr, dtype=torch.long) + n_g]),
        torch.cat([base.test, torch.as_tensor(te, dtype=torch.long) + n_g]),
    )
    return Protocol(ds, split, list(range(label + 1)), [label]), tr, te
