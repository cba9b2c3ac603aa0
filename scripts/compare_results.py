"""Compare two folders of results files: are the numbers the same?

    python scripts/compare_results.py BEFORE_DIR AFTER_DIR

Keys that legitimately change between runs (timings, timestamps, provenance) are ignored,
and so are keys that only AFTER has (a change may add findings). Exit 1 on any difference.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

VOLATILE = {"runtime_s", "written_at", "provenance", "seconds"}


def differences(before, after, where: str = "") -> list[str]:
    """Paths at which `after` differs from `before` (keys new in `after` are fine)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for k, v in before.items():
            if k in VOLATILE:
                continue
            if k not in after:
                out.append(f"{where}/{k}: missing")
            else:
                out += differences(v, after[k], f"{where}/{k}")
        return out
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{where}: {len(before)} items -> {len(after)}"]
        return [
            d
            for i, (a, b) in enumerate(zip(before, after))
            for d in differences(a, b, f"{where}[{i}]")
        ]
    if isinstance(before, float) and isinstance(after, float):
        same = math.isclose(before, after, rel_tol=0, abs_tol=1e-9)
        return [] if same else [f"{where}: {before} -> {after}"]
    return [] if before == after else [f"{where}: {before!r} -> {after!r}"]


def main(argv: list[str]) -> int:
    before_dir, after_dir = Path(argv[0]), Path(argv[1])
    bad = 0
    for path in sorted(before_dir.glob("*.json")):
        other = after_dir / path.name
        if not other.exists():
            print(f"{path.name}: missing in {after_dir}")
            bad += 1
            continue
        diff = differences(json.loads(path.read_text()), json.loads(other.read_text()))
        print(f"{path.name}: {'identical' if not diff else f'{len(diff)} difference(s)'}")
        for d in diff[:20]:
            print(f"  {d}")
        bad += bool(diff)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
