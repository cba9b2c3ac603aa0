"""Run a notebook headless with papermill (quick profile) and return its results file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
_RUNS: dict[tuple, dict] = {}


def results_root() -> Path:
    """Where notebook runs in the tests write results (kept separate from `make run`'s)."""
    root = Path(os.environ.get("FACECURE_TEST_RESULTS", ROOT / "output" / "test-results"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def run_notebook(stem: str, **parameters) -> dict:
    """Execute notebooks/<stem>.ipynb once per parameter set per session; return its results."""
    pm = pytest.importorskip("papermill")
    params = {"PROFILE": "quick", "SEED": 0, **parameters}
    key = (stem, tuple(sorted(params.items())))
    if key in _RUNS:
        return _RUNS[key]
    out_dir = results_root() / "_".join(f"{k}{v}" for k, v in sorted(parameters.items()))
    out_dir.mkdir(parents=True, exist_ok=True)
    env_before = os.environ.get("FACECURE_RESULTS")
    os.environ["FACECURE_RESULTS"] = str(out_dir)
    os.environ.setdefault("FACECURE_FIGURES", str(results_root() / "figures"))
    try:
        pm.execute_notebook(
            str(NOTEBOOKS / f"{stem}.ipynb"),
            str(out_dir / f"{stem}.ipynb"),
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(NOTEBOOKS),
        )
    finally:
        if env_before is None:
            os.environ.pop("FACECURE_RESULTS", None)
        else:
            os.environ["FACECURE_RESULTS"] = env_before
    path = out_dir / "quick" / f"{stem}.json"
    assert path.exists(), f"{stem} ran but wrote no results file at {path}"
    data = json.loads(path.read_text())
    executed = json.loads((out_dir / f"{stem}.ipynb").read_text())
    n_run = sum(
        1 for c in executed["cells"] if c["cell_type"] == "code" and c.get("execution_count")
    )
    n_code = sum(1 for c in executed["cells"] if c["cell_type"] == "code")
    assert n_run == n_code, f"{stem}: only {n_run} of {n_code} code cells executed"
    _RUNS[key] = data
    return data
