"""Check your own cloak: do *your* cloaked photos resist today's and tomorrow's recognisers?

The question Fawkes users kept asking (Fawkes issues #82, #134, #192). Input: a folder of
ONE person's photos, either clean photos next to their cloaked versions from any tool
(paired by a file-name pattern, default Fawkes' `{stem}_cloaked.png`), or clean photos only
plus a built-in attack. The check runs the paper's protocol (§3.2) on that person:

* the photos are split 70/30 (seeded); the cloaked versions of the 70% are "posted online
  and scraped" into a gallery of other identities, the clean 30% are later probe photos;
* every extractor of the profile (oldest to newest), plus the adaptively robust one and the
  cloak detector when they are cached, tries to recognise the person in the probes;
* protection rate = the fraction of probes the recogniser gets wrong, with a 95% interval,
  next to the error the same recogniser makes when the photos are posted *unprotected*.

Nothing in the input folder is ever written: files are opened for reading only, and their
hashes are compared before and after every check. The report goes to a new sibling folder
`<folder>_facecure_report/` (or `out=`) and never overwrites existing files unless asked.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .cache import atomic_write_text, file_sha256
from .config import check_profile, profile_settings
from .data.dataset import FaceDataset, Split, split_per_identity, subset
from .data.folder import IMAGE_SUFFIXES, _ignored, _open_rgb, _to_tensor, center_square
from .models.base import Extractor
from .recognition import Protocol, evaluate_protection
from .scenario import Scenario

PATTERNS = {"fawkes": "{stem}_cloaked.png", "lowkey": "{stem}_attacked.png"}
REPORT_FILES = ("report.md", "check.json", "cloak_examples.png")
MIN_PICTURES = 5
FOOLED, PARTLY = 0.8, 0.2  # protection >= FOOLED: fooled; <= PARTLY: recognised you
DEFENSE_MODES = ("cached", "train", "off")


# --------------------------------------------------------------------------- errors


class CheckInputError(ValueError):
    """Input the check cannot use; `problems` holds (path, what is wrong and how to fix it)."""

    def __init__(self, where: str | os.PathLike, problems: list[tuple[str, str]]) -> None:
        self.where = str(where)
        self.problems = list(problems)
        lines = "\n".join(f"  - {path}: {msg}" for path, msg in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) with {self.where}:\n{lines}\n"
                         "Nothing in your photo folder was changed.")


class ReportExistsError(CheckInputError):
    """The report folder already holds report files (pass force=True / --force)."""


# --------------------------------------------------------------------------- file names


def resolve_pattern(pattern: str | None) -> str:
    """A preset name (`fawkes`, `lowkey`) or a pattern holding `{stem}` -> the pattern."""
    pattern = PATTERNS["fawkes"] if pattern is None else str(pattern)
    pattern = PATTERNS.get(pattern.lower(), pattern)
    if "{stem}" not in pattern:
        raise CheckInputError("--pattern", [(pattern, "a cloaked-file pattern must contain "
                                             "{stem} (the clean file's name without suffix), "
                                             f"or be one of {', '.join(PATTERNS)}")])
    if "/" in pattern or "\\" in pattern:
        raise CheckInputError("--pattern", [(pattern, "the pattern names a file in the same "
                                             "folder; it cannot contain a path separator")])
    return pattern


def pattern_regex(pattern: str) -> re.Pattern:
    """Regex matching the cloaked names of a pattern; groups `stem` (and `ext` if used)."""
    parts = re.split(r"(\{stem\}|\{ext\})", resolve_pattern(pattern))
    rx = ""
    for part in parts:
        if part == "{stem}":
            rx += r"(?P<stem>.+?)"
        elif part == "{ext}":
            rx += r"(?P<ext>\.[A-Za-z0-9]+)"
        else:
            rx += re.escape(part)
    return re.compile(rf"^{rx}$", re.IGNORECASE)


def pair_names(names: Sequence[str], pattern: str = "fawkes"
               ) -> tuple[dict[str, str], list[str], list[str], list[tuple[str, str]]]:
    """Pair file names: ({clean: cloaked}, clean without a partner, orphan cloaked, problems).

    A name matching the pattern is a cloaked picture of the clean picture whose stem (and
    suffix, if the pattern uses `{ext}`) it names; `problems` lists ambiguous partners.
    """
    rx = pattern_regex(pattern)
    names = sorted(names)
    cloaked = {n: rx.match(n) for n in names}
    cloaked = {n: m for n, m in cloaked.items() if m}
    clean = [n for n in names if n not in cloaked]
    pairs: dict[str, str] = {}
    orphans, problems = [], []
    for name, m in cloaked.items():
        stem, ext = m.group("stem"), m.groupdict().get("ext")
        partners = [c for c in clean if Path(c).stem == stem
                    and (ext is None or Path(c).suffix.lower() == ext.lower())]
        if not partners:
            orphans.append(name)
        elif len(partners) > 1:
            problems.append((name, f"ambiguous: could be the cloaked version of "
                                   f"{' or '.join(partners)}; rename one of them"))
        elif partners[0] in pairs:
            problems.append((name, f"second cloaked version of {partners[0]} (the first is "
                                   f"{pairs[partners[0]]}); keep one"))
        else:
            pairs[partners[0]] = name
    unpaired = [c for c in clean if c not in pairs]
    return pairs, unpaired, orphans, problems


@dataclass
class PhotoFolder:
    """The pictures of a photo folder, paired (no pixels read yet)."""

    folder: Path
    clean: list[Path]
    cloaked: list[Path] | None
    pattern: str
    notes: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def scan_photos(folder: str | os.PathLike, pattern: str = "fawkes", builtin_attack: bool = False,
                raise_problems: bool = True) -> PhotoFolder:
    """List and pair the photos of `folder` without decoding them.

    With `builtin_attack`, only clean photos are used (cloaked files are ignored, with a
    note). Otherwise every clean photo needs its cloaked version and vice versa. Raises
    `CheckInputError` naming each problem; with `raise_problems=False`, pairing problems are
    returned in `.problems` (with the usable pairs) so that `load_photos` can add its own.
    A missing folder, a file or a folder without pictures always raises.
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise CheckInputError(folder, [(str(folder), "does not exist; check the path")])
    if not folder.is_dir():
        raise CheckInputError(folder, [(str(folder), "is a file, not a folder; give the folder "
                                                     "that holds one person's photos")])
    pattern = resolve_pattern(pattern)
    notes, names = [], []
    for entry in sorted(folder.iterdir()):
        if _ignored(entry):
            continue
        if entry.is_dir():
            notes.append(f"sub-folder {entry.name}/ ignored (only the top level is read)")
        elif entry.suffix.lower() in IMAGE_SUFFIXES:
            names.append(entry.name)
        else:
            notes.append(f"{entry.name} ignored (not a picture)")
    if not names:
        raise CheckInputError(folder, [(str(folder), "no pictures found ("
                                        f"{', '.join(sorted(IMAGE_SUFFIXES))}); put one "
                                        "person's photos directly in this folder")])
    pairs, unpaired, orphans, problems = pair_names(names, pattern)
    problems = [(str(folder / n), msg) for n, msg in problems]
    if builtin_attack:
        if pairs or orphans:
            notes.append(f"{len(pairs) + len(orphans)} cloaked file(s) matching {pattern!r} "
                         "ignored: the built-in attack cloaks the clean photos itself")
        clean = sorted(set(unpaired) | set(pairs))
        if not clean:
            problems.append((str(folder), "no clean photos (every picture matches the cloaked "
                                          f"pattern {pattern!r})"))
        if problems and raise_problems:
            raise CheckInputError(folder, problems)
        return PhotoFolder(folder, [folder / n for n in clean], None, pattern, notes, problems)
    if not pairs and not orphans:
        problems.append((str(folder), f"no cloaked photos named like {pattern!r}; set the "
                                      "pattern your tool uses (--pattern fawkes, lowkey or e.g. "
                                      "'{stem}_protected.jpg'), or cloak the clean photos with "
                                      "a built-in attack (--attack fawkes_v10)"))
    else:
        for n in orphans:
            problems.append((str(folder / n), "cloaked photo without its clean partner "
                                              f"(expected a clean file named like "
                                              f"'{pattern_regex(pattern).match(n).group('stem')}"
                                              ".<suffix>'); add the original or remove it"))
        for n in unpaired:
            expected = pattern.format(stem=Path(n).stem, ext=Path(n).suffix)
            problems.append((str(folder / n), f"clean photo without its cloaked version "
                                              f"{expected!r}; cloak it, remove it, or set "
                                              "--pattern"))
    if problems and raise_problems:
        raise CheckInputError(folder, problems)
    clean = sorted(pairs)
    return PhotoFolder(folder, [folder / n for n in clean], [folder / pairs[n] for n in clean],
                       pattern, notes, problems)


