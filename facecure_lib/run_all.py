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
    # the kernel inherits this: no widget bars frozen at "0%" in the saved notebook, one
    # line per long loop instead (see facecure_lib.progress); restored afterwards
    before = os.environ.get("FACECURE_PROGRESS")
    os.environ["FACECURE_PROGRESS"] = before or "line"
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(path),
            str(out_dir / path.name),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(path.parent),
            execution_timeout=timeout,
        )
    finally:
        if before is None:
            os.environ.pop("FACECURE_PROGRESS", None)
        else:
            os.environ["FACECURE_PROGRESS"] = before
    return time.perf_counter() - start


def _fmt(v) -> str:
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def summary_rows(
    profile: str = "quick", folder: Path | None = None
) -> list[tuple[str, str, str, str]]:
    """(notebook, finding, ours, paper) rows read from the results files that exist (in
    `folder`, default `results/<profile>/`)."""
    from .config import results_dir
    from .paper import summary_text

    rows = []
    folder = Path(folder) if folder is not None else results_dir(profile)

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
    from .config import results_dir

    lines = [
        f"# FaceCure Tutorials — {profile} profile summary",
        "",
        "| notebook | wall time (s) |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.0f} |" for k, v in timings.items()]
    lines += ["", "| notebook | finding | ours | paper |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary_rows(profile)]
    seeds = results_dir(profile) / "seeds.json"
    if seeds.exists():
        table = json.loads(seeds.read_text())
        lines += [
            "",
            f"## On how many seeds each finding holds (`make seeds`: "
            f"{', '.join(map(str, table['seeds']))})",
            *seeds_markdown(table),
        ]
    else:
        lines += ["", "Run `make seeds` to see on how many seeds (0, 1, 2) each finding holds."]
    text = "\n".join(lines) + "\n"
    atomic_write_text(path, text)
    return text


def load_results(folder: Path) -> dict[str, dict]:
    """{notebook stem: results} of the results files in a folder."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("[0-9][0-9]_*.json"))}


def seeds_table(by_seed: dict[int, dict[str, dict]]) -> dict:
    """The contents of seeds.json: {"seeds": [...], "findings": {name: {seed: {"holds",
    "value"}}}} for every finding measured on some seed."""
    from .findings import evaluate

    findings: dict[str, dict] = {}
    for seed, results in by_seed.items():
        for name, f in evaluate(results).items():
            findings.setdefault(name, {"claim": f["claim"], "notebook": f["notebook"], "seeds": {}})
            findings[name]["seeds"][str(seed)] = {"holds": f["holds"], "value": f["value"]}
    return {"seeds": sorted(by_seed), "findings": findings}


def seeds_markdown(table: dict) -> list[str]:
    """Markdown lines: each finding and on how many seeds it holds."""
    lines = ["", "| finding | claim | holds on | per seed |", "|---|---|---|---|"]
    for name, f in table["findings"].items():
        per = f["seeds"]
        n = sum(v["holds"] for v in per.values())
        marks = ", ".join(f"{s}: {'yes' if v['holds'] else 'no'}" for s, v in per.items())
        lines.append(f"| {name} | {f['claim']} | {n} of {len(per)} seeds | {marks} |")
    return lines


def run_seeds(
    profile: str, seeds: list[int], todo: list[Path], out: Path, reuse: bool = False
) -> int:
    """Run the notebooks once per seed (results under results/seeds/seed_<k>/), then write
    results/<profile>/seeds.json and the seeds table into output/SEEDS.md. With `reuse`, a
    notebook whose results file for that seed already exists is not run again (a seed can be
    added to the table without re-running the others)."""
    from .cache import atomic_write_text
    from .config import project_root, results_dir

    by_seed, root = {}, project_root()
    for seed in seeds:
        folder = root / "results" / "seeds" / f"seed_{seed}"
        os.environ["FACECURE_RESULTS"] = str(folder)
        for nb in todo:
            if reuse and (folder / profile / f"{nb.stem}.json").exists():
                print(f"seed {seed}: reusing the results of {nb.name}", flush=True)
                continue
            print(f"seed {seed}: running {nb.name} ...", flush=True)
            run_notebook(nb, out / "notebooks" / f"seed_{seed}", {"PROFILE": profile, "SEED": seed})
        by_seed[seed] = load_results(folder / profile)
    os.environ.pop("FACECURE_RESULTS", None)
    table = seeds_table(by_seed)
    atomic_write_text(results_dir(profile) / "seeds.json", json.dumps(table, indent=1) + "\n")
    text = (
        "\n".join(
            [
                f"# Findings on seeds {', '.join(map(str, seeds))} ({profile} profile)",
                *seeds_markdown(table),
            ]
        )
        + "\n"
    )
    atomic_write_text(out / "SEEDS.md", text)
    print(text)
    return 0


def _preflight_ok(profile: str) -> bool:
    """Check every download the profile needs before running anything (fails in seconds)."""
    from .assets_check import preflight
    from .download import DownloadError

    try:
        preflight(profile)
    except DownloadError as err:
        print(err, file=sys.stderr)
        return False
    return True


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of the runner (`python -m facecure_lib.run_all`, `facecure run`)."""
    ap.add_argument("--profile", default="quick", choices=("quick", "paper"), help="default: quick")
    ap.add_argument("--seed", type=int, default=0, help="SEED of every notebook (default 0)")
    ap.add_argument(
        "--seeds",
        type=int,
        nargs="*",
        help="run the whole suite once per seed and tabulate the findings",
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="with --seeds: keep a seed's existing results files instead of re-running them",
    )
    ap.add_argument("--only", nargs="*", help="notebook stems or numbers to run (default: all)")
    ap.add_argument("--out", default=None, help="output folder (default: output/)")


def run(args: argparse.Namespace) -> int:
    """Run the notebooks chosen by parsed `add_arguments` options; return the exit code."""
    from .config import check_profile, project_root

    profile = check_profile(args.profile)
    if profile == "paper" and not _preflight_ok(profile):
        return 1
    root = project_root()
    out = Path(args.out) if args.out else root / "output"
    os.environ.setdefault("FACECURE_FIGURES", str(out / "figures"))
    todo = notebooks(root / "notebooks")
    if args.only:
        todo = [p for p in todo if any(p.stem.startswith(o) for o in args.only)]
    if not todo:
        print("no notebook matched", file=sys.stderr)
        return 2
    if args.seeds:
        return run_seeds(profile, args.seeds, todo, out, reuse=args.reuse)
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
