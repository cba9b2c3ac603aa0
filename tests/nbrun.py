"""Run a notebook headless with papermill (quick profile) and return its results file."""

from __future__ import annotations

import json
import os
import re
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


# every results file starts with these (results.write_results)
COMMON_KEYS = ("notebook", "profile", "seed", "runtime_s", "data")


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
    os.environ.setdefault("FACECURE_PROGRESS", "line")  # headless: no frozen widget bars
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
    check_outputs(stem, executed, data)
    _RUNS[key] = data
    return data


def check_outputs(stem: str, executed: dict, results: dict) -> None:
    """Every figure the notebook showed appears exactly once (one image output per figure
    recorded in its results file), every exercise passed, and no raw path is printed."""
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images == len(results["figures"]), (
        f"{stem}: {images} image outputs for {len(results['figures'])} figures shown "
        f"({results['figures']})"
    )
    text = json.dumps(outputs)
    assert "PosixPath" not in text, f"{stem}: a cell prints a PosixPath"
    assert not frozen_progress_bars(outputs), f"{stem}: progress bars saved in the outputs"
    failed = {k: v for k, v in results["exercises"].items() if v != "pass"}
    assert not failed, f"{stem}: exercises not passing in the solution notebook: {failed}"


def frozen_progress_bars(outputs: list[dict]) -> list[str]:
    """Progress-bar remnants in saved outputs: widget bars (saved as their first frame,
    "0%|...") and tqdm text bars (carriage-return redraws)."""
    found = []
    for o in outputs:
        texts = [o.get("text", ""), o.get("data", {}).get("text/plain", "")]
        for text in texts:
            text = "".join(text) if isinstance(text, list) else text
            if re.search(r"\d+%\|", text):
                found.append(text[:60])
    return found
