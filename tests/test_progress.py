"""Progress bars: a live bar for people, one line (or nothing) when run headless."""

from __future__ import annotations

import json

import nbformat
import pytest

from facecure_lib import progress

from .nbrun import frozen_progress_bars


@pytest.fixture
def clean_env(monkeypatch):
    for var in ("FACECURE_PROGRESS", "FACECURE_PROGRESS_MIN_S", "TQDM_DISABLE", "CI"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_mode_follows_the_environment(clean_env):
    clean_env.setenv("FACECURE_PROGRESS", "off")
    assert progress.mode() == "off"
    clean_env.setenv("FACECURE_PROGRESS", "nonsense")
    with pytest.raises(ValueError, match="bar, line, off"):
        progress.mode()
    clean_env.delenv("FACECURE_PROGRESS")
    clean_env.setenv("TQDM_DISABLE", "1")
    assert progress.mode() == "off"
    clean_env.delenv("TQDM_DISABLE")
    clean_env.setenv("CI", "true")
    assert progress.mode() == "line"
    clean_env.delenv("CI")
    # pytest captures stderr (not a terminal) and runs outside a Jupyter kernel: headless
    assert progress.mode() == "line"


def test_line_mode_writes_one_line_for_a_long_loop(clean_env, capsys):
    clean_env.setenv("FACECURE_PROGRESS", "line")
    clean_env.setenv("FACECURE_PROGRESS_MIN_S", "0")
    assert list(progress.tqdm(range(5), desc="cloaking users")) == list(range(5))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cloaking users: 5/5 in ")
    assert "%|" not in err and "\r" not in err
    assert list(progress.trange(3, desc="steps", disable=True)) == [0, 1, 2]
    assert capsys.readouterr().err == ""  # disable=True is silent in every mode


def test_line_mode_is_silent_for_quick_loops_and_counts_updates(clean_env, capsys):
    clean_env.setenv("FACECURE_PROGRESS", "line")
    clean_env.setenv("FACECURE_PROGRESS_MIN_S", "60")
    assert sum(progress.tqdm(range(100), desc="fast")) == 4950
    assert capsys.readouterr().err == ""
    bar = progress.tqdm(total=10, desc="download", unit="B", min_s=0)
    bar.update(4)
    bar.update(6)
    bar.set_postfix(x=1)
    bar.close()
    bar.close()  # closing twice writes once
    assert capsys.readouterr().err == "download: 10/10 B in 0 s\n"


def test_off_mode_writes_nothing(clean_env, capsys):
    clean_env.setenv("FACECURE_PROGRESS", "off")
    clean_env.setenv("FACECURE_PROGRESS_MIN_S", "0")
    with progress.tqdm(total=3, desc="x") as bar:
        bar.update(3)
    assert list(progress.tqdm(iter([1, 2]), desc="gen")) == [1, 2]
    assert capsys.readouterr().err == ""


def test_bar_mode_is_tqdm_that_leaves_nothing(clean_env):
    clean_env.setenv("FACECURE_PROGRESS", "bar")
    bar = progress.tqdm(range(2), desc="x")
    from tqdm import tqdm as base

    assert isinstance(bar, base) and bar.leave is False
    bar.close()


def test_frozen_bars_are_found_in_saved_outputs():
    widget = {
        "output_type": "display_data",
        "data": {
            "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
            "text/plain": "  0%|          | 0/20 [00:00<?, ?it/s]",
        },
    }
    panel = {"output_type": "display_data", "data": {"text/plain": "Dropdown(options=...)"}}
    line = {"output_type": "stream", "name": "stderr", "text": "lowkey: 20/20 in 7 s\n"}
    text_bar = {"output_type": "stream", "name": "stderr", "text": "\r 50%|#####     | 1/2"}
    assert frozen_progress_bars([panel, line]) == []
    assert len(frozen_progress_bars([widget, text_bar])) == 2


@pytest.mark.slow
def test_a_headless_notebook_run_saves_no_bar(tmp_path, clean_env):
    """A papermill run through the runner (which sets the headless mode for its kernel)."""
    pytest.importorskip("papermill")
    from facecure_lib.run_all import run_notebook

    clean_env.setenv("FACECURE_PROGRESS_MIN_S", "0")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from facecure_lib.progress import tqdm\n"
            "total = sum(tqdm(range(20), desc='work'))\nprint(total)"
        )
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    src = tmp_path / "nb.ipynb"
    nbformat.write(nb, src)
    run_notebook(src, tmp_path / "out", {})
    outputs = json.loads((tmp_path / "out" / "nb.ipynb").read_text())["cells"][0]["outputs"]
    assert frozen_progress_bars(outputs) == []
    text = "".join("".join(o.get("text", "")) for o in outputs)
    assert "190" in text and "work: 20/20 in" in text
