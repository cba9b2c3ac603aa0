"""The generated part of the instructor pack: `docs/instructors/what_to_expect.md`.

Per notebook: its run time, the numbers SUMMARY.md puts beside the paper's, each finding of
`findings.FINDINGS` with its value and whether it holds (on how many seeds, where `make
seeds` ran), the exercises and "predict, then run" boxes it has, and for every finding that
does not reproduce, what that means for the paper's argument. Everything is read from the
results files (`results/<profile>/*.json`, `seeds.json`); a missing file is said, never
guessed. `scripts/instructor_pack.py` (`make pack`) writes the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .findings import FINDINGS

# What a finding that does not reproduce means for the argument (hand-written guidance for
# the instructor; the numbers next to it are generated). Keys: finding names, or patterns
# with "{attack}" for the per-attack findings.
MEANING: dict[str, str] = {
    "retroactive trainer wins": (
        "a newer model did not remove the protection in every later round. Look at the "
        "round table for the model that still misses the user, and compare its error with "
        "its clean error. The argument needs only *some* later model that sees through the "
        "cloak: ask whether this timeline offered one."
    ),
    "win comes from a newer model": (
        "the seed control (a model of the same era, another seed) removed the protection as "
        "well, or the newest model did not: here the trainer wins with *another* model, not "
        "specifically a *newer* one. The user still loses (any model the trainer picks may "
        "break the cloak), but the role of time is not shown."
    ),
    "cloaks work on the baseline": (
        "the cloaks did not protect even against the model robust training starts from, so "
        "there is little for robust training to break: read the robust result as 'no worse', "
        "not as 'the defense works'."
    ),
    "robust training breaks the cloaks": (
        "after robust training the cloaks still protect by more than 10 points above the "
        "model's clean error: the adaptive defense is incomplete at the quick profile's "
        "scale (few cloaked public pictures, few steps). Discuss what the paper's trainer has "
        "that this one lacks."
    ),
    "robust training beats its control": (
        "fine-tuning without cloaked pictures did about as well: protection fell because of "
        "fine-tuning itself, not because the trainer used the attack."
    ),
    "Fawkes-high detected": (
        "the detector stays below the paper's accuracy or AUC on held-out users. In the "
        "quick profile it is a linear probe on frozen ImageNet statistics, not a fine-tuned "
        "MobileNetV2; discuss whether 'detectable at all' (AUC well above 0.5) already hurts "
        "the user."
    ),
    "LowKey detected": (
        "as for Fawkes: the quick detector is a linear probe; how far above chance it gets "
        "is the point to discuss."
    ),
    "{attack} protects against a contemporary": (
        "the cloaks do not even carry over to a model of their own era that they never saw: "
        "in this world *any* other model breaks them, so the 'newer model' part of the "
        "argument is not needed against this attack."
    ),
    "{attack} fails on the newest model": (
        "the newest model is still fooled: here time has not (yet) defeated this attack. "
        "The paper's claim is about the user having to win against *every* future model; "
        "discuss whether one model that is still fooled contradicts it."
    ),
    "unprotected pictures give the user away": (
        "leaving half of the scraped pictures clean did not lower the protection: in this "
        "world the clean pictures do not pull the recogniser back to the user."
    ),
    "switching attacks later does not help": (
        "mixing old (v0.3) and new (v1.0) cloaks protected about as well as v1.0 alone: "
        "here switching tools later did win back protection."
    ),
    "combined systems keep accuracy and robustness": (
        "top-2 or thresholding lost accuracy or robustness beyond the finding's margins: "
        "the trade-off is not free here. Look at which criterion failed."
    ),
}


def meaning(name: str) -> str:
    """What it means when finding `name` does not reproduce (a generic note if unknown)."""
    if name in MEANING:
        return MEANING[name]
    for key, text in MEANING.items():
        pattern = "^" + re.escape(key).replace(re.escape("{attack}"), r"\w+") + "$"
        if "{attack}" in key and re.match(pattern, name):
            return text
    return "see the notebook's closing note for what this changes in the argument."


def fmt(value: Any) -> str:
    """A finding's value, compactly: floats to two decimals, mappings as 'k v, ...'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {fmt(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    return str(value)


def notebook_titles(folder: Path) -> dict[str, str]:
    """{stem: title} of the notebook sources (their first markdown heading)."""
    out = {}
    for src in sorted(Path(folder).glob("[0-9][0-9]_*.py")):
        first = next((ln for ln in src.read_text().splitlines() if ln.startswith("# # ")), "")
        out[src.stem] = first[4:].strip() or src.stem
    return out


