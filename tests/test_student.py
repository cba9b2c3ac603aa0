import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from facecure_lib.student import MarkerError, main, stub_source, student_notebook

SOLVED = '''def double(x):
    """Return 2x."""
    # HINT: multiply by two
    # BEGIN SOLUTION
    y = 2 * x
    return y
    # END SOLUTION
'''


def test_stub_replaces_solution_with_hint():
    src, n = stub_source(SOLVED)
    assert n == 1 and "2 * x" not in src
    assert "    raise NotImplementedError('multiply by two')" in src
    ns = {}
    exec(src, ns)
    with pytest.raises(NotImplementedError, match="multiply by two"):
        ns["double"](3)
    exec(SOLVED, ns)
    assert ns["double"](3) == 6


@pytest.mark.parametrize(
    "bad",
    [
        "# BEGIN SOLUTION\nx = 1\n",
        "x = 1\n# END SOLUTION\n",
        "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n",
    ],
)
def test_unbalanced_markers_are_errors(bad):
    with pytest.raises(MarkerError):
        stub_source(bad)


def test_student_notebook_roundtrip(tmp_path):
    nb = new_notebook(cells=[new_code_cell("print(1)"), new_code_cell(SOLVED)])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    src = tmp_path / "01_demo.ipynb"
    nbformat.write(nb, src)
    assert student_notebook(src, tmp_path / "out" / "01_demo.ipynb") == 1
    out = nbformat.read(tmp_path / "out" / "01_demo.ipynb", as_version=4)
    code = [c for c in out.cells if c.cell_type == "code"]
    assert code[0].outputs == [] and "NotImplementedError" in code[1].source
    assert "2 * x" in src.read_text()  # the source notebook is untouched
    assert main([str(tmp_path), str(tmp_path)]) == 2  # never overwrite solutions


def test_grading_cells_are_recognised():
    from facecure_lib.student import GRADE_CALL

    assert GRADE_CALL.search("fn = ex.check_fn(fn)")
    assert GRADE_CALL.search('exercises.check_prediction(\n    "p", my_prediction, OPTIONS, x)')
    assert not GRADE_CALL.search("print(ex)")
