"""Build `notebooks/NN_name.ipynb` from its source `notebooks/NN_name.py` (jupytext percent
format: `# %%`, `# %% [markdown]`, `# %% tags=["parameters"]`).

Every notebook gets the same first cells: its title (the source's first markdown cell) with
an "Open in Colab" badge, then the setup cell (the Colab install guard and
`notebook.setup(<name>)`; `facecure_lib.colab.setup_cell` renders it). Cell ids are
deterministic and outputs empty, so the `.ipynb` files never drift from their sources
without `--check` noticing. The published student versions (`student/`, whose Colab badges
open themselves; see `facecure_lib.student`) are rewritten from them in the same run.

    python scripts/build_notebooks.py            # (re)write every .ipynb and student/
    python scripts/build_notebooks.py --check    # exit 1 if a committed .ipynb is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # facecure_lib.colab from this checkout, even when not installed
from facecure_lib.colab import REPO, setup_cell  # noqa: E402  (torch-free)
from facecure_lib.student import publish  # noqa: E402  (torch-free)

NOTEBOOKS = ROOT / "notebooks"
STUDENT = ROOT / "student"  # the published student versions (README badges open them)


def badge(stem: str, folder: str = "notebooks") -> str:
    """Markdown of the "Open in Colab" badge of a notebook."""
    url = f"https://colab.research.google.com/github/{REPO}/blob/main/{folder}/{stem}.ipynb"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def sources(folder: Path = NOTEBOOKS) -> list[Path]:
    """The notebook sources, in order."""
    return sorted(folder.glob("[0-9][0-9]_*.py"))


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook of one source: title + badge, setup cell, then the source's cells."""
    nb = jupytext.read(source, fmt="py:percent")
    stem = source.stem
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError(f"{source}: the first cell must be the markdown title")
    nb.cells[0].source = f"{nb.cells[0].source}\n\n{badge(stem)}"
    nb.cells.insert(1, new_code_cell(setup_cell(stem, REPO)))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{stem[:2]}-{i:02d}"
        tags = cell.metadata.get("tags")
        cell.metadata = {"tags": tags} if tags else {}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def text(nb: nbformat.NotebookNode) -> str:
    """The file content of a notebook (nbformat's own serialisation)."""
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = ap.parse_args(argv)
    stale = []
    for src in sources():
        target = src.with_suffix(".ipynb")
        want = text(build(src))
        if args.check:
            if not target.exists() or target.read_text() != want:
                stale.append(target.name)
        else:
            target.write_text(want)
    known = {p.stem for p in sources()}
    orphans = [p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p.stem not in known]
    students = publish(NOTEBOOKS, STUDENT, STUDENT.name, check=args.check)
    stale += [f"{STUDENT.name}/{name}" for name in students]
    if stale or orphans:
        print("stale notebooks (run `make notebooks`): " + ", ".join(stale + orphans))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
