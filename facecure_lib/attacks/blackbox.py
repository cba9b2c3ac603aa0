"""Black-box cloaking: run an external tool (such as the official `fawkes` CLI) on a folder.

The user's pictures are copied into a temporary work folder first, the command runs there,
and every input is paired with its output by file name (`output_pattern`, by default
Fawkes' `NAME_cloaked.png`). The user's folder is never written to (checked by hashes).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from ..cache import cached_tensors, file_sha256, tensor_hash
from .api import CloakResult
from .metrics import perturbation_report

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
FAWKES_COMMAND = ("fawkes", "-d", "{dir}", "--mode", "{mode}")
FAWKES_OUTPUT = "{stem}_cloaked.png"


class BlackBoxError(RuntimeError):
    """The external command failed, or its outputs cannot be paired with the inputs."""


@dataclass
class FolderCloak:
    """Pictures of a folder before and after the external tool, paired by file name."""

    inputs: list[Path]
    outputs: list[str]
    clean: list[torch.Tensor]
    cloaked: list[torch.Tensor]
    report: pd.DataFrame
    config: dict
    out_dir: Path | None = None


def load_picture(path: Path) -> torch.Tensor:
    """A picture file as float [3, H, W] in [0, 1] (RGB)."""
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255


def save_picture(img: torch.Tensor, path: Path) -> None:
    """Save float [3, H, W] in [0, 1] as an 8-bit PNG."""
    arr = (img.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    Image.fromarray(arr).save(path)


def _output_name(pattern: str, path: Path) -> str:
    return pattern.format(stem=path.stem, name=path.name, ext=path.suffix)


def list_inputs(folder: Path, output_pattern: str = FAWKES_OUTPUT) -> list[Path]:
    """Picture files of a folder, sorted, leaving out earlier outputs of the tool."""
    files = sorted(
        p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    outputs = {_output_name(output_pattern, p) for p in files}
    return [p for p in files if p.name not in outputs]


def _command(command: str | Sequence[str], workdir: Path, mode: str) -> list[str]:
    parts = shlex.split(command) if isinstance(command, str) else list(command)
    return [str(a).format(dir=workdir, mode=mode) for a in parts]


def cloak_folder(
    folder: str | Path,
    command: str | Sequence[str] = FAWKES_COMMAND,
    output_pattern: str = FAWKES_OUTPUT,
    mode: str = "high",
    out_dir: str | Path | None = None,
    timeout: float | None = None,
) -> FolderCloak:
    """Cloak every picture of `folder` with an external command and pair the outputs.

    `command` is a template (string or argument list) where `{dir}` is the work folder and
    `{mode}` the mode; `output_pattern` names the output of an input (`{stem}`, `{name}`,
    `{ext}`). Outputs are copied to `out_dir` when given. Raises BlackBoxError naming the
    files when the command fails, an output is missing or a pair differs in size.
    """
    folder = Path(folder)
    inputs = list_inputs(folder, output_pattern)
    if not inputs:
        raise BlackBoxError(f"{folder}: no pictures ({', '.join(IMAGE_EXTENSIONS)})")
    before = {p: file_sha256(p) for p in inputs}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="facecure_blackbox_") as tmp:
        work = Path(tmp)
        for p in inputs:
            shutil.copy2(p, work / p.name)
        args = _command(command, work, mode)
        _run(args, timeout)
        names = [_output_name(output_pattern, p) for p in inputs]
        _check_outputs(work, inputs, names)
        clean = [load_picture(work / p.name) for p in inputs]
        cloaked = [load_picture(work / n) for n in names]
        _check_sizes(inputs, names, clean, cloaked)
        if out_dir is not None:
            out_dir = Path(out_dir)
            out_dir.mkdir(parents=True, exist_ok=True)
            for n in names:
                shutil.copy2(work / n, out_dir / n)
    changed = [p.name for p in inputs if not p.exists() or file_sha256(p) != before[p]]
    if changed:
        raise BlackBoxError(f"the command modified the user's pictures: {', '.join(changed)}")
    config = {
        "attack": "blackbox",
        "command": args[:1] + [a.replace(str(work), "{dir}") for a in args[1:]],
        "mode": mode,
        "output_pattern": output_pattern,
        "folder": str(folder),
        "n_images": len(inputs),
        "seconds": time.perf_counter() - start,
    }
    return FolderCloak(
        inputs, names, clean, cloaked, perturbation_report(clean, cloaked), config, out_dir
    )


def _run(args: list[str], timeout: float | None) -> None:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as err:
        raise BlackBoxError(f"command not found: {args[0]!r} (is the tool installed?)") from err
    except subprocess.TimeoutExpired as err:
        raise BlackBoxError(f"command timed out after {timeout} s: {shlex.join(args)}") from err
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "")[-2000:]
        raise BlackBoxError(f"command failed (exit {proc.returncode}): {shlex.join(args)}\n{tail}")


def _check_outputs(work: Path, inputs: list[Path], names: list[str]) -> None:
    missing = [f"{p.name} -> {n}" for p, n in zip(inputs, names) if not (work / n).is_file()]
    if missing:
        produced = sorted(q.name for q in work.iterdir() if q.name not in {p.name for p in inputs})
        raise BlackBoxError(
            f"{len(missing)} of {len(inputs)} outputs missing: "
            f"{'; '.join(missing)}. New files in the work folder: "
            f"{', '.join(produced) or 'none'}"
        )


def _check_sizes(
    inputs: list[Path], names: list[str], clean: list[torch.Tensor], cloaked: list[torch.Tensor]
) -> None:
    bad = [
        f"{p.name} {tuple(a.shape[1:])} vs {n} {tuple(b.shape[1:])}"
        for p, n, a, b in zip(inputs, names, clean, cloaked)
        if a.shape != b.shape
    ]
    if bad:
        raise BlackBoxError(f"mismatched pairs (size differs): {'; '.join(bad)}")


def blackbox_cloak(
    images: torch.Tensor,
    command: str | Sequence[str] = FAWKES_COMMAND,
    output_pattern: str = FAWKES_OUTPUT,
    mode: str = "high",
    cache: bool = True,
    timeout: float | None = None,
) -> CloakResult:
    """Cloak a batch [N, 3, H, W] in [0, 1] with an external tool (via PNG files).

    The pictures are written as 8-bit PNGs, so the report compares the tool's output with
    the rounded input. Cached by (command, mode, output pattern, picture hash).
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be [N, 3, H, W], got {tuple(images.shape)}")
    clean = (images.detach().float().cpu().clamp(0, 1) * 255).round() / 255
    parts = shlex.split(command) if isinstance(command, str) else list(command)
    config = {
        "attack": "blackbox",
        "command": parts,
        "mode": mode,
        "output_pattern": output_pattern,
        "images": tensor_hash(clean),
    }
    built: list[bool] = []

    def build() -> dict[str, torch.Tensor]:
        built.append(True)
        with tempfile.TemporaryDirectory(prefix="facecure_blackbox_in_") as tmp:
            for i, img in enumerate(clean):
                save_picture(img, Path(tmp) / f"img_{i:05d}.png")
            res = cloak_folder(tmp, parts, output_pattern, mode, timeout=timeout)
        return {"images": torch.stack(res.cloaked)}

    start = time.perf_counter()
    out = cached_tensors("cloak", config, build, enabled=cache)["images"].float()
    return CloakResult(
        out, perturbation_report(clean, out), config, not built, time.perf_counter() - start
    )
