"""Findings are read from results files; the seeds table says on how many seeds each holds."""

from facecure_lib import findings
from facecure_lib.run_all import seeds_markdown, seeds_table

ATTACKS = findings.ATTACKS


def _timeline(contemporary: float, newest: float) -> dict:
    return {
        "contemporary_transfer": {a: {"excess_protection": contemporary} for a in ATTACKS},
        "newest": {"excess_protection": dict.fromkeys(ATTACKS, newest)},
        "unprotected_fraction": [
            {"protection_rate": dict.fromkeys(ATTACKS, 0.8)},
            {"protection_rate": dict.fromkeys(ATTACKS, 0.2)},
        ],
        "mixed_versions": {"protection_rate": 0.2, "compare": {"only v1.0": 0.9}},
    }


def test_timeline_findings_follow_their_thresholds():
    good = findings.evaluate({"04_oblivious_timeline": _timeline(0.4, 0.05)})
    assert all(f["holds"] for f in good.values()) and len(good) == 8
    bad = findings.evaluate({"04_oblivious_timeline": _timeline(0.2, 0.3)})
    assert not any(bad[f"{a} protects against a contemporary"]["holds"] for a in ATTACKS)
    assert not any(bad[f"{a} fails on the newest model"]["holds"] for a in ATTACKS)


def test_missing_keys_are_reported_not_raised():
    out = findings.evaluate({"02_adaptive_robust_training": {}})
    assert set(out) == {
        "cloaks work on the baseline",
        "robust training breaks the cloaks",
        "robust training beats its control",
    }
    assert all(not f["holds"] and "not measured" in str(f["value"]) for f in out.values())


def test_seeds_table_counts_seeds():
    table = seeds_table(
        {
            0: {"04_oblivious_timeline": _timeline(0.4, 0.05)},
            1: {"04_oblivious_timeline": _timeline(0.2, 0.05)},
        }
    )
    assert table["seeds"] == [0, 1]
    f = table["findings"]["lowkey protects against a contemporary"]
    assert f["seeds"]["0"]["holds"] and not f["seeds"]["1"]["holds"]
    text = "\n".join(seeds_markdown(table))
    assert "| lowkey protects against a contemporary |" in text and "1 of 2 seeds" in text
