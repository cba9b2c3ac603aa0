"""Exercises in the notebooks (the student versions themselves run in `make test`'s nbval
stage, every exercise left undone)."""

import pytest

from facecure_lib.student import count_exercises

from .nbrun import NOTEBOOKS

STEMS = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("stem", [s for s in STEMS if s[:2] in {"01", "02", "03", "04", "05"}])
def test_core_notebooks_have_two_exercises(stem):
    assert count_exercises(NOTEBOOKS / f"{stem}.ipynb") >= 2