# --------------------------------------------------------------------------- pixels


@dataclass
class Photos:
    """One person's photos as square uint8 [N, 3, S, S] tensors (cloaked: None if absent)."""

    names: list[str]
    clean: torch.Tensor
    cloaked: torch.Tensor | None
    cloaked_names: list[str] | None = None


def _face_box(img: Any) -> np.ndarray | None:
    """The largest face's box in a PIL picture (MTCNN), or None."""
    from .data.align import _mtcnn

    mtcnn = _mtcnn(160, 0, "cpu")
    scale = max(1.0, max(img.size) / 640.0)
    small = img if scale == 1.0 else img.resize((max(1, round(img.width / scale)),
                                                max(1, round(img.height / scale))))
    with torch.no_grad():
        boxes, _ = mtcnn.detect(small)
    if boxes is None or not len(boxes):
        return None
    return np.asarray(boxes[0], dtype=np.float64) * scale


def _crop(img: Any, box: np.ndarray | None, size: int) -> torch.Tensor:
    if box is None:
        return _to_tensor(center_square(img, size))
    from .data.align import require_facenet

    extract = require_facenet().models.utils.detect_face.extract_face
    return extract(img, box, int(size), 0).round().clamp_(0, 255).to(torch.uint8).cpu()


def _open(path: Path) -> tuple[Any, str | None]:
    from PIL import Image, UnidentifiedImageError

    try:
        return _open_rgb(path), None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as err:
        return None, (f"unreadable or corrupt picture ({type(err).__name__}: {err}); "
                      "replace or remove it")


