"""Execute every notebook headless with papermill and summarise the results beside the paper.

`python -m facecure_lib.run_all --profile quick` writes executed copies to
`output/notebooks/`, figures to `output/figures/`, results to `results/<profile>/`, and a
markdown table `output/SUMMARY.md` that puts our numbers beside the paper's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# torch-free at import: `facecure run --help` reads `add_arguments` (the library is
# imported when the notebooks actually run)


def notebooks(folder: Path) -> list[Path]:
    """The numbered notebooks, in order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def run_notebook(path: Path, out_dir: Path, parameters: dict, timeout: int = 1800) -> float:
    """Execute one notebook with papermill; return its wall time in seconds."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    pm.execute_notebook(
        str(path),
        str(out_dir / path.name),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(path.parent),
        execution_timeout=timeout,
    )
    return time.perf_counter() - start


def _fmt(v) -> str:
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def summary_rows(profile: str) -> list[tuple[str, str, str, str]]:
    """(notebook, finding, ours, paper) rows read from the results files that exist."""
    from .config import results_dir
    from .paper import summary_text

    rows = []
    folder = results_dir(profile)

    def load(stem: str) -> dict | None:
        p = folder / f"{stem}.json"
        return json.loads(p.read_text()) if p.exists() else None

    r = load("00_quickstart")
    if r:
        best = max(r["clean_accuracy"].items(), key=lambda kv: kv[1])
        rows.append(("00_quickstart", "best clean 1-NN accuracy", f"{best[1]:.2f} ({best[0]})"))
    r = load("02_adaptive_robust_training")
    if r:
        for side in ("baseline", "robust"):
            pr = r[side]["protection_rate"]
            rows.append(
                (
                    "02_adaptive_robust_training",
                    f"{side} protection",
                    ", ".join(f"{k} {_fmt(v)}" for k, v in pr.items())
                    + f" (clean error {_fmt(r[side]['clean_error'])})",
                )
            )
    r = load("03_detection")
    if r:
        rows.append(
            (
                "03_detection",
                "detection accuracy",
                ", ".join(f"{k} {_fmt(v['accuracy'])}" for k, v in r["detection"].items()),
            )
        )
        rows.append(
            (
                "03_detection",
                "transfer accuracy",
                ", ".join(f"{k} {_fmt(v['accuracy'])}" for k, v in r["transfer"].items()),
            )
        )
    r = load("04_oblivious_timeline")
    if r:
        newest = r["timeline"][-1]
        rows.append(
            (
                "04_oblivious_timeline",
                "protection on newest model",
                f"{newest['model']}: "
                + ", ".join(f"{k} {_fmt(v)}" for k, v in newest["protection_rate"].items()),
            )
        )
    r = load("05_top2_and_thresholding")
    if r:
        rows.append(
            (
                "05_top2_and_thresholding",
                "combined systems",
                "; ".join(
                    f"{k}: acc {_fmt(v['clean_accuracy'])}, prot {_fmt(v['protection_rate'])}"
                    for k, v in r["systems"].items()
                ),
            )
        )
    return [(nb, what, ours, summary_text(nb, what)) for nb, what, ours in rows]


def write_summary(profile: str, timings: dict[str, float], path: Path) -> str:
    """Markdown summary: per-notebook runtimes, then our findings beside the paper's."""
    from .cache import atomic_write_text

    lines = [
        f"# FaceCure Tutorials — {profile} profile summary",
        "",
        "| notebook | wall time (s) |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.0f} |" for k, v in timings.items()]
    lines += ["", "| notebook | finding | ours | paper |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary_rows(profile)]
    text = "\n".join(lines) + "\n"
    atomic_write_text(path, text)
    return text


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of the runner (`python -m facecure_lib.run_all`, `facecure run`)."""
    ap.add_argument("--profile", default="quick", choices=("quick", "paper"), help="default: quick")
    ap.add_argument("--seed", type=int, default=0, help="SEED of every notebook (default 0)")
    ap.add_argument("--only", nargs="*", help="notebook stems or numbers to run (default: all)")
    ap.add_argument("--out", default=None, help="output folder (default: output/)")


def run(args: argparse.Namespace) -> int:
    """Run the notebooks chosen by parsed `add_arguments` options; return the exit code."""
    from .config import check_profile, project_root

    profile = check_profile(args.profile)
    root = project_root()
    out = Path(args.out) if args.out else root / "output"
    os.environ.setdefault("FACECURE_FIGURES", str(out / "figures"))
    todo = notebooks(root / "notebooks")
    if args.only:
        todo = [p for p in todo if any(p.stem.startswith(o) for o in args.only)]
    if not todo:
        print("no notebook matched", file=sys.stderr)
        return 2
    timings = {}
    for nb in todo:
        print(f"running {nb.name} ...", flush=True)
        timings[nb.stem] = run_notebook(
            nb, out / "notebooks", {"PROFILE": profile, "SEED": args.seed}
        )
        print(f"  done in {timings[nb.stem]:.0f} s", flush=True)
    print(write_summary(profile, timings, out / "SUMMARY.md"))
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m facecure_lib.run_all [options]`."""
    ap = argparse.ArgumentParser(description=__doc__)
    add_arguments(ap)
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
