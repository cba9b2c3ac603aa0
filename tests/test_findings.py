"""Findings are read from results files; the seeds table says on how many seeds each holds."""

import json

import pytest

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


def test_systems_finding_names_the_missed_criterion():
    def criteria(threshold_protection: bool) -> dict:
        systems = ("combined_top2", "combined_threshold")
        return {
            "criteria": {
                "accuracy": dict.fromkeys(systems, True),
                "protection": {"combined_top2": True, "combined_threshold": threshold_protection},
                "accurate_more_accurate": False,
            }
        }

    nb = "05_top2_and_thresholding"
    ok = findings.evaluate({nb: criteria(True)})["combined systems keep accuracy and robustness"]
    assert ok["holds"] and ok["value"]["missed"] == "none"
    bad = findings.evaluate({nb: criteria(False)})["combined systems keep accuracy and robustness"]
    assert not bad["holds"] and bad["value"]["missed"] == "combined_threshold protection"
    assert bad["value"]["accurate_more_accurate"] is False


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


def test_run_seeds_reuse_tabulates_without_running(tmp_path, monkeypatch):
    from facecure_lib import config, run_all

    monkeypatch.setattr(config, "project_root", lambda: tmp_path)
    monkeypatch.delenv("FACECURE_RESULTS", raising=False)
    for seed, contemporary in ((0, 0.4), (1, 0.2)):
        folder = tmp_path / "results" / "seeds" / f"seed_{seed}" / "quick"
        folder.mkdir(parents=True)
        (folder / "04_oblivious_timeline.json").write_text(
            json.dumps(_timeline(contemporary, 0.05))
        )

    def must_not_run(*args, **kwargs):
        raise AssertionError("a notebook whose results exist was run again")

    monkeypatch.setattr(run_all, "run_notebook", must_not_run)
    todo = [tmp_path / "04_oblivious_timeline.ipynb"]
    assert run_all.run_seeds("quick", [0, 1], todo, tmp_path / "out", reuse=True) == 0
    table = json.loads((tmp_path / "results" / "quick" / "seeds.json").read_text())
    assert table["seeds"] == [0, 1]
    f = table["findings"]["lowkey protects against a contemporary"]["seeds"]
    assert f["0"]["holds"] and not f["1"]["holds"]
    assert "1 of 2 seeds" in (tmp_path / "out" / "SEEDS.md").read_text()
    with pytest.raises(AssertionError, match="run again"):  # without reuse it runs them
        run_all.run_seeds("quick", [0], todo, tmp_path / "out")


def test_across_seeds_reports_each_finding_of_a_notebook():
    table = seeds_table(
        {
            0: {"04_oblivious_timeline": _timeline(0.4, 0.05)},
            1: {"04_oblivious_timeline": _timeline(0.2, 0.05)},
        }
    )
    text = findings.across_seeds("04_oblivious_timeline", table)
    assert "seeds 0, 1" in text
    assert "- lowkey protects against a contemporary: holds on 1 of 2 seeds (0)" in text
    assert "- lowkey fails on the newest model: holds on 2 of 2 seeds" in text
    assert "make seeds" in findings.across_seeds("04_oblivious_timeline", None)
    assert "not measured there" in findings.across_seeds("03_detection", table)
    with pytest.raises(ValueError, match="no finding"):
        findings.across_seeds("00_quickstart", table)


def test_load_seeds_table(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECURE_RESULTS", str(tmp_path))
    assert findings.load_seeds_table("quick") is None
    (tmp_path / "quick" / "seeds.json").write_text(json.dumps({"seeds": [0], "findings": {}}))
    assert findings.load_seeds_table("quick")["seeds"] == [0]