def load_photos(photos: PhotoFolder, image_size: int, align: bool = False,
                min_pictures: int = MIN_PICTURES, progress: bool = True) -> Photos:
    """Decode (read-only), crop and resize every photo; `CheckInputError` names each problem.

    Clean and cloaked versions of a photo get exactly the same crop: the centre square, or
    with `align` the box MTCNN finds on the clean photo (so the cloak is not cropped away).
    """
    if min_pictures < 2:
        raise ValueError(f"min_pictures must be at least 2, got {min_pictures}")
    problems: list[tuple[str, str]] = list(photos.problems)
    names, clean, cloaked, cloaked_names = [], [], [], []
    partners = photos.cloaked or [None] * len(photos.clean)
    for path, partner in tqdm(list(zip(photos.clean, partners)), desc="reading photos",
                              disable=not progress, leave=False):
        img, err = _open(path)
        if err:
            problems.append((str(path), err))
        other = None
        if partner is not None:
            other, err2 = _open(partner)
            if err2:
                problems.append((str(partner), err2))
            elif img is not None and other.size != img.size:
                problems.append((str(partner), f"size {other.size[0]}x{other.size[1]} differs "
                                               f"from its clean photo {path.name} "
                                               f"({img.size[0]}x{img.size[1]}); the cloaked "
                                               "version must keep the size"))
                continue
        if img is None or (partner is not None and other is None):
            continue
        box = None
        if align:
            box = _face_box(img)
            if box is None:
                problems.append((str(path), "no face found; crop the photo around the face, "
                                            "remove it, or run without --align"))
                continue
        names.append(path.name)
        clean.append(_crop(img, box, image_size))
        if other is not None:
            cloaked.append(_crop(other, box, image_size))
            cloaked_names.append(partner.name)
    if not problems and len(names) < min_pictures:
        problems.append((str(photos.folder),
                         f"only {len(names)} usable photo(s); the 70/30 split needs at least "
                         f"{min_pictures} (some cloaked ones to post, some clean ones to "
                         "probe with); add photos or lower --min-pictures"))
    if problems:
        raise CheckInputError(photos.folder, problems)
    return Photos(names, torch.stack(clean), torch.stack(cloaked) if cloaked else None,
                  cloaked_names or None)


