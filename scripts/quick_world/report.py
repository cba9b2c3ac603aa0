"""Render the design sweeps (scripts/quick_world/sweep.py outputs) as one Markdown table:
excess protection (protection rate minus the model's clean error) per model and attack.

    python scripts/quick_world/report.py docs/quick_world/sweeps/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ATTACKS = ("fawkes_v03", "fawkes_v10", "lowkey")


def rows(paths: list[str]) -> dict[str, dict]:
    """{model (with the sweep's options): row}, later files overriding earlier ones."""
    out: dict[str, dict] = {}
    for p in paths:
        d = json.loads(Path(p).read_text())
        tag = " (v0.3 500 steps)" if d["args"].get("v03_steps") else ""
        for name, r in d["rows"].items():
            out[name + tag] = r
    return out


def table(paths: list[str]) -> str:
    lines = [
        "| model | clean error | " + " | ".join(ATTACKS) + " |",
        "|---|---|" + "---|" * len(ATTACKS),
    ]
    for name, r in rows(paths).items():
        cells = [f"{r[a]['excess']:+.2f}" if a in r else "" for a in ATTACKS]
        lines.append(f"| {name} | {r['clean_error']:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(sys.argv[1:]))
