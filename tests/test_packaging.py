"""Environment files agree, the notebooks are stripped, the CI runs the README's command."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


# --------------------------------------------------------------------------- torch pins


def _torch_table() -> dict[str, dict[str, str]]:
    """binder/README.md's table: file -> {torch, torchvision, source}."""
    rows = {}
    for line in (ROOT / "binder" / "README.md").read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1] in (
            "Makefile",
            "binder/requirements.txt",
            "environment.yml",
        ):
            rows[cells[1]] = {"torch": cells[2], "torchvision": cells[3], "source": cells[4]}
    return rows


def _requirement_pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        m = re.match(r"^\s*-?\s*(torch|torchvision)==(\S+)\s*$", line)
        if m:
            pins[m.group(1)] = m.group(2)
    return pins


def test_every_launchers_torch_pins_match_the_documented_table():
    table = _torch_table()
    assert set(table) == {"Makefile", "binder/requirements.txt", "environment.yml"}
    make = (ROOT / "Makefile").read_text()
    made = dict(
        re.findall(r"^(?:TORCH|TORCHVISION)\s*:=\s*(torch|torchvision)==(\S+)$", make, re.M)
    )
    assert made == {k: table["Makefile"][k] for k in ("torch", "torchvision")}
    assert "scripts/torch_source.py $(TORCH) $(TORCHVISION)" in make
    req = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    env = (ROOT / "environment.yml").read_text().splitlines()
    for name, lines in (("binder/requirements.txt", req), ("environment.yml", env)):
        assert _requirement_pins(lines) == {k: table[name][k] for k in ("torch", "torchvision")}, (
            name
        )
        cpu_index = "https://download.pytorch.org/whl/cpu"
        assert cpu_index in table[name]["source"] and any(cpu_index in x for x in lines), name
    assert "https://download.pytorch.org/whl/cpu" in table["Makefile"]["source"]


def _torch_source(tmp_path, wheels: list[str], choice: str = "") -> str:
    folder = tmp_path / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    for name in wheels:
        (folder / name).write_bytes(b"")
    env = {
        **os.environ,
        "PIP_CONFIG_FILE": os.devnull,  # only the sources given here
        "PIP_FIND_LINKS": str(folder),
        "TORCH_SOURCE": choice,
    }
    for var in ("PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL"):
        env.pop(var, None)
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "torch_source.py"),
            "torch==2.14.1",
            "torchvision==0.29.1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_make_setup_takes_the_local_pair_else_the_cpu_build(tmp_path):
    pins = "torch==2.14.1 torchvision==0.29.1"
    cpu = f"--index-url https://download.pytorch.org/whl/cpu {pins}"
    local = [
        "torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl",
        "torchvision-0.29.1-cp311-cp311-manylinux_2_28_x86_64.whl",
    ]
    assert _torch_source(tmp_path, local) == pins
    assert _torch_source(tmp_path / "x", local[:1]) == cpu  # half the pair is not the pair
    assert _torch_source(tmp_path / "y", []) == cpu
    assert _torch_source(tmp_path / "z", [], "pypi") == pins


def test_teaser_is_made_by_code_and_shown_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert "](assets/teaser.png)" in readme.split("## Two commands")[0]
    assert (ROOT / "assets" / "teaser.png").stat().st_size > 10_000
    numbers = json.loads((ROOT / "assets" / "teaser.json").read_text())
    assert set(numbers["protection"]) == {"posting", "later", "adaptive"}
    assert re.search(
        r"^assets: setup\n\t\$\(PY\) scripts/make_assets.py$", (ROOT / "Makefile").read_text(), re.M
    )


@pytest.mark.slow
def test_make_assets_reproduces_the_committed_numbers(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_assets.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads((tmp_path / "teaser.json").read_text())
    assert got == json.loads((ROOT / "assets" / "teaser.json").read_text())


def test_licence_lists_the_vendored_weights_and_lab_is_an_extra():
    text = (ROOT / "LICENSE").read_text()
    assert "Copyright (c) 2026 FaceCure Tutorials contributors" in text
    assert "facecure_lib/assets/dlib_resnet/" in text and "public domain" in text
    assert "facecure_lib/assets/zoo/" in text
    project = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^lab = \[\n  "jupyterlab', project, re.M)
    assert '"seaborn>=0.13"' in project
    make = (ROOT / "Makefile").read_text()
    assert '-m ipykernel install --user --name facecure --display-name "FaceCure (venv)"' in make
    assert "jupyter lab notebooks/" in make and "make lab" in (ROOT / "README.md").read_text()