def teaching_counts(source: Path) -> dict[str, int]:
    """How many exercises (solution blocks) and predict boxes a notebook source has."""
    text = Path(source).read_text() if Path(source).exists() else ""
    return {
        "exercises": text.count("# BEGIN SOLUTION"),
        "predict": text.count("notebook.predict("),
    }


def _load(folder: Path) -> dict[str, dict]:
    out = {}
    for p in sorted(Path(folder).glob("[0-9][0-9]_*.json")):
        try:
            out[p.stem] = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
    return out


def _summary_rows(folder: Path) -> tuple[list[tuple[str, str, str, str]], str | None]:
    """SUMMARY.md's rows for the results in `folder`, or why they could not be read."""
    from .run_all import summary_rows

    try:
        return summary_rows(folder=folder), None
    except (KeyError, TypeError, IndexError, ValueError) as err:
        return [], f"{type(err).__name__}: {err}"


def _findings(results: Mapping[str, Mapping], seeds: Mapping | None) -> dict[str, dict[str, Any]]:
    """{finding: {"notebook", "claim", "per_seed": {seed: (holds, value)}}}: from seeds.json
    when given, else from the results files (one seed)."""
    from .findings import evaluate

    out: dict[str, dict[str, Any]] = {}
    if seeds:
        for name, f in seeds.get("findings", {}).items():
            out[name] = {
                "notebook": f["notebook"],
                "claim": f["claim"],
                "per_seed": {s: (v["holds"], v["value"]) for s, v in f["seeds"].items()},
            }
        return out
    for name, f in evaluate(results).items():
        seed = str(results[f["notebook"]].get("seed", "?"))
        out[name] = {
            "notebook": f["notebook"],
            "claim": f["claim"],
            "per_seed": {seed: (f["holds"], f["value"])},
        }
    return out


def _measured(holds: bool, value: Any) -> bool:
    """False for a finding its results file could not measure (an older layout, a block
    the notebook did not write): `findings.evaluate` reports those as not holding."""
    if holds:
        return True
    return not (value is None or (isinstance(value, str) and value.startswith("not measured")))


def _tally(per: Mapping[str, tuple[bool, Any]]) -> tuple[int, int]:
    """(seeds on which the finding holds, seeds on which it was measured)."""
    measured = [h for h, v in per.values() if _measured(h, v)]
    return sum(measured), len(measured)


def _extra_rows(stem: str, r: Mapping) -> list[tuple[str, str]]:
    """Numbers of notebooks without findings (00, 06) that an instructor should expect."""
    rows = []
    cloak = r.get("my_cloak")
    if isinstance(cloak, Mapping) and "white_box" in cloak and "unseen" in cloak:
        w, u = cloak["white_box"], cloak["unseen"]
        rows.append(
            (
                "the student's first cloak (one picture)",
                f"{w.get('model')}: fooled {w.get('fooled')} (shift {fmt(w.get('shift'))}); "
                f"{u.get('model')} (never saw it): fooled {u.get('fooled')} "
                f"(shift {fmt(u.get('shift'))})",
            )
        )
    if "n_fooled" in r and "n_recognisers" in r:
        newest = r.get("newest")
        outcome = r.get("newest_outcome") or (r.get("outcome") or {}).get(newest, "?")
        rows.append(
            (
                "check of the demo person's cloak",
                f"fooled {r['n_fooled']} of {r['n_recognisers']} recognisers; newest "
                f"{newest}: {outcome}",
            )
        )
    return rows