def folder_hashes(folder: str | os.PathLike) -> dict[str, str]:
    """sha256 of every file under `folder` (relative path -> digest)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): file_sha256(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- statistics


def split_photos(n: int, seed: int = 0, train_frac: float = 0.7) -> tuple[list[int], list[int]]:
    """Seeded 70/30 split of n photos: (gallery indices, probe indices), both sorted.

    At least one photo on each side (as `split_per_identity` does for every identity).
    """
    if n < 2:
        raise ValueError(f"a 70/30 split needs at least 2 photos, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    k = min(max(1, int(round(train_frac * n))), n - 1)
    return sorted(perm[:k].tolist()), sorted(perm[k:].tolist())


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (95% for z = 1.96); (0, 1) when n = 0."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def outcome(rate: float) -> str:
    """Plain words for a protection rate."""
    if rate >= FOOLED:
        return "fooled"
    if rate <= PARTLY:
        return "recognised you"
    return "partly fooled"


# --------------------------------------------------------------------------- the world


def load_world(profile: str, seed: int = 0, gallery: str | os.PathLike | FaceDataset | None = None,
               align: bool = False, progress: bool = True) -> tuple[Scenario, FaceDataset, str]:
    """The scenario (trainer's data, surrogates) and the gallery of other identities.

    Quick: the generated scenario; its private identities are the gallery. Paper: LFW (or
    the `gallery` folder, one sub-folder per person); half its identities are the gallery.
    A `gallery` folder in the quick profile replaces only the gallery.
    """
    from .data.folder import load_identity_folder
    from .scenario import load_scenario

    profile = check_profile(profile)
    if profile == "quick":
        scenario = load_scenario("quick", seed, progress=progress)
        if gallery is None:
            return scenario, subset(scenario.ds, scenario.private, "generated identities"), \
                "generated identities (the quick profile's private identities)"
        ds = gallery if isinstance(gallery, FaceDataset) else load_identity_folder(
            gallery, image_size=scenario.ds.image_size, align=align)
        return scenario, ds, f"your gallery folder {ds.meta.get('source', ds.name)}"
    if gallery is None:
        from .data.lfw import load_lfw

        ds, desc = load_lfw(image_size=112), "LFW (people with at least 20 pictures)"
    elif isinstance(gallery, FaceDataset):
        ds, desc = gallery, gallery.name
    else:
        ds = load_identity_folder(gallery, image_size=112, align=align)
        desc = f"your gallery folder {gallery}"
    scenario = load_scenario("paper", seed, dataset=ds, progress=progress)
    return scenario, subset(ds, scenario.private, ds.name), desc


def load_models(names: Sequence[str], scenario: Scenario, device: torch.device | None = None,
                progress: bool = True) -> tuple[dict[str, Extractor], list[str]]:
    """Load extractors by name (a quick one trains on a cache miss); (models, notes on failures)."""
    from .zoo import load_extractor

    models, notes = {}, []
    for name in tqdm(list(names), desc="loading recognisers", disable=not progress, leave=False):
        try:
            models[name] = load_extractor(name, scenario, device, progress)
        except Exception as err:  # a download that fails offline must not end the check
            notes.append(f"{name} skipped: could not be loaded ({type(err).__name__}: {err})")
    return models, notes


_ROBUST_PATHS: dict[tuple, Path] = {}  # where a scenario's robust extractor would be cached


def load_robust(scenario: Scenario, defenses: str = "cached", device: torch.device | None = None,
                config: Any = None, progress: bool = False) -> tuple[Extractor | None, str | None]:
    """The adaptively robust extractor (`defenses.robust.train_robust_extractor`), or a note.

    `defenses`: "cached" loads it only when its weights are in the cache (never trains),
    "train" trains it on a miss, "off" skips it. `config` defaults to `RobustConfig()`.
    """
    if defenses == "off":
        return None, "not run (defenses switched off)"
    try:
        from .defenses import robust as rb
    except ImportError as err:
        return None, f"not run: facecure_lib.defenses.robust is not available ({err})"
    try:
        config = config or rb.RobustConfig()
        if defenses == "cached":
            from .cache import artefact_path, config_hash
            from .zoo import QUICK_ZOO, load_extractor

            memo = (id(scenario), scenario.ds.images.data_ptr(), repr(config))
            if memo not in _ROBUST_PATHS:
                base = None if config.base in QUICK_ZOO else load_extractor(
                    config.base, scenario, device, progress)
                key = config_hash(rb.robust_key(scenario, config, base))
                _ROBUST_PATHS[memo] = artefact_path("extractor", key)
            if not _ROBUST_PATHS[memo].exists():
                return None, (f"not run: no cached robust extractor (base {config.base}); "
                              "train it in notebook 02 or run with --defenses train")
        return rb.train_robust_extractor(scenario, config, device, progress), None
    except Exception as err:  # an optional extra must never end the check
        return None, f"not run: {type(err).__name__}: {err}"


def _detector_cached(scenario: Scenario, train_attack: str, mode: str) -> bool:
    """Whether `get_detector(scenario, train_attack, mode)` would load without training."""
    from .cache import artefact_path

    return artefact_path("detector", _detector_key(scenario, train_attack, mode)).exists()


def _detector_key(scenario: Scenario, train_attack: str, mode: str) -> str:
    """The cache key `get_detector` uses (same config function; never trains)."""
    from .cache import config_hash
    from .defenses import detection as dt
    from .experiments import load_surrogates, surrogate_names
    from .zoo import QUICK_ZOO, model_key

    attack, _, _ = dt.resolve_attack(train_attack, None if train_attack == "lowkey" else mode)
    names = surrogate_names(attack, scenario.profile)
    if all(n in QUICK_ZOO for n in names):
        keys = [f"{n}-{config_hash(model_key(n, scenario))}" for n in names]
    else:
        keys = [m.cache_key for m in load_surrogates(attack, scenario, progress=False)]
    cfg = dt.detector_config(scenario, train_attack, mode, keys)
    return config_hash({**cfg, "version": dt.DETECTOR_VERSION})


def load_detector(scenario: Scenario, defenses: str = "cached", train_attack: str = "fawkes_v10",
                  mode: str = "high", device: torch.device | None = None,
                  progress: bool = False) -> tuple[Any, str | None]:
    """The cloak detector (`defenses.detection.get_detector`), or a note why it did not run.

    "cached" uses it only when it is in the cache, "train" trains it on a miss, "off" skips.
    """
    if defenses == "off":
        return None, "not run (defenses switched off)"
    try:
        from .defenses import detection as dt
    except ImportError as err:
        return None, f"not run: facecure_lib.defenses.detection is not available ({err})"
    try:
        if defenses == "cached" and not _detector_cached(scenario, train_attack, mode):
            return None, (f"not run: no cached detector for {train_attack} ({mode}); train it "
                          "in notebook 03 or run with --defenses train")
        return dt.get_detector(scenario, train_attack, mode, device=device,
                               progress=progress), None
    except Exception as err:  # an optional extra must never end the check
        return None, f"not run: {type(err).__name__}: {err}"


# --------------------------------------------------------------------------- the check


@dataclass
class CheckResult:
    """Everything the check measured; `to_markdown()` is the report, `to_dict()` its numbers."""

    folder: str
    person: str
    profile: str
    seed: int
    source: str
    pattern: str | None
    attack: str | None
    mode: str | None
    surrogates: list[str]
    gallery: dict
    gallery_photos: list[str]
    probe_photos: list[str]
    table: pd.DataFrame
    detection: dict
    perturbation: dict
    notes: list[str]
    clean_examples: torch.Tensor = field(repr=False)
    cloaked_examples: torch.Tensor = field(repr=False)
    example_titles: list[str] = field(default_factory=list)
    created: str = ""

    @property
    def n_probes(self) -> int:
        return len(self.probe_photos)

    def protection(self) -> dict[str, float]:
        """{recogniser: protection rate}."""
        return dict(zip(self.table["recogniser"], self.table["protection_rate"]))

    def verdict(self) -> str:
        """The plain-language verdict (one paragraph)."""
        return _verdict(self)

    def limits(self) -> list[str]:
        """What this check cannot tell (one sentence per item)."""
        return _limits(self)

    def figure(self, n: int = 4):
        """clean | cloaked | amplified difference for the first n cloaked photos."""
        from .attacks.figures import plot_cloak_triplets

        return plot_cloak_triplets(self.clean_examples, self.cloaked_examples, n=n,
                                   titles=self.example_titles)

    def to_dict(self) -> dict:
        rows = json.loads(self.table.to_json(orient="records"))
        return {"folder": self.folder, "person": self.person, "profile": self.profile,
                "seed": self.seed, "source": self.source, "pattern": self.pattern,
                "attack": self.attack, "mode": self.mode, "surrogates": self.surrogates,
                "gallery": self.gallery, "gallery_photos": self.gallery_photos,
                "probe_photos": self.probe_photos, "n_probes": self.n_probes,
                "recognisers": rows, "protection": self.protection(),
                "detection": self.detection, "perturbation": self.perturbation,
                "notes": self.notes, "verdict": self.verdict(), "limits": self.limits(),
                "created": self.created}

    def to_markdown(self, figure: str | None = "cloak_examples.png") -> str:
        return _markdown(self, figure)


def _others_split(gallery: FaceDataset) -> Split:
    return split_per_identity(gallery, 0.7, seed=10)


def build_protocol(gallery: FaceDataset, person: torch.Tensor, name: str, seed: int
                   ) -> tuple[Protocol, list[int], list[int]]:
    """The gallery identities plus the person (last label), split 70/30; (protocol, tr, te)."""
    if person.shape[-1] != gallery.image_size:
        raise ValueError(f"photos are {person.shape[-1]} px, the gallery {gallery.image_size} px")
    label = gallery.n_identities
    n_g = len(gallery)
    ds = FaceDataset(f"{gallery.name}+{name}", torch.cat([gallery.images, person]),
                     torch.cat([gallery.labels, torch.full((len(person),), label)]),
                     list(gallery.identities) + [name])
    base = _others_split(gallery)
    tr, te = split_photos(len(person), seed)
    split = Split(torch.cat([base.train, torch.as_tensor(tr, dtype=torch.long) + n_g]),
                  torch.cat([base.test, torch.as_tensor(te, dtype=torch.long) + n_g]))
    return Protocol(ds, split, list(range(label + 1)), [label]), tr, te


def _detect(detector: Any, clean: torch.Tensor, cloaked: torch.Tensor) -> dict:
    from sklearn.metrics import roc_auc_score

    def scores(x: torch.Tensor) -> np.ndarray:
        out = detector.score(x.float() / 255)
        out = out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out)
        return out.astype(float).reshape(-1)

    s_cl, s_cc = scores(clean), scores(cloaked)
    y = np.r_[np.zeros(len(s_cl)), np.ones(len(s_cc))]
    return {"ran": True, "flagged": int((s_cc > 0.5).sum()), "n_cloaked": len(s_cc),
            "flagged_rate": float((s_cc > 0.5).mean()),
            "false_alarms": int((s_cl > 0.5).sum()), "n_clean": len(s_cl),
            "mean_score_cloaked": float(s_cc.mean()), "mean_score_clean": float(s_cl.mean()),
            "auc": float(roc_auc_score(y, np.r_[s_cl, s_cc]))}


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
    from .zoo import available, info

    profile = check_profile(profile)
    if defenses not in DEFENSE_MODES:
        raise ValueError(f"defenses must be one of {', '.join(DEFENSE_MODES)}, got {defenses!r}")
    if attack is not None:
        from .attacks import attack_params

        try:
            mode = attack_params(attack, mode, profile)[0]
        except ValueError as err:
            raise CheckInputError("--attack/--mode", [(f"{attack} {mode or ''}".strip(),
                                                       str(err))]) from None
    folder = Path(photos_dir).expanduser()
    pattern_used = resolve_pattern(pattern) if attack is None else None
    photo_folder = scan_photos(folder, pattern or "fawkes", builtin_attack=attack is not None,
                               raise_problems=False)
    before = folder_hashes(folder)
    notes = list(photo_folder.notes)

    # read the photos first: bad input fails fast, before any model is loaded
    if isinstance(gallery, FaceDataset):
        size = gallery.image_size
    elif scenario is not None:
        size = scenario.ds.image_size
    else:
        size = profile_settings(profile).image_size
    photos = load_photos(photo_folder, size, align, min_pictures, progress)
    if scenario is None:
        scenario, gallery_ds, gallery_desc = load_world(profile, scenario_seed, gallery, align,
                                                        progress)
    elif isinstance(gallery, FaceDataset):
        gallery_ds, gallery_desc = gallery, gallery.name
    else:
        gallery_ds = subset(scenario.ds, scenario.private, "scenario identities")
        gallery_desc = f"{len(scenario.private)} identities of the given scenario"
    if gallery_ds.image_size != size:  # e.g. a gallery folder of another size
        photos = load_photos(photo_folder, gallery_ds.image_size, align, min_pictures, False)
    person = folder.resolve().name or "you"
    protocol, tr, te = build_protocol(gallery_ds, photos.clean, person, seed)

    # which recognisers
    if extractors is not None:
        names = list(extractors)
    else:
        names = list(models) if models else available(profile)
    unknown = [n for n in names if models is None or n not in models]
    if extractors is not None:
        try:
            for n in unknown:
                info(n)
        except ValueError as err:
            raise CheckInputError("--extractors", [(",".join(names), str(err))]) from None
    loaded = dict(models or {})
    if unknown:
        more, load_notes = load_models(unknown, scenario, device, progress)
        loaded.update(more)
        notes += load_notes
    order = [n for n in names if n in loaded]
    if not order:
        raise RuntimeError("no recogniser could be loaded: " + "; ".join(notes))

    # the cloaked gallery photos
    surrogate_names: list[str] = []
    if attack is not None:
        from .attacks import cloak
        from .experiments import surrogate_names as _surr
        from .experiments import target_pool

        surrogate_names = _surr(attack, profile)
        need = [n for n in surrogate_names if n not in loaded]
        if need:
            more, load_notes = load_models(need, scenario, device, progress)
            if load_notes:
                raise RuntimeError("cannot run the built-in attack: " + "; ".join(load_notes))
            loaded.update(more)
        clean_tr = photos.clean[tr].float() / 255
        res = cloak(attack, clean_tr, [loaded[n] for n in surrogate_names], mode=mode, seed=seed,
                    target_pool=target_pool(scenario) if attack == "fawkes_v03" else None,
                    profile=profile, progress=progress)
        gallery_cloaked = res.images
        mode = res.config.get("mode", mode)
        pert_clean, pert_cloaked = photos.clean[tr], (res.images * 255).round().to(torch.uint8)
        source = f"built-in {attack} ({mode}) against {', '.join(surrogate_names)}"
    else:
        gallery_cloaked = photos.cloaked[tr].float() / 255
        pert_clean, pert_cloaked = photos.clean, photos.cloaked
        source = f"your cloaked photos (pattern {pattern_used})"

    rows = []
    for name in tqdm(order, desc="recognisers", disable=not progress, leave=False):
        rows.append(_row(name, loaded[name], protocol, gallery_cloaked, te, device,
                         "surrogate of the attack" if name in surrogate_names else "",
                         _meta(name)))
    robust, robust_note = load_robust(scenario, defenses, device, progress=progress)
    if robust is not None:
        rows.append(_row(getattr(robust, "name", "robust"), robust, protocol, gallery_cloaked,
                         te, device, "adaptively robust (trained on cloaked pictures)",
                         {"year": None, "stands_for": "the paper's adaptive trainer (§3.3)"}))
    else:
        notes.append(f"adaptively robust recogniser {robust_note}")
    table = pd.DataFrame(rows)

    from .attacks import perturbation_report

    rep = perturbation_report(pert_clean.float() / 255, pert_cloaked.float() / 255)
    perturbation = {"n": len(rep), "dssim_mean": float(rep["dssim"].mean()),
                    "dssim_max": float(rep["dssim"].max()),
                    "linf_255_max": float(rep["linf_255"].max()),
                    "psnr_mean": float(rep["psnr"].replace(np.inf, np.nan).mean()),
                    "unchanged": int((rep["linf"] == 0).sum())}
    if perturbation["unchanged"]:
        notes.append(f"{perturbation['unchanged']} cloaked photo(s) are pixel-identical to their "
                     "clean photo after cropping and resizing: the tool changed nothing there")
    detector, det_note = load_detector(scenario, defenses, device=device, progress=progress)
    detection = ({"ran": False, "note": det_note} if detector is None
                 else {**_detect(detector, pert_clean, pert_cloaked),
                       "trained_on": "fawkes_v10 (high) cloaks of the trainer's own users"})

    after = folder_hashes(folder)
    if after != before:
        raise RuntimeError(f"files in {folder} changed during the check; this is a bug")
    k = min(4, len(pert_clean))
    titles = [f"DSSIM {d:.3f}" for d in rep["dssim"][:k]]
    return CheckResult(
        folder=str(folder.resolve()), person=person, profile=profile, seed=seed, source=source,
        pattern=pattern_used, attack=attack, mode=mode, surrogates=surrogate_names,
        gallery={"description": gallery_desc, "identities": gallery_ds.n_identities,
                 "pictures": len(gallery_ds), "image_size": gallery_ds.image_size},
        gallery_photos=[photos.names[i] for i in tr], probe_photos=[photos.names[i] for i in te],
        table=table, detection=detection, perturbation=perturbation, notes=notes,
        clean_examples=pert_clean[:k].float() / 255,
        cloaked_examples=pert_cloaked[:k].float() / 255,
        example_titles=titles,
        created=_dt.datetime.now().replace(microsecond=0).isoformat())


def _meta(name: str) -> dict:
    from .zoo import info

    try:
        i = info(name)
        return {"year": i.year, "stands_for": i.stands_for}
    except ValueError:
        return {"year": None, "stands_for": ""}


def _row(name: str, model: Extractor, protocol: Protocol, gallery_cloaked: torch.Tensor,
         te: list[int], device: torch.device | None, role: str, meta: dict) -> dict:
    user = protocol.attackers[0]
    prot = evaluate_protection(model, protocol, {user: gallery_cloaked}, device=device)
    base = evaluate_protection(model, protocol, {}, device=device)
    rate, n = prot.per_user[user], prot.n_probes[user]
    k = int(round(rate * n))
    lo, hi = wilson_interval(k, n)
    return {"recogniser": name, "year": meta.get("year"), "stands_for": meta.get("stands_for", ""),
            "protection_rate": rate, "missed": k, "n_probes": n, "ci_low": lo, "ci_high": hi,
            "unprotected_error": base.per_user[user], "others_accuracy": prot.clean_accuracy,
            "outcome": outcome(rate), "role": role}


# --------------------------------------------------------------------------- words


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _verdict(r: CheckResult) -> str:
    t = r.table
    if t.empty:
        return "No recogniser ran, so this check cannot say anything."
    main = t[~t["role"].str.startswith("adaptively")]
    robust = t[t["role"].str.startswith("adaptively")]
    n_fooled = int((main["outcome"] == "fooled").sum())
    newest = main.iloc[-1] if len(main) else t.iloc[-1]
    found = newest["n_probes"] - newest["missed"]
    parts = [f"Your cloak fooled {n_fooled} of {len(main)} recogniser(s) in this check "
             f"(fooled = it missed you in at least {_pct(FOOLED)} of your {newest['n_probes']} "
             "clean test photos)."]
    parts.append(f"The newest one, {newest['recogniser']}"
                 + (f" (stands for: {newest['stands_for']})" if newest["stands_for"] else "")
                 + f", recognised you in {found} of {newest['n_probes']} test photos; with "
                 f"unprotected photos it would miss you in {_pct(newest['unprotected_error'])} "
                 "of them.")
    if len(robust):
        rb = robust.iloc[0]
        parts.append(f"A recogniser trained adaptively on cloaked pictures ({rb['recogniser']}) "
                     f"recognised you in {rb['n_probes'] - rb['missed']} of {rb['n_probes']}.")
    d = r.detection
    if d.get("ran"):
        parts.append(f"A cloak detector flagged {d['flagged']} of {d['n_cloaked']} of your cloaked "
                     f"photos as cloaked (and {d['false_alarms']} of {d['n_clean']} clean ones): "
                     "a trainer can set flagged photos aside or treat them specially.")
    new_beaten = newest["outcome"] != "fooled"
    robust_beaten = len(robust) > 0 and robust.iloc[0]["outcome"] != "fooled"
    if n_fooled == 0:
        parts.append("In short: your cloak did not protect you against any recogniser here.")
    elif new_beaten or robust_beaten:
        which = " or ".join(w for w, b in (("the newest recogniser", new_beaten),
                                           ("the adaptively trained one", robust_beaten)) if b)
        parts.append(f"In short: your cloak works against some recognisers but not against "
                     f"{which}, and those are the ones that matter: photos you post stay "
                     "online, and any later model can be run on them.")
    else:
        parts.append("In short: your cloak fooled every recogniser in this check. That is the "
                     "best this check can show, not a guarantee: a model trained after your "
                     "photos were posted was never tested here (see the limits below).")
    return " ".join(parts)


def _limits(r: CheckResult) -> list[str]:
    t = r.table
    out = []
    if len(t):
        widest = t.assign(w=t["ci_high"] - t["ci_low"]).sort_values("w").iloc[-1]
        out.append(f"Few test photos: each protection rate rests on {r.n_probes} clean photo(s); "
                   f"its 95% interval is up to {_pct(widest['ci_high'] - widest['ci_low'])} wide "
                   f"(e.g. {widest['recogniser']}: {_pct(widest['ci_low'])} to "
                   f"{_pct(widest['ci_high'])}). Another split seed gives other numbers.")
    out.append("Only the recognisers listed were tested. Models trained in the future, or "
               "trained on your cloaked photos once they are scraped (the paper's adaptive "
               "trainer), can recognise you even if every model here was fooled.")
    if r.profile == "quick":
        out.append("Quick profile: the other identities are generated faces and the recognisers "
                   "are small models trained in minutes; they stand in for real systems. For "
                   "real photos use the paper profile (pretrained models, LFW).")
    else:
        out.append(f"The gallery holds {r.gallery['identities']} other people; a real "
                   "system compares you with millions, which makes mistakes more likely for "
                   "clean and cloaked photos alike.")
    weak = t[t["unprotected_error"] >= 0.5] if len(t) else t
    if len(weak):
        out.append("Some recognisers miss you even without a cloak ("
                   + ", ".join(weak["recogniser"]) + "); their protection rates say little "
                   "about the cloak.")
    if not r.detection.get("ran"):
        out.append(f"Detectability was not measured by a detector ({r.detection.get('note')}).")
    out.append("All photos are cropped and resized to "
               f"{r.gallery['image_size']} px before recognition, as a recogniser would do.")
    return out


def _markdown(r: CheckResult, figure: str | None) -> str:
    from . import __version__

    t = r.table
    lines = [f"# FaceCure check: {r.person}", "",
             f"Made {r.created} by facecure_lib {__version__} (`facecure check`), profile "
             f"**{r.profile}**, split seed {r.seed}.", "",
             "## What was checked", "",
             f"- Photos: `{r.folder}` — {len(r.gallery_photos) + len(r.probe_photos)} photo(s); "
             f"cloaks: {r.source}.",
             f"- Split (seed {r.seed}): the cloaked versions of {len(r.gallery_photos)} photo(s) "
             f"were posted to a gallery; {r.n_probes} clean photo(s) were used as test photos "
             f"({', '.join(r.probe_photos)}).",
             f"- Gallery: {r.gallery['identities']} other people "
             f"({r.gallery['pictures']} pictures), {r.gallery['description']}.",
             "- Protection rate = the fraction of your clean test photos the recogniser got "
             "wrong (higher is better for you). *Unprotected* = the same with your clean "
             "photos posted instead of the cloaked ones.", "",
             "## Protection per recogniser (oldest to newest)", "",
             "| recogniser | year | stands for | protection | test photos | 95% interval | "
             "unprotected | others recognised | outcome |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, row in t.iterrows():
        year = "—" if row["year"] is None or pd.isna(row["year"]) else str(int(row["year"]))
        note = f" ({row['role']})" if row["role"] else ""
        lines.append(f"| {row['recogniser']} | {year} | {row['stands_for']}{note} | "
                     f"{_pct(row['protection_rate'])} | {row['n_probes']} | "
                     f"{_pct(row['ci_low'])}–{_pct(row['ci_high'])} | "
                     f"{_pct(row['unprotected_error'])} | {_pct(row['others_accuracy'])} | "
                     f"{row['outcome']} |")
    p, d = r.perturbation, r.detection
    lines += ["", "## Detectability", "",
              f"- Size of the cloak over {p['n']} photo(s): mean DSSIM {p['dssim_mean']:.4f} "
              f"(max {p['dssim_max']:.4f}), largest pixel change {p['linf_255_max']:.0f}/255, "
              f"mean PSNR {p['psnr_mean']:.1f} dB."]
    if d.get("ran"):
        lines.append(f"- Cloak detector (trained on {d.get('trained_on', 'other cloaks')}): "
                     f"flagged {d['flagged']} of {d['n_cloaked']} cloaked photo(s) "
                     f"({_pct(d['flagged_rate'])}) and {d['false_alarms']} of {d['n_clean']} "
                     f"clean one(s); AUC {d['auc']:.2f}.")
    else:
        lines.append(f"- Cloak detector: {d.get('note')}.")
    if figure:
        lines += ["", "## Your photos: clean | cloaked | difference ×10", "",
                  f"![clean, cloaked and amplified difference]({figure})"]
    lines += ["", "## Verdict", "", r.verdict(), "", "## Limits of this check", ""]
    lines += [f"- {s}" for s in r.limits()]
    if r.notes:
        lines += ["", "## Notes", ""] + [f"- {s}" for s in r.notes]
    lines += ["", "Your photo folder was only read: no file in it was created, changed or "
              "deleted (checked by file hashes).", ""]
    return "\n".join(lines)


def plot_protection(result: CheckResult, title: str | None = None):
    """Protection rate per recogniser (oldest at the top) with its 95% interval, the error
    without a cloak (o), and the 'fooled' threshold. Returns a matplotlib Figure."""
    from matplotlib.figure import Figure

    t = result.table.iloc[::-1]
    fig = Figure(figsize=(7.0, 0.45 * len(t) + 1.4), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(t))
    rate = t["protection_rate"].to_numpy()
    err = np.clip(np.vstack([rate - t["ci_low"].to_numpy(), t["ci_high"].to_numpy() - rate]),
                  0, None)
    palette = {"fooled": "#55A868", "partly fooled": "#DD8452", "recognised you": "#C44E52"}
    ax.barh(y, rate, color=[palette[o] for o in t["outcome"]], alpha=0.85)
    for o, c in palette.items():
        ax.barh([0], [0], color=c, alpha=0.85, label=f"protection: {o}")
    ax.errorbar(rate, y, xerr=err, fmt="none", ecolor="k", capsize=3, lw=1,
                label="95% interval")
    ax.scatter(t["unprotected_error"], y, marker="o", facecolor="white", edgecolor="k", zorder=3,
               label="error with clean photos posted")
    ax.axvline(FOOLED, ls="--", color="#8C8C8C", lw=1)
    ax.set_yticks(y, [f"{r} ({int(yr)})" if yr == yr and yr is not None else str(r)
                      for r, yr in zip(t["recogniser"], t["year"])])
    ax.set_xlim(0, 1.02)
    ax.set_xlabel(f"protection rate on your {result.n_probes} clean test photos")
    ax.set_title(title or f"{result.person}: {result.source}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return fig


# --------------------------------------------------------------------------- report files


def default_report_dir(photos_dir: str | os.PathLike) -> Path:
    """`<photos_dir>_facecure_report`, a sibling of the photo folder."""
    folder = Path(photos_dir).expanduser().resolve()
    return folder.parent / f"{folder.name}_facecure_report"


def report_dir(photos_dir: str | os.PathLike, out: str | os.PathLike | None = None,
               force: bool = False) -> Path:
    """Where the report of `photos_dir` goes; raise if it cannot be written there.

    `out` or the sibling `<folder>_facecure_report/`; never inside the photo folder; existing
    report files raise `ReportExistsError` unless `force` (other files are left alone).
    """
    folder = Path(photos_dir).expanduser().resolve()
    out_dir = Path(out).expanduser().resolve() if out is not None else default_report_dir(folder)
    if out_dir == folder or folder in out_dir.parents:
        raise CheckInputError(out_dir, [(str(out_dir), "the report folder must not be inside "
                                                       "your photo folder; choose another --out")])
    if out_dir.exists() and not out_dir.is_dir():
        raise CheckInputError(out_dir, [(str(out_dir), "exists and is not a folder")])
    existing = [out_dir / f for f in REPORT_FILES if (out_dir / f).exists()]
    if existing and not force:
        raise ReportExistsError(out_dir, [(str(p), "exists already; pass --force to replace "
                                                   "it, or choose another --out")
                                          for p in existing])
    return out_dir


def write_report(result: CheckResult, out: str | os.PathLike | None = None,
                 force: bool = False) -> Path:
    """Write report.md, check.json and cloak_examples.png; return the report.md path.

    The folder is `report_dir(result.folder, out, force)` (a sibling of the photo folder by
    default); report files already there are replaced only with `force`.
    """
    out_dir = report_dir(result.folder, out, force)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig = result.figure()
    tmp = out_dir / ".cloak_examples.png.tmp"
    fig.savefig(tmp, format="png", dpi=120)
    os.replace(tmp, out_dir / "cloak_examples.png")
    atomic_write_text(out_dir / "check.json", json.dumps(result.to_dict(), indent=1))
    atomic_write_text(out_dir / "report.md", result.to_markdown("cloak_examples.png"))
    return out_dir / "report.md"


# --------------------------------------------------------------------------- demo


def make_demo_folder(
    dest: str | os.PathLike,
    scenario: Scenario,
    attack: str = "fawkes_v10",
    mode: str | None = None,
    n_pictures: int = 20,
    seed: int = 0,
    pattern: str = "fawkes",
    surrogates: Sequence[Extractor] | None = None,
    progress: bool = True,
) -> Path:
    """Write a demo photo folder: a new generated person's photos + cloaked versions.

    The person is generated from another seed than the scenario, so it is in no gallery.
    Cloaked files follow `pattern` (as a user's tool would name them). `dest` must not
    exist or be empty.
    """
    from PIL import Image

    from .attacks import cloak
    from .data.generate import generate_faces
    from .experiments import load_surrogates, target_pool

    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty; choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    ds = generate_faces(2, n_pictures, scenario.ds.image_size, seed=10_000 + seed, progress=False)
    imgs = ds.images[ds.indices_of(0)]
    if surrogates is None:
        surrogates = load_surrogates(attack, scenario, progress=progress)
    res = cloak(attack, imgs.float() / 255, list(surrogates), mode=mode, seed=seed,
                target_pool=target_pool(scenario) if attack == "fawkes_v03" else None,
                profile=scenario.profile, progress=progress)
    pattern = resolve_pattern(pattern)
    for k, (a, b) in enumerate(zip(imgs, res.images)):
        stem = f"photo_{k:02d}"
        Image.fromarray(a.permute(1, 2, 0).numpy()).save(dest / f"{stem}.png")
        arr = (b.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        Image.fromarray(arr).save(dest / pattern.format(stem=stem, ext=".png"))
    return dest
