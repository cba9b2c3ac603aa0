"""The findings the notebooks test, each read from a results file: does it hold, and on what
number? `make seeds` evaluates them on SEED 0, 1 and 2 (`results/<profile>/seeds.json`),
SUMMARY.md says on how many seeds each holds, and the instructor guide quotes them.

A finding is a claim of the paper with the threshold its issue set; the threshold is part of
the finding, never tuned on the numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ATTACKS = ("fawkes_v03", "fawkes_v10", "lowkey")
Check = Callable[[Mapping], tuple[bool, Any]]


@dataclass(frozen=True)
class Finding:
    """One claim, where it is measured, and how its results file says whether it holds."""

    name: str
    notebook: str
    claim: str
    check: Check


def _all(values: Mapping[str, float], ok: Callable[[float], bool]) -> tuple[bool, dict]:
    return all(ok(v) for v in values.values()), dict(values)


def _contemporary(attack: str) -> Check:
    def check(r: Mapping) -> tuple[bool, Any]:
        block = r.get("contemporary_transfer", {}).get(attack)
        if block is None:
            return False, None
        return block["excess_protection"] >= 0.30, block["excess_protection"]

    return check


def _newest(attack: str) -> Check:
    def check(r: Mapping) -> tuple[bool, Any]:
        x = r["newest"]["excess_protection"][attack]
        return x <= 0.15, x

    return check


def _robust_within(r: Mapping) -> tuple[bool, Any]:
    rob = r["robust"]
    return _all(
        {a: rob["protection_rate"][a] - rob["clean_error"] for a in ATTACKS}, lambda x: x <= 0.10
    )


def _baseline_works(r: Mapping) -> tuple[bool, Any]:
    base = r["baseline"]
    ok, values = _all(base["protection_rate"], lambda x: x >= 0.50)
    return ok and base["clean_error"] <= 0.15, {**values, "clean_error": base["clean_error"]}


def _cloaks_matter(r: Mapping) -> tuple[bool, Any]:
    rob, ctrl = r["robust"], r["control"]
    still = [a for a in ATTACKS if ctrl["protection_rate"][a] > ctrl["clean_error"] + 0.10]
    ok = bool(still) and all(
        rob["protection_rate"][a] <= ctrl["protection_rate"][a] - 0.10 for a in still
    )
    return ok, {a: [ctrl["protection_rate"][a], rob["protection_rate"][a]] for a in ATTACKS}


def _detected(key: str) -> Check:
    def check(r: Mapping) -> tuple[bool, Any]:
        m = r["detection"][key]
        return m["accuracy"] >= 0.95 and m["auc"] >= 0.98, {
            "accuracy": m["accuracy"],
            "auc": m["auc"],
        }

    return check


def _systems(r: Mapping) -> tuple[bool, Any]:
    c = r["criteria"]
    failed = [
        f"{system} {what}"
        for what in ("accuracy", "protection")
        for system, met in c[what].items()
        if not met
    ]
    return not failed, {
        "missed": ", ".join(failed) or "none",
        "accurate_more_accurate": c.get("accurate_more_accurate"),
    }


def _unprotected_falls(r: Mapping) -> tuple[bool, Any]:
    levels = r["unprotected_fraction"]
    first, last = levels[0]["protection_rate"], levels[-1]["protection_rate"]
    return all(last[a] < first[a] for a in first), {a: [first[a], last[a]] for a in first}


def _mixed(r: Mapping) -> tuple[bool, Any]:
    m = r["mixed_versions"]
    only = m["compare"]["only v1.0"]
    return m["protection_rate"] < only - 0.1, {"mix": m["protection_rate"], "only v1.0": only}


FINDINGS: list[Finding] = [
    Finding(
        "retroactive trainer wins",
        "01_threat_model_game",
        "once a newer model exists, the retroactive trainer wins every round",
        lambda r: (bool(r["retroactive_wins_after_new_model"]), None),
    ),
    Finding(
        "win comes from a newer model",
        "01_threat_model_game",
        "a same-era model (seed control) does not remove the protection, the newer one does",
        lambda r: (bool(r["newer_not_another"]["holds"]), r["newer_not_another"]),
    ),
    Finding(
        "cloaks work on the baseline",
        "02_adaptive_robust_training",
        "baseline protection >= 0.50 for all three attacks at clean error <= 0.15",
        _baseline_works,
    ),
    Finding(
        "robust training breaks the cloaks",
        "02_adaptive_robust_training",
        "robust protection <= robust clean error + 0.10 for all three attacks",
        _robust_within,
    ),
    Finding(
        "robust training beats its control",
        "02_adaptive_robust_training",
        "robust protection >= 10 points below the control's (same fine-tuning, no cloaks) for "
        "every attack the control leaves protected",
        _cloaks_matter,
    ),
    Finding(
        "Fawkes-high detected",
        "03_detection",
        "held-out Fawkes-high cloaks: accuracy >= 0.95, AUC >= 0.98",
        _detected("fawkes_high"),
    ),
    Finding(
        "LowKey detected",
        "03_detection",
        "held-out LowKey cloaks: accuracy >= 0.95, AUC >= 0.98",
        _detected("lowkey"),
    ),
    *[
        Finding(
            f"{a} protects against a contemporary",
            "04_oblivious_timeline",
            f"{a}: excess protection >= 0.30 on a contemporary it never saw",
            _contemporary(a),
        )
        for a in ATTACKS
    ],
    *[
        Finding(
            f"{a} fails on the newest model",
            "04_oblivious_timeline",
            f"{a}: excess protection <= 0.15 on the newest model",
            _newest(a),
        )
        for a in ATTACKS
    ],
    Finding(
        "unprotected pictures give the user away",
        "04_oblivious_timeline",
        "protection falls when half of the scraped pictures stay clean",
        _unprotected_falls,
    ),
    Finding(
        "switching attacks later does not help",
        "04_oblivious_timeline",
        "half v0.3 + half v1.0 protects at least 0.10 less than v1.0 alone",
        _mixed,
    ),
    Finding(
        "combined systems keep accuracy and robustness",
        "05_top2_and_thresholding",
        "top-2 and thresholding within 1 point of the accurate model's accuracy and 5 points "
        "of the robust model's protection",
        _systems,
    ),
]


def evaluate(results: Mapping[str, Mapping]) -> dict[str, dict]:
    """{finding: {"holds": bool, "value": ..., "notebook": ...}} for the results files given
    ({notebook: results}); findings whose notebook has no results are left out."""
    out = {}
    for f in FINDINGS:
        if f.notebook not in results:
            continue
        try:
            holds, value = f.check(results[f.notebook])
        except (KeyError, TypeError, IndexError) as err:
            holds, value = False, f"not measured ({type(err).__name__}: {err})"
        out[f.name] = {
            "holds": bool(holds),
            "value": value,
            "notebook": f.notebook,
            "claim": f.claim,
        }
    return out


def across_seeds(notebook: str, table: Mapping | None) -> str:
    """Markdown: on how many seeds each finding of `notebook` holds, from a seeds table
    (`results/<profile>/seeds.json`, written by `make seeds`); says how to get one if None."""
    own = [f for f in FINDINGS if f.notebook == notebook]
    if not own:
        raise ValueError(f"no finding is measured in {notebook!r}")
    if not table:
        return (
            "**On other seeds.** No seeds table yet: `make seeds` runs every notebook on SEED "
            "0, 1 and 2, and this cell then says on how many seeds each finding holds."
        )
    measured = table.get("findings", {})
    lines = [
        f"**On other seeds** (the last `make seeds`, seeds "
        f"{', '.join(map(str, table.get('seeds', [])))}):"
    ]
    for f in own:
        per = measured.get(f.name, {}).get("seeds", {})
        if not per:
            lines.append(f"- {f.name}: not measured there")
            continue
        held = [s for s, v in per.items() if v["holds"]]
        lines.append(
            f"- {f.name}: holds on {len(held)} of {len(per)} seeds"
            + (f" ({', '.join(held)})" if 0 < len(held) < len(per) else "")
        )
    return "\n".join(lines)


def load_seeds_table(profile: str) -> dict | None:
    """`results/<profile>/seeds.json` if `make seeds` wrote one, else None."""
    from .config import results_dir

    path = results_dir(profile) / "seeds.json"
    return json.loads(path.read_text()) if path.exists() else None
