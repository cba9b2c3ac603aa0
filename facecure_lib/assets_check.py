"""Preflight: before anything heavy, can every file the paper profile needs be had?

`preflight(profile)` lists each file the profile's models, detector, LPIPS and dataset need,
and looks whether it is cached, on the mirror (`FACECURE_MIRROR`), or on a server that
answers within a short connect timeout (all servers are tried at once). Anything else is
reported in ONE `DownloadError` that names every missing file and the ways out (the quick
profile, a mirror, a file placed by hand). It downloads nothing and writes nothing, so a
failed preflight leaves nothing partial behind. The quick profile needs nothing.
"""

from __future__ import annotations

import os
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import download
from .asset_registry import ASSETS, QUICK_ALTERNATIVE, DownloadError
from .clip_tuning import BASE, TUNED_NAME
from .config import check_profile
from .data.lfw import LFW_SOURCE, lfw_data_home
from .data.paper_data import DATASET_ENV
from .mirror import MIRROR_ENV, active_mirror
from .models.pretrained import PRETRAINED
from .profiles import ATTACK_KEYS, get_profile

DETECTOR_ASSETS = {"mobilenet_v2": "mobilenet-v2-imagenet"}
LPIPS_ASSET = "alexnet-imagenet"  # LowKey's perceptual penalty in the paper profile


@dataclass(frozen=True)
class Need:
    """One file a profile needs, who needs it, and where it can be had from here."""

    name: str  # asset name, or "dataset"
    file: str
    source: str  # URL, or folder
    needed_by: tuple[str, ...]
    status: str = "unknown"  # cached | mirror | reachable | folder | missing

    @property
    def ok(self) -> bool:
        return self.status != "missing"


def profile_models(profile: str = "paper") -> list[str]:
    """Every extractor a profile's notebooks may load (timeline, surrogates, game, ...)."""
    p = get_profile(profile)
    t = p.timeline
    names = [*t.timeline, *t.off_timeline, *p.game_models]
    names += [n for n in (t.seed_control, t.generic, t.tuned) if n]
    for attack in ATTACK_KEYS:
        names += p.surrogate_names(attack) + p.contemporary_names(attack)
    return list(dict.fromkeys(names))


def needed_assets(profile: str = "paper") -> dict[str, list[str]]:
    """Asset name -> what needs it, for a profile (empty for the quick profile)."""
    if check_profile(profile) == "quick":
        return {}
    users: dict[str, list[str]] = {}
    for model in profile_models(profile):
        spec = PRETRAINED.get(BASE if model == TUNED_NAME else model)
        if spec is not None:  # vendored models (dlib-resnet) need no download
            users.setdefault(spec.asset, []).append(model)
    backbone = get_profile(profile).detector.backbone
    if backbone in DETECTOR_ASSETS:
        users.setdefault(DETECTOR_ASSETS[backbone], []).append(f"detector ({backbone})")
    users.setdefault(LPIPS_ASSET, []).append("lowkey (LPIPS-alex)")
    return users


def _dataset_need(dataset: str | os.PathLike | None) -> Need:
    dataset = dataset or os.environ.get(DATASET_ENV) or "lfw"
    if str(dataset).strip().lower() != "lfw":
        folder = Path(dataset).expanduser()
        status = "folder" if folder.is_dir() else "missing"
        return Need("dataset", folder.name, str(folder), ("scenario faces",), status)
    home = lfw_data_home() / "lfw_home"
    status = "cached" if (home / "lfw_funneled").is_dir() else "unknown"
    return Need("dataset", "lfw-funneled.tgz (LFW)", LFW_SOURCE, ("scenario faces",), status)


def _reachable_hosts(urls: list[str], timeout: float) -> dict[str, bool]:
    hosts = {urllib.parse.urlsplit(u).netloc: u for u in urls}
    if not hosts:
        return {}
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        answers = pool.map(lambda u: download.is_reachable(u, timeout), hosts.values())
        return dict(zip(hosts, answers))


def check_assets(
    profile: str | None = None, dataset: str | os.PathLike | None = None, timeout: float = 3.0
) -> list[Need]:
    """The status of every file the profile needs (see the module docstring)."""
    profile = check_profile(profile)
    if profile == "quick":
        return []
    mirror = active_mirror()
    try:
        on_mirror = set(mirror.manifest(timeout)) if mirror else set()
    except DownloadError:
        on_mirror = set()
    needs = []
    for name, users in needed_assets(profile).items():
        asset = ASSETS[name]
        if download.cached_asset(name) is not None:
            status = "cached"
        elif mirror is not None:
            status = "mirror" if asset.file_name in on_mirror else "missing"
        else:
            status = "unknown"
        source = mirror.url_of(asset.file_name) if mirror else asset.url
        needs.append(Need(name, asset.file_name, source, tuple(users), status))
    needs.append(_dataset_need(dataset))
    unknown = [n.source for n in needs if n.status == "unknown"]
    up = _reachable_hosts(unknown, timeout)
    return [
        n
        if n.status != "unknown"
        else Need(
            n.name,
            n.file,
            n.source,
            n.needed_by,
            "reachable" if up[urllib.parse.urlsplit(n.source).netloc] else "missing",
        )
        for n in needs
    ]


def preflight(
    profile: str | None = None, dataset: str | os.PathLike | None = None, timeout: float = 3.0
) -> list[Need]:
    """Check every file first; raise ONE `DownloadError` naming each missing one."""
    needs = check_assets(profile, dataset, timeout)
    missing = [n for n in needs if not n.ok]
    if missing:
        raise DownloadError(missing_message(missing))
    return needs


def missing_message(missing: list[Need]) -> str:
    """The one message of a failed preflight: every missing file, then the ways out."""
    lines = [
        f"  - {n.name}: {n.file} from {n.source} (needed by {', '.join(n.needed_by)})"
        for n in missing
    ]
    mirror = active_mirror()
    where = f"the mirror {MIRROR_ENV}={mirror.location}" if mirror else "their servers"
    return (
        f"The paper profile needs {len(missing)} file(s) that are neither cached nor "
        f"reachable from {where}:\n" + "\n".join(lines) + "\n"
        f"Use {QUICK_ALTERNATIVE} (or FACECURE_PROFILE=quick); or connect to the internet; "
        f"or set {MIRROR_ENV} to a folder holding these files and a SHA256SUMS manifest "
        f"(python -m facecure_lib.mirror FOLDER writes it); or put each file into "
        f"{download.downloads_dir(create=False)}. Nothing was downloaded."
    )