def what_to_expect(
    results_folder: Path,
    notebooks_folder: Path,
    profile: str = "quick",
    seeds_path: Path | None = None,
) -> str:
    """The Markdown of `what_to_expect.md` for the results in `results_folder`."""
    results_folder = Path(results_folder)
    seeds_path = Path(seeds_path) if seeds_path else results_folder / "seeds.json"
    results = _load(results_folder)
    seeds = json.loads(seeds_path.read_text()) if seeds_path.exists() else None
    titles = notebook_titles(notebooks_folder)
    findings = _findings(results, seeds)
    rows, rows_error = _summary_rows(results_folder) if results else ([], None)
    n_seeds = len(seeds.get("seeds", [])) if seeds else 0
    lines = [
        f"# What to expect, notebook by notebook ({profile} profile)",
        "",
        "<!-- GENERATED by scripts/instructor_pack.py (`make pack`) from "
        f"results/{profile}/*.json, results/{profile}/seeds.json and "
        "facecure_lib/findings.py. Do not edit by hand: run `make run` (and `make seeds`), "
        "then `make pack`. -->",
        "",
    ]
    if not results:
        lines += [
            f"**No results yet.** No results file was found in `results/{profile}/`: run "
            "`make run` (every notebook, a few minutes each) and then `make pack` to fill "
            "this page. The findings each notebook tests are listed below so that you know "
            "what to look for.",
            "",
        ]
    else:
        seeds_line = (
            f"and `seeds.json` ({n_seeds} seeds: {', '.join(map(str, seeds.get('seeds', [])))})"
            if seeds
            else "(no `seeds.json`: run `make seeds` to see how each finding fares on seeds "
            "0, 1 and 2; until then each finding is judged on one seed)"
        )
        lines += [
            f"Read from {len(results)} results file(s) in `results/{profile}/` {seeds_line}. "
            "A finding that does not hold is not hidden: the notebook says so, and this page "
            "says what it means for the argument.",
            "",
        ]
        tallies = {name: _tally(f["per_seed"]) for name, f in findings.items()}
        failing = [n for n, (held, measured) in tallies.items() if held < measured]
        unmeasured = [n for n, (_, measured) in tallies.items() if measured == 0]
        lines += ["## Findings that do not (always) reproduce", ""]
        for name in failing:
            f = findings[name]
            held, measured = tallies[name]
            values = "; ".join(
                f"seed {s}: {fmt(v)}" for s, (h, v) in f["per_seed"].items() if _measured(h, v)
            )
            lines.append(
                f"- **{name}** ({f['notebook']}): {f['claim']}. Holds on {held} of "
                f"{measured} seed(s) ({values}). When it does not: {meaning(name)}"
            )
        if not failing:
            lines.append("Every finding measured holds on every seed run.")
        if unmeasured:
            lines += [
                "",
                "Not measured by these results files (written before the finding existed, "
                "or the notebook skipped that part): "
                + ", ".join(f"**{n}**" for n in unmeasured)
                + ". Run the notebooks again.",
            ]
        lines.append("")
    for stem, title in titles.items():
        lines += [f"## {title}", ""]
        r = results.get(stem)
        counts = teaching_counts(Path(notebooks_folder) / f"{stem}.py")
        if r is None:
            lines.append(
                f"No results file (`results/{profile}/{stem}.json`): run the notebook "
                "(`make run`) to see its numbers here."
            )
        else:
            data = r.get("data") or {}
            lines.append(
                f"Run time {float(r.get('runtime_s', 0)):.0f} s on seed {r.get('seed', '?')}"
                + (
                    f", {data.get('identities')} identities, {data.get('images')} pictures."
                    if data
                    else "."
                )
            )
            nb_rows = [(what, ours, paper) for nb, what, ours, paper in rows if nb == stem]
            extra = _extra_rows(stem, r)
            if nb_rows or extra:
                lines += ["", "| number | ours | paper |", "|---|---|---|"]
                lines += [f"| {w} | {o} | {p} |" for w, o, p in nb_rows]
                lines += [f"| {w} | {o} | (beyond the paper) |" for w, o in extra]
            if rows_error:
                lines += ["", f"(The summary numbers could not be read: {rows_error}.)"]
        mine = {n: f for n, f in findings.items() if f["notebook"] == stem}
        claims = [f for f in FINDINGS if f.notebook == stem and f.name not in mine]
        if mine:
            lines += ["", "| finding | claim | holds on | values |", "|---|---|---|---|"]
            for name, f in mine.items():
                held, measured = _tally(f["per_seed"])
                values = "; ".join(
                    f"{s}: {fmt(v)}" if _measured(h, v) else f"{s}: not measured"
                    for s, (h, v) in f["per_seed"].items()
                )
                where = f"{held} of {measured} seed(s)" if measured else "not measured"
                lines.append(f"| {name} | {f['claim']} | {where} | {values} |")
        if claims:
            lines += ["", "Findings tested here (not measured yet):"]
            lines += [f"- **{f.name}**: {f.claim}" for f in claims]
        done = (r or {}).get("exercises") or {}
        lines += [
            "",
            f"Exercises: {counts['exercises']}"
            + (f" ({', '.join(done)})" if done else "")
            + f"; predict-then-run boxes: {counts['predict']}.",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def write_pack(
    results_folder: Path,
    notebooks_folder: Path,
    out: Path,
    profile: str = "quick",
    seeds_path: Path | None = None,
) -> Path:
    """Write `what_to_expect.md` (atomically) and return its path."""
    from .cache import atomic_write_text

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, what_to_expect(results_folder, notebooks_folder, profile, seeds_path))
    return out
