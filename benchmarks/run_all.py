"""Run every benchmark and write benchmarks/RESULTS.md (`make bench`).

    python benchmarks/run_all.py [--skip-suite]

Runs, in order: attack throughput (images/s and overhead over the surrogates' bare
forward+backward), recognition speed (embeddings/s, 1-NN search scaling), and the notebook
suite cold and warm (wall time, peak RSS). Each part is a subprocess so its output is
captured verbatim in RESULTS.md, with the machine's description and the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{os.cpu_count()} cores ({cpu}){mem}, {gpu}; python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


def run(cmd: list[str]) -> tuple[str, float]:
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
    text = out.stdout + (
        f"\n[exit {out.returncode}]\n{out.stderr[-2000:]}" if out.returncode else ""
    )
    return text, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-suite", action="store_true")
    ap.add_argument("--suite-cache", help="keep the suite's cache here (a new folder)")
    ap.add_argument(
        "--reuse-suite",
        action="store_true",
        help="tabulate an existing benchmarks/suite.json instead of re-running",
    )
    args = ap.parse_args()
    py = sys.executable
    parts = [
        ("Attack throughput", [py, "benchmarks/attack_throughput.py"]),
        ("Recognition speed", [py, "benchmarks/recognition.py"]),
    ]
    if not args.skip_suite:
        parts.append(
            (
                "Notebook suite (quick profile, cold then warm cache)",
                [
                    py,
                    "benchmarks/suite.py",
                    "--json",
                    str(HERE / "suite.json"),
                    "--results",
                    str(HERE.parent / "results"),
                ]
                + (["--cache", args.suite_cache] if args.suite_cache else []),
            )
        )
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {machine()}.",
        "",
        "Produced by `make bench` (`python benchmarks/run_all.py`) on "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
    ]
    for title, cmd in parts:
        print(f"== {title}: {' '.join(cmd[1:])}", flush=True)
        if args.reuse_suite and title.startswith("Notebook suite"):
            rows = json.loads((HERE / "suite.json").read_text())
            text = "\n".join(json.dumps(r) for r in rows)
            secs = sum(r["wall_s"] for r in rows)
        else:
            text, secs = run(cmd)
        print(text, flush=True)
        lines += [
            f"## {title}",
            "",
            f"`{' '.join(['python'] + cmd[1:])}` ({secs:.0f} s)",
            "",
            "```",
            text.strip(),
            "```",
            "",
        ]
        if title.startswith("Notebook suite") and (HERE / "suite.json").exists():
            rows = json.loads((HERE / "suite.json").read_text())
            lines += [
                "| phase | notebook | wall (s) | peak RSS (MB) | ok |",
                "|---|---|---|---|---|",
            ]
            lines += [
                f"| {r['phase']} | {r['notebook']} | {r['wall_s']} | {r.get('peak_rss_mb', '')} | "
                f"{r['ok']} |"
                for r in rows
            ]
            for phase in ("cold", "warm"):
                tot = sum(r["wall_s"] for r in rows if r["phase"] == phase)
                lines.append(f"\n{phase} total: {tot / 60:.1f} min")
            lines.append("")
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
