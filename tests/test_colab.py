"""The Colab launch path: profile choice, the no-GPU hint, and an install cell that never
touches what Colab has already imported (checked by running it in a kernel that only
records its `!pip` lines)."""

from __future__ import annotations

import json
import re
import shlex
import sys
import types
from pathlib import Path

import pytest
import torch

from facecure_lib import colab, config, notebook

ROOT = Path(__file__).resolve().parents[1]
COLAB_LOADED = {"torch", "torchvision", "numpy", "pandas", "matplotlib", "ipywidgets"}


@pytest.fixture()
def fake_colab(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.delenv("FACECURE_PROFILE", raising=False)


def _gpu(monkeypatch, available: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)


def test_default_profile(monkeypatch):
    monkeypatch.delenv("FACECURE_PROFILE", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    _gpu(monkeypatch, True)
    assert config.default_profile() == "quick"  # outside Colab, even with a GPU
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert config.default_profile() == "paper"  # Colab with a GPU
    _gpu(monkeypatch, False)
    assert config.default_profile() == "quick"  # Colab on a CPU runtime
    monkeypatch.setenv("FACECURE_PROFILE", "paper")
    assert config.default_profile() == "paper"  # the variable wins everywhere


@pytest.mark.parametrize("gpu", [False, True])
def test_setup_hint_only_in_colab_without_gpu(fake_colab, monkeypatch, capsys, gpu):
    _gpu(monkeypatch, gpu)
    monkeypatch.setattr(notebook, "check_versions", lambda: None)  # would ask the fake GPU
    monkeypatch.setattr(notebook, "_NAME", [])
    notebook.setup("00_quickstart")
    out = capsys.readouterr().out
    hint = [line for line in out.splitlines() if "quick profile is used" in line]
    if gpu:
        assert not hint
    else:
        assert len(hint) == 1
        for needle in ("Runtime > Change runtime type > GPU", 'PROFILE = "paper"', "FACECURE_"):
            assert needle in hint[0]


def test_no_hint_outside_colab(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    _gpu(monkeypatch, False)
    monkeypatch.setattr(notebook, "_NAME", [])
    notebook.setup("00_quickstart")
    assert "quick profile is used" not in capsys.readouterr().out


def _requirement_name(req: str) -> str:
    return re.split(r"[<>=!~\[ @;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_colab_packages_are_declared_in_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    for req in colab.COLAB_PACKAGES:
        assert req in declared, f"{req} is installed in Colab but not declared in pyproject.toml"
    text = (ROOT / "pyproject.toml").read_text()
    for req in colab.COLAB_NO_DEPS:
        assert f"--no-deps {req}" in text  # documented beside the extras
    names = {_requirement_name(r) for r in colab.COLAB_PACKAGES + colab.COLAB_NO_DEPS}
    assert not names & COLAB_LOADED
    assert COLAB_LOADED <= set(colab.COLAB_KEEP)
    widgets = next(r for r in project["dependencies"] if r.startswith("ipywidgets"))
    assert widgets == "ipywidgets>=7.6,<9"  # Colab's 7.7 satisfies it


def test_widgets_only_use_ipywidgets_7_6_names():
    """Colab keeps its ipywidgets 7.7: every widget class used must exist in 7.6."""
    in_7_6 = {
        "Button",
        "Checkbox",
        "Dropdown",
        "FloatText",
        "HBox",
        "HTML",
        "IntText",
        "Layout",
        "Text",
        "VBox",
        "ValueWidget",
    }
    source = (ROOT / "facecure_lib" / "widgets.py").read_text()
    used = set(re.findall(r"\bw\.([A-Z]\w*)", source))
    assert used and used <= in_7_6, used - in_7_6


def _pip_commands_from_kernel(stem: str) -> tuple[list[str], str]:
    """Run the generated setup cell in a fresh kernel that fakes Colab (no GPU) and records
    `get_ipython().system` calls instead of running them; return (commands, stdout)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from nbformat.v4 import new_code_cell, new_notebook

    fake = (
        "import sys, types\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        "import torch\n"
        "torch.cuda.is_available = lambda: False\n"
        "_calls = []\n"
        "get_ipython().system = _calls.append\n"
    )
    dump = "import json, facecure_lib\nprint(json.dumps([_calls, facecure_lib.__file__]))"
    nb = new_notebook(
        cells=[new_code_cell(fake), new_code_cell(colab.setup_cell(stem)), new_code_cell(dump)]
    )
    client = nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()
    setup_out = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    calls, where = json.loads(nb.cells[2].outputs[0]["text"])
    assert Path(where).resolve().is_relative_to(ROOT), where
    assert nbformat.validate(nb) is None
    return calls, setup_out


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_generated_setup_cell_in_a_fake_colab_kernel():
    calls, out = _pip_commands_from_kernel("00_quickstart")
    assert len(calls) == 3 and all(c.startswith("pip install") for c in calls)
    own = next(c for c in calls if "facecure-tutorials" in c)
    assert "--no-deps" in shlex.split(own)
    for cmd in calls:
        names = {_requirement_name(t) for t in shlex.split(cmd)[2:] if not t.startswith("-")}
        assert not names & COLAB_LOADED, cmd  # never reinstalls what Colab has loaded
    constrained = next(c for c in calls if " -c " in c)
    assert all(f'"{r}"' in constrained for r in colab.COLAB_PACKAGES)
    pins = Path(colab.CONSTRAINTS).read_text().splitlines()
    assert any(p.startswith("torch==") for p in pins) and any(p.startswith("numpy==") for p in pins)
    assert "quick profile is used" in out  # the no-GPU hint, from notebook.setup
