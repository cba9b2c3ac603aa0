"""Student versions run top to bottom and stop only at an unfinished exercise."""

import os

import pytest

from facecure_lib.student import count_exercises, student_notebook

from .nbrun import NOTEBOOKS, results_root

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]
STEMS = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("stem", [s for s in STEMS if s[:2] in {"01", "02", "03", "04", "05"}])
def test_core_notebooks_have_two_exercises(stem):
    assert count_exercises(NOTEBOOKS / f"{stem}.ipynb") >= 2


@pytest.mark.parametrize("stem", [s for s in STEMS if count_exercises(NOTEBOOKS / f"{s}.ipynb")])
def test_student_version_fails_only_with_not_implemented(stem, tmp_path, monkeypatch):
    pm = pytest.importorskip("papermill")
    monkeypatch.setenv("FACECURE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("FACECURE_FIGURES", str(results_root() / "figures"))
    student = tmp_path / f"{stem}.ipynb"
    assert student_notebook(NOTEBOOKS / f"{stem}.ipynb", student) >= 1
    with pytest.raises(pm.PapermillExecutionError) as info:
        pm.execute_notebook(str(student), str(tmp_path / "out.ipynb"),
                            parameters={"PROFILE": "quick", "SEED": 0}, kernel_name="python3",
                            progress_bar=False, cwd=str(NOTEBOOKS))
    assert info.value.ename == "NotImplementedError", (info.value.ename, info.value.evalue)
    assert os.path.exists(tmp_path / "out.ipynb")
