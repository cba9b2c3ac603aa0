"""Tests of the `facecure check` command line (in-process on a tiny world, and as a process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from facecure_lib import cli
from facecure_lib import selfcheck as check
from facecure_lib.data.dataset import subset
from facecure_lib.scenario import load_scenario
from facecure_lib.selfcheck import inputs as check_inputs
from facecure_lib.selfcheck import run as check_run

from .helpers import colour_dataset
from .test_selfcheck import BAD_INPUTS, tiny_extractor, write_person

EXTRACTORS = "era1_softmax,era2_cosface"


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Tiny models: one thread (see conftest.one_thread)."""


@pytest.fixture
def tiny_world(tmp_cache, monkeypatch):
    """The CLI's world and zoo replaced by colour identities and random tiny CNNs."""
    ds = colour_dataset(n_ids=8, per_id=10, size=32)
    scenario = load_scenario("quick", 0, dataset=ds, n_public=3, n_attackers=1, progress=False)
    gallery = subset(ds, scenario.private, "colours")
    monkeypatch.setattr(check_run, "load_world", lambda *a, **k: (scenario, gallery, "colours"))
    models = {
        n: tiny_extractor(i)
        for i, n in enumerate(
            ["era1_softmax", "era1_softmax_seed2", "era2_cosface", "era3_arcface"]
        )
    }
    monkeypatch.setattr(
        check_run, "load_models", lambda names, *a, **k: ({n: models[n] for n in names}, [])
    )
    return scenario, gallery


def _rows(d: dict) -> list[dict]:
    return [{k: v for k, v in r.items()} for r in d["recognisers"]]


