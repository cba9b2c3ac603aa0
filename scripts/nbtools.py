"""Build notebooks from a list of (kind, source) cells, with the shared first cells.

Usage from a script: `write_notebook(path, title_md, cells)` where `cells` is a list of
("md" | "code" | "params", source). The first code cells (Colab install guard, version
check) are the same in every notebook; outputs are empty, so nothing needs stripping.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = "facecure/facecure-tutorials"

SETUP = """# Setup. In Colab this installs the package (Colab's own torch is kept: never reinstall it).
import sys

if "google.colab" in sys.modules:
    !pip install -q "facecure-tutorials[paper] @ git+https://github.com/{repo}"
    !pip install -q --no-deps facenet-pytorch==2.6.0

import facecure_lib
from facecure_lib.config import check_versions

check_versions()""".replace("{repo}", REPO)


def badge(stem: str) -> str:
    url = f"https://colab.research.google.com/github/{REPO}/blob/main/notebooks/{stem}.ipynb"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def write_notebook(path: str | Path, title_md: str, cells: list[tuple[str, str]]) -> Path:
    """Write a notebook: title + Colab badge, setup cell, then the given cells.

    `FACECURE_NB_OUT` redirects the file to another folder (the tests regenerate every
    notebook there and compare, so the committed notebooks never drift from their source).
    """
    path = Path(path)
    if os.environ.get("FACECURE_NB_OUT"):
        path = Path(os.environ["FACECURE_NB_OUT"]) / path.name
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells.append(new_markdown_cell(f"{title_md}\n\n{badge(path.stem)}"))
    nb.cells.append(new_code_cell(SETUP))
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "md":
            nb.cells.append(new_markdown_cell(src))
        elif kind == "params":
            cell = new_code_cell(src)
            cell.metadata["tags"] = ["parameters"]
            nb.cells.append(cell)
        elif kind == "code":
            nb.cells.append(new_code_cell(src))
        else:
            raise ValueError(f"unknown cell kind {kind!r}")
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{path.stem[:2]}-{i:02d}"
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path
