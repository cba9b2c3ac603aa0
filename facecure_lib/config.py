"""Profile names, devices, seeds, threads and folders: the settings every notebook shares.

What a profile *is* (sizes, surrogates, timelines, recipes) lives in `facecure_lib.profiles`.
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

PROFILES = ("quick", "paper")


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def default_profile() -> str:
    """`FACECURE_PROFILE` if set; else `paper` in Colab with a GPU; else `quick` (Colab
    without a GPU, and everywhere else)."""
    env = os.environ.get("FACECURE_PROFILE")
    if env:
        return check_profile(env)
    return "paper" if in_colab() and torch.cuda.is_available() else "quick"


def check_profile(name: str | None) -> str:
    """Return a valid profile name, or raise a ValueError that lists the valid ones."""
    if name is None:
        return default_profile()
    key = str(name).strip().lower()
    if key not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}; valid profiles: {', '.join(PROFILES)}.")
    return key


def get_device(prefer: str | None = None) -> torch.device:
    """The device to compute on: `prefer` if given, else CUDA, then MPS, then CPU.

    `FACECURE_DEVICE` overrides the automatic choice (e.g. `cpu` to force CPU).
    """
    choice = prefer or os.environ.get("FACECURE_DEVICE")
    if choice:
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a torch Generator seeded the same way."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def cache_dir() -> Path:
    """Folder for every cached artefact: `FACECURE_CACHE`, else the user's cache folder."""
    env = os.environ.get("FACECURE_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
        root = Path(base) / "facecure"
    root.mkdir(parents=True, exist_ok=True)
    return root


def project_root() -> Path:
    """The repository root when running from a checkout, else the current folder."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def results_dir(profile: str) -> Path:
    """Where notebooks write `results/<profile>/*.json` (`FACECURE_RESULTS` overrides)."""
    env = os.environ.get("FACECURE_RESULTS")
    root = Path(env).expanduser() if env else project_root() / "results"
    out = root / check_profile(profile)
    out.mkdir(parents=True, exist_ok=True)
    return out


def cpu_quota() -> int:
    """CPUs this process may really use: the affinity mask and a container's cgroup CPU
    quota (`joblib.cpu_count`), which `os.cpu_count()` ignores (it counts the host's)."""
    try:
        import joblib

        return max(1, int(joblib.cpu_count()))
    except Exception:  # joblib missing or unable to read the cgroup files
        affinity = getattr(os, "sched_getaffinity", None)
        return max(1, len(affinity(0)) if affinity else os.cpu_count() or 1)


def _env_threads(var: str) -> int | None:
    """A positive thread count from an environment variable; None (with a warning if the
    value is not a positive integer) otherwise."""
    value = os.environ.get(var, "").strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        warnings.warn(f"{var}={value!r} is not a positive integer; ignored", stacklevel=3)
        return None
    return n


def thread_count() -> int:
    """`FACECURE_THREADS`, else `OMP_NUM_THREADS`, else the CPU quota (`cpu_quota`)."""
    return _env_threads("FACECURE_THREADS") or _env_threads("OMP_NUM_THREADS") or cpu_quota()


def set_threads() -> None:
    """Use every core this process may use for torch on CPU, but no more (oversubscription
    slows small boxes and containers down).

    `FACECURE_THREADS` overrides, then `OMP_NUM_THREADS`: on a shared server set one of
    them to 1 per student process, since torch's thread barriers slow down by orders of
    magnitude when cores are oversubscribed. Otherwise the container's CPU quota decides.
    """
    n = thread_count()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def check_versions(min_torch: str = "2.1") -> None:
    """Print the versions that matter and warn on a torch that is too old."""
    import platform

    from . import __version__

    major_minor = tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2])
    need = tuple(int(p) for p in min_torch.split("."))
    gpu = f"GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU only"
    print(
        f"facecure_lib {__version__} | torch {torch.__version__} | "
        f"python {platform.python_version()} | {gpu}"
    )
    if major_minor < need:
        print(f"Warning: torch {torch.__version__} is older than {min_torch}; please upgrade.")