def test_cli_writes_a_report_whose_numbers_match_the_library(tmp_path, tiny_world, capsys):
    folder = write_person(tmp_path / "me", n=10)
    before = check.folder_hashes(folder)
    code = cli.main(
        [
            "check",
            str(folder),
            "--extractors",
            EXTRACTORS,
            "--seed",
            "1",
            "--quiet",
            "--defenses",
            "off",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert check.folder_hashes(folder) == before
    report = tmp_path / "me_facecure_report"
    assert {p.name for p in report.iterdir()} == set(check.REPORT_FILES)
    saved = json.loads((report / "check.json").read_text())
    lib = check.check_cloak(
        folder, extractors=EXTRACTORS.split(","), seed=1, progress=False, defenses="off"
    ).to_dict()
    assert _rows(saved) == _rows(lib)
    assert saved["probe_photos"] == lib["probe_photos"] and saved["n_probes"] == 3
    assert [r["recogniser"] for r in saved["recognisers"]] == EXTRACTORS.split(",")
    assert "era2_cosface" in out and "Report:" in out and saved["verdict"] in out
    md = (report / "report.md").read_text()
    for r in saved["recognisers"]:
        assert f"| {r['recogniser']} |" in md and f"{100 * r['protection_rate']:.0f}%" in md


def test_cli_refuses_to_overwrite_then_forces(tmp_path, tiny_world, capsys):
    folder = write_person(tmp_path / "me", n=6)
    out = tmp_path / "elsewhere"
    args = [
        "check",
        str(folder),
        "--extractors",
        "era1_softmax",
        "--quiet",
        "--out",
        str(out),
        "--pattern",
        "{stem}_cloaked.png",
    ]
    assert cli.main(args) == 0
    first = (out / "report.md").read_text()
    capsys.readouterr()
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "exists already" in err and "--force" in err and "Traceback" not in err
    assert (out / "report.md").read_text() == first
    assert cli.main(args + ["--force"]) == 0
    assert cli.main(["check", str(folder), "--quiet", "--out", str(folder / "r")]) == 2


def test_cli_builtin_attack_and_lowkey_pattern(tmp_path, tiny_world, capsys):
    folder = write_person(tmp_path / "me", n=6, pattern="{stem}_attacked.png")
    assert (
        cli.main(
            [
                "check",
                str(folder),
                "--pattern",
                "lowkey",
                "--extractors",
                "era1_softmax",
                "--quiet",
                "--defenses",
                "off",
            ]
        )
        == 0
    )
    clean = write_person(tmp_path / "clean", n=6, cloaked=False)
    before = check.folder_hashes(clean)
    assert (
        cli.main(
            [
                "check",
                str(clean),
                "--attack",
                "lowkey",
                "--extractors",
                "era1_softmax",
                "--quiet",
                "--defenses",
                "off",
            ]
        )
        == 0
    )
    saved = json.loads((tmp_path / "clean_facecure_report" / "check.json").read_text())
    assert saved["attack"] == "lowkey" and saved["surrogates"]
    assert check.folder_hashes(clean) == before


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_cli_bad_input_exits_2_with_a_message(tmp_path, tiny_world, capsys, case):
    make, expected = BAD_INPUTS[case]
    target = make(tmp_path / "me")
    before = check.folder_hashes(target) if target.is_dir() else None
    code = cli.main(["check", str(target), "--quiet", "--extractors", "era1_softmax"])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err
    if before is not None:
        assert check.folder_hashes(target) == before
    assert not (tmp_path / "me_facecure_report").exists()


def test_cli_no_face_and_bad_options(tmp_path, tiny_world, capsys, monkeypatch):
    folder = write_person(tmp_path / "me", n=6)
    monkeypatch.setattr(check_inputs, "face_box", lambda img: None)
    assert cli.main(["check", str(folder), "--align", "--quiet"]) == 2
    assert "no face found" in capsys.readouterr().err
    assert cli.main(["check", str(folder), "--extractors", "nope", "--quiet"]) == 2
    assert "Unknown extractor" in capsys.readouterr().err
    assert cli.main(["check", str(folder), "--attack", "fawkes_v10", "--mode", "ultra"]) == 2
    assert "Unknown mode" in capsys.readouterr().err


def test_module_entry_point_runs_as_a_process(tmp_path):
    """`python -m facecure_lib.cli`: help, and a bad folder (no models are loaded)."""
    ok = subprocess.run(
        [sys.executable, "-m", "facecure_lib.cli", "check", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and "--pattern" in ok.stdout and "--attack" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "facecure_lib.cli", "check", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "does not exist" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_no_command_prints_help_and_help_needs_no_torch(capsys):
    from facecure_lib.experiments import ATTACK_KEYS

    assert cli.main([]) == 2 and "check" in capsys.readouterr().out
    assert set(cli.ATTACKS) == set(ATTACK_KEYS)
    code = "import sys, facecure_lib.cli; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


@pytest.mark.slow
def test_cli_on_the_real_zoo(tmp_path):
    """The installed `facecure` command on generated photos with two cached zoo models."""
    from facecure_lib.zoo import weights_available, weights_key

    scenario = load_scenario("quick", 0, progress=False)
    names = EXTRACTORS.split(",")
    assert all(weights_available(weights_key(n, scenario)) for n in names), "the zoo ships"
    gallery = subset(scenario.ds, scenario.private)
    folder = tmp_path / "me"
    folder.mkdir()
    from PIL import Image

    from facecure_lib.data.generate import generate_faces

    person = generate_faces(2, 10, 64, seed=4242, progress=False)
    for k, img in enumerate(person.images[person.indices_of(0)]):
        arr = img.permute(1, 2, 0).numpy()
        Image.fromarray(arr).save(folder / f"p{k}.png")
        noisy = (img.int() + torch.randint(-4, 5, img.shape)).clamp(0, 255).byte()
        Image.fromarray(noisy.permute(1, 2, 0).numpy()).save(folder / f"p{k}_cloaked.png")
    before = check.folder_hashes(folder)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "facecure_lib.cli",
            "check",
            str(folder),
            "--extractors",
            EXTRACTORS,
            "--quiet",
            "--defenses",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert check.folder_hashes(folder) == before
    saved = json.loads((tmp_path / "me_facecure_report" / "check.json").read_text())
    lib = check.check_cloak(
        folder, extractors=names, scenario=scenario, gallery=gallery, defenses="off", progress=False
    ).to_dict()
    assert _rows(saved) == _rows(lib)
