"""Where `make setup` takes torch from; prints the arguments for `pip install`.

`auto` (the default): the pinned pair from this machine's disk when pip's local sources
(find-links folders, file:// indexes) hold it, else the CPU build of the same pair from the
PyTorch CPU index, never the multi-GB CUDA build PyPI would pick. `TORCH_SOURCE` chooses:
`local`, `cpu` or `pypi` (the CUDA build, for a GPU machine). Colab never runs this: its own
torch is kept. binder/README.md tabulates every launcher's pins.

    python scripts/torch_source.py torch==2.14.1 torchvision==0.29.1
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SOURCE_KEYS = ("find-links", "extra-index-url", "index-url")


def pip_sources() -> list[str]:
    """Every package source pip is configured with (config files and PIP_* variables)."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    sources = []
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.rsplit(".", 1)[-1] in SOURCE_KEYS:
            sources += value.strip().strip("'\"").split()
    return sources


def local_folder(source: str) -> Path | None:
    """The folder of a local source (a path or a file:// URL); None for a remote one."""
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme in ("", None) or len(parsed.scheme) == 1:  # a path (or C:\...)
        return Path(source)
    return None


def holds(folder: Path, name: str, version: str) -> bool:
    """Whether a find-links folder or a simple index in `folder` offers name==version."""
    wheel = f"{name.replace('-', '_')}-{version}"
    if any(folder.glob(f"{wheel}-*.whl")) or any(folder.glob(f"{wheel}+*.whl")):
        return True
    page = folder / name / "index.html"
    text = page.read_text(errors="replace") if page.is_file() else ""
    return f"{wheel}-" in text or f"{wheel}+" in text


def on_local_disk(pins: list[str], sources: list[str]) -> bool:
    """Whether every `name==version` pin lies in one of the local sources."""
    folders = [f for f in map(local_folder, sources) if f is not None and f.is_dir()]
    return all(any(holds(f, *pin.split("==", 1)) for f in folders) for pin in pins if "==" in pin)


def install_args(
    pins: list[str], choice: str = "auto", sources: list[str] | None = None
) -> list[str]:
    """The `pip install` arguments for `pins` under a TORCH_SOURCE choice."""
    if choice not in ("auto", "local", "cpu", "pypi"):
        raise ValueError(f"TORCH_SOURCE must be auto, local, cpu or pypi, got {choice!r}")
    if choice == "auto":
        local = on_local_disk(pins, pip_sources() if sources is None else sources)
        choice = "local" if local else "cpu"
    if choice == "cpu":
        return ["--index-url", CPU_INDEX, *pins]
    return list(pins)


def main(argv: list[str] | None = None) -> int:
    pins = list(sys.argv[1:] if argv is None else argv)
    if not pins:
        print(__doc__, file=sys.stderr)
        return 2
    print(" ".join(install_args(pins, os.environ.get("TORCH_SOURCE") or "auto")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
