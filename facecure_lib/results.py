"""Results files: `results/<profile>/<notebook>.json`, written atomically with provenance."""

from __future__ import annotations

import json
import math
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .cache import atomic_write_text
from .config import check_profile, results_dir

REQUIRED = ("notebook", "profile", "seed", "runtime_s", "data")
VOLATILE = ("runtime_s", "written_at", "provenance")
_PACKAGES = (
    "facecure-tutorials",
    "torch",
    "torchvision",
    "numpy",
    "scikit-learn",
    "timm",
    "open_clip_torch",
    "facenet-pytorch",
)


class Timer:
    """Wall-clock timer started when a notebook starts: `Timer().elapsed()`."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return round(time.perf_counter() - self.start, 2)


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _clean(obj: Any) -> Any:
    """Make numpy/torch values JSON-friendly; NaN/inf become None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return _clean(obj.tolist())
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else round(obj, 6)
    return obj


def write_results(
    notebook: str,
    profile: str,
    seed: int,
    runtime_s: float,
    data: dict,
    findings: dict,
    out_dir: Path | None = None,
) -> Path:
    """Write a notebook's results file atomically and return its path."""
    profile = check_profile(profile)
    clash = set(findings) & set(REQUIRED)
    if clash:
        raise ValueError(f"findings may not override {sorted(clash)}")
    payload = {
        "notebook": notebook,
        "profile": profile,
        "seed": seed,
        "runtime_s": runtime_s,
        "data": data,
        **findings,
        "provenance": {
            "packages": package_versions(),
            "machine": platform.machine(),
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "threads": torch.get_num_threads(),
        },
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = (out_dir or results_dir(profile)) / f"{notebook}.json"
    atomic_write_text(path, json.dumps(_clean(payload), indent=2) + "\n")
    return path


def regenerate_hint(notebook: str, profile: str) -> str:
    """How to write a notebook's results file anew."""
    number = notebook.split("_", 1)[0]
    return (
        f"run the notebook again to rewrite it (`python -m facecure_lib.run_all --only "
        f"{number} --profile {profile}`, or `facecure run --only {number}`)"
    )


def read_results(notebook: str, profile: str = "quick", out_dir: Path | None = None) -> dict:
    """Read a results file; a corrupt file or missing required keys raise a ValueError that
    names the file and how to regenerate it."""
    path = (out_dir or results_dir(profile)) / f"{notebook}.json"
    try:
        data = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path}: corrupt results file of {notebook} ({err}); "
            f"{regenerate_hint(notebook, profile)}"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: not a results file (a JSON {type(data).__name__}, not an object); "
            f"{regenerate_hint(notebook, profile)}"
        )
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}; {regenerate_hint(notebook, profile)}")
    return data


def stable_view(results: dict) -> dict:
    """A results dict without the fields that legitimately change between runs."""
    return {k: v for k, v in results.items() if k not in VOLATILE}
