"""A demo photo folder: a generated person nobody has seen, and its cloaked photos named the
way a cloaking tool names them."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from ..models.base import Extractor
from ..scenario import Scenario
from .names import resolve_pattern


def demo_workdir(prefix: str = "facecure06_") -> Path:
    """A new temporary folder for a demo, removed when the Python process (the kernel) exits.

    It lives as long as the notebook's kernel, so the reader can open the demo folder and
    its report; papermill and CI runs leave nothing behind in the temporary directory.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


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
    from ..attacks import cloak
    from ..data.generate import generate_faces
    from ..experiments import load_surrogates, target_pool

    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty; choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    ds = generate_faces(2, n_pictures, scenario.ds.image_size, seed=10_000 + seed, progress=False)
    imgs = ds.images[ds.indices_of(0)]
    if surrogates is None:
        surrogates = load_surrogates(attack, scenario, progress=progress)
    res = cloak(
        attack,
        imgs.float() / 255,
        list(surrogates),
        mode=mode,
        seed=seed,
        target_pool=target_pool(scenario) if attack == "fawkes_v03" else None,
        profile=scenario.profile,
        progress=progress,
    )
    pattern = resolve_pattern(pattern)
    for k, (a, b) in enumerate(zip(imgs, res.images)):
        stem = f"photo_{k:02d}"
        Image.fromarray(a.permute(1, 2, 0).numpy()).save(dest / f"{stem}.png")
        arr = (b.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        Image.fromarray(arr).save(dest / pattern.format(stem=stem, ext=".png"))
    return dest
