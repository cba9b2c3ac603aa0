"""Notebook 00 started as from its Colab badge: the generated install guard and the first
cells, in a kernel that fakes Colab (tests/fake_colab.py). Without a GPU the quick profile
runs and the setup cell says how to switch; with the GPU flag the paper profile is chosen
and, with the stand-in mirror set, loads its faces and prints its T4 estimate. (The whole
of notebook 00 under the fake GPU flag runs in the paper smoke, tests/test_paper_smoke.py.)"""

from __future__ import annotations

import re

import pytest
from nbformat.v4 import new_code_cell

from facecure_lib.notebook import COLAB_CPU_HINT

from .fake_colab import RECORD, first_cells, outputs_text, with_fake_colab
from .paper_fixtures import FACES, paper_mirror, standin_files  # noqa: F401

nbclient = pytest.importorskip("nbclient")
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning")]
STEM = "00_quickstart"


def _execute(gpu: bool, cwd) -> list:
    """Run notebook 00 up to its `load_world` cell in a fake Colab kernel, then a cell that
    prints how many pip commands were recorded; return the cells (the fake one first)."""
    nb = with_fake_colab(first_cells(STEM, "notebook.load_world("), gpu=gpu)
    dump = new_code_cell(f"print('PIP', len({RECORD}))")
    nb.cells.append(dump)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return nb.cells


def _printed(cells) -> str:
    return "".join(outputs_text(c) for c in cells if c.cell_type == "code")


def test_colab_without_gpu_runs_the_quick_profile_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FACECURE_PROFILE", raising=False)
    cells = _execute(gpu=False, cwd=tmp_path)
    setup = next(c for c in cells if "notebook.setup(" in c.source)
    assert "google.colab" in setup.source  # the generated install guard ran in "Colab"
    assert outputs_text(setup).count(COLAB_CPU_HINT) == 1
    printed = _printed(cells)
    assert "profile=quick" in printed and "generated" in printed
    assert "estimated on a T4" not in printed
    assert "PIP 3" in printed  # the three pip commands, recorded instead of run


def test_colab_with_gpu_chooses_the_paper_profile(paper_mirror, tmp_path):  # noqa: F811
    cells = _execute(gpu=True, cwd=tmp_path)
    printed = _printed(cells)
    assert "GPU: Tesla T4 (fake)" in printed
    assert COLAB_CPU_HINT not in printed
    assert "profile=paper" in printed
    assert re.search(r"estimated on a T4: ~\d+ min \(estimate, not measured\)", printed)
    n_private = FACES["identities"] - FACES["identities"] // 2
    assert f"{n_private} enrolled faces identities" in printed  # the stand-in face folder
