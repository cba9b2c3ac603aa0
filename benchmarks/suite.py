"""Wall time and peak memory (RSS of the notebook's kernel) of each notebook, cold and warm.

    python benchmarks/suite.py [--only 00 02] [--json out.json]

Cold: an empty cache folder (everything is generated, trained and cloaked from scratch).
Warm: the same cache again. Each notebook runs through papermill in the quick profile;
a sampler follows the kernel process and records its peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def _peak_rss(proc: psutil.Process, stop: threading.Event, out: dict) -> None:
    peak = 0
    while not stop.is_set():
        try:
            procs = [proc, *proc.children(recursive=True)]
            rss = max(
                (p.memory_info().rss for p in procs if "kernel" in " ".join(p.cmdline())), default=0
            )
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    out["peak_rss_mb"] = round(peak / 2**20)


def run_one(nb: Path, cache: Path, workdir: Path, results: Path | None = None) -> dict:
    """Run one notebook in a subprocess; return wall time and the kernel's peak RSS."""
    env = {
        **os.environ,
        "FACECURE_CACHE": str(cache),
        "FACECURE_RESULTS": str(results or workdir / "results"),
        "FACECURE_FIGURES": str(workdir / "figures"),
        "MPLBACKEND": "Agg",
    }
    cmd = [
        sys.executable,
        "-m",
        "papermill",
        str(nb),
        str(workdir / nb.name),
        "-p",
        "PROFILE",
        "quick",
        "--cwd",
        str(nb.parent),
        "--no-progress-bar",
    ]
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop, mem = threading.Event(), {}
    sampler = threading.Thread(target=_peak_rss, args=(proc, stop, mem), daemon=True)
    sampler.start()
    _, err = proc.communicate()
    stop.set()
    sampler.join()
    row = {
        "notebook": nb.stem,
        "wall_s": round(time.perf_counter() - start, 1),
        **mem,
        "ok": proc.returncode == 0,
    }
    if proc.returncode:
        row["error"] = err.decode(errors="replace")[-400:]
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--json")
    ap.add_argument("--results", help="keep the warm run's results files here (e.g. results)")
    ap.add_argument(
        "--cache",
        help="cache folder to use and keep (must not exist yet: the "
        "cold phase needs it empty); default: a temporary one",
    )
    args = ap.parse_args()
    if args.cache and Path(args.cache).exists():
        ap.error(f"--cache {args.cache} exists: the cold phase needs a fresh folder")
    nbs = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        nbs = [n for n in nbs if any(n.stem.startswith(o) for o in args.only)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(args.cache).resolve() if args.cache else Path(tmp) / "cache"
        for phase in ("cold", "warm"):
            for nb in nbs:
                keep = Path(args.results).resolve() if args.results and phase == "warm" else None
                row = {"phase": phase, **run_one(nb, cache, Path(tmp) / phase, keep)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
