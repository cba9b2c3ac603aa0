"""A kernel that believes it runs in Colab: a first cell that puts a `google.colab` module in
`sys.modules`, says whether a GPU is there (`torch.cuda.is_available`), and records the
install cell's `!pip` lines instead of running them (`_pip_calls`). Computation stays on the
CPU (`FACECURE_DEVICE=cpu`) even with the GPU flag."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
RECORD = "_pip_calls"


def fake_colab_source(gpu: bool) -> str:
    """The source of the cell that fakes Colab (with or without a GPU)."""
    return "\n".join(
        [
            "import os, sys, types",
            f"sys.path.insert(0, {str(ROOT)!r})",
            "sys.modules['google.colab'] = types.ModuleType('google.colab')",
            "os.environ.pop('FACECURE_PROFILE', None)",
            "os.environ['FACECURE_DEVICE'] = 'cpu'",
            "import torch",
            f"torch.cuda.is_available = lambda: {gpu}",
            "torch.cuda.get_device_name = lambda i=0: 'Tesla T4 (fake)'",
            f"{RECORD} = []",
            f"get_ipython().system = {RECORD}.append",
        ]
    )


def with_fake_colab(nb: nbformat.NotebookNode, gpu: bool) -> nbformat.NotebookNode:
    """A copy of a notebook whose first cell fakes Colab."""
    out = nbformat.from_dict(nb)
    cell = new_code_cell(fake_colab_source(gpu))
    cell["id"] = "fake-colab"
    out.cells.insert(0, cell)
    return out


def first_cells(stem: str, until: str) -> nbformat.NotebookNode:
    """notebooks/<stem>.ipynb up to and including the first code cell containing `until`."""
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    end = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and until in c.source)
    nb.cells = nb.cells[: end + 1]
    return nb


def outputs_text(cell: nbformat.NotebookNode) -> str:
    """Everything a cell printed (stdout, stderr, and the text of displayed results)."""
    parts = []
    for o in cell.get("outputs", []):
        parts.append(o.get("text", ""))
        parts.append(o.get("data", {}).get("text/plain", ""))
    return "".join(parts)
