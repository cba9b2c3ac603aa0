"""Fail if any notebook in the given folders has stored outputs or execution counts."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def dirty(path: Path) -> bool:
    nb = json.loads(path.read_text())
    return any(
        c.get("outputs") or c.get("execution_count")
        for c in nb.get("cells", [])
        if c.get("cell_type") == "code"
    )


def main(folders: list[str]) -> int:
    bad = [
        p
        for f in folders
        for p in sorted(Path(f).rglob("*.ipynb"))
        if ".ipynb_checkpoints" not in p.parts and dirty(p)
    ]
    for p in bad:
        print(f"{p}: has outputs; run `make strip` (nbstripout) before committing")
    print(f"checked notebooks in {', '.join(folders)}: {len(bad)} with outputs")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["notebooks"]))
