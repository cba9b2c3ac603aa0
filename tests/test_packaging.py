"""Environment files agree, the notebooks are stripped, the CI runs the README's command."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    return sorted(
        line.strip().lstrip("- ").strip()
        for line in lines
        if re.match(r"^\s*-?\s*[A-Za-z0-9_.-]+==", line)
    )


def test_binder_and_environment_yml_pins_agree():
    req = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    env = (ROOT / "environment.yml").read_text().splitlines()
    pip_section = env[env.index("  - pip:") + 1 :]
    assert _pins(req) and _pins(req) == _pins(pip_section)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test   #" in readme
    assert re.search(r"^make test$", ci, re.M)


def test_notebooks_are_stripped():
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_stripped.py"), str(ROOT / "notebooks")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout


def test_every_notebook_has_a_source_and_parameters():
    import nbformat

    sources = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    built = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sources == built and len(sources) == 7
    for nb_path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        assert any("parameters" in t for t in tags), f"{nb_path.name}: no parameters cell"
        src = nb.cells[[i for i, t in enumerate(tags) if "parameters" in t][0]].source
        assert "PROFILE" in src and "SEED" in src
        assert "google.colab" in nb.cells[1].source, f"{nb_path.name}: no Colab guard"
        assert f'notebook.setup("{nb_path.stem}")' in nb.cells[1].source


def test_notebooks_match_their_sources():
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_notebooks.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_parameter_cells_parse_cleanly():
    """papermill reads every parameter (no "Unable to parse line" warning)."""
    import nbformat
    from papermill import inspect_notebook

    for nb_path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        names = {
            line.split("=")[0].strip()
            for line in cell.source.splitlines()
            if line and not line.startswith("#")
        }
        assert set(inspect_notebook(str(nb_path))) == names, nb_path.name
