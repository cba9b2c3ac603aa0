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
from facecure_lib.selfcheck import spec as check_spec

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
            [
                "era1_softmax",
                "era3_arcface_seed2",
                "era2_cosface",
                "era3_arcface",
                "surrogate_era1",
                "surrogate_era2",
                "surrogate_era3",
            ]
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
    assert "invalid choice: 'ultra'" in capsys.readouterr().err
    assert cli.main(["check", str(folder), "--attack", "fawkes_v10", "--mode", "min"]) == 2
    assert "Unknown mode 'min' for fawkes_v10" in capsys.readouterr().err


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


# --------------------------------------------------------------------------- options, help


def test_help_reads_well(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    for command in ((), ("check",), ("run",), ("student",)):
        assert cli.main([*command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "%%" not in out and max(len(line) for line in out.splitlines()) <= 100
        assert "exit codes:" in out and all(f"  {c}  " in out for c in check_spec.EXIT_CODES)
    assert cli.main(["check", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "70% of the photos" in out and "clean 30%." in out
    assert "{min,low,mid,high,default}" in out and "fawkes_v10: low, mid, high" in out
    for names in check_spec.EXTRACTORS.values():
        assert all(n in out for n in names)


def test_version(capsys):
    from facecure_lib import __version__

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"facecure {__version__}"


def test_attack_modes_constant_matches_the_attacks():
    from facecure_lib.attacks import ATTACKS

    assert check_spec.ATTACK_MODES == {k: tuple(a.modes) for k, a in ATTACKS.items()}
    assert set(check_spec.MODES) == {m for a in ATTACKS.values() for m in a.modes}


def test_extractor_names_constant_matches_the_live_zoo():
    from facecure_lib import zoo

    for profile in ("quick", "paper"):
        assert list(check_spec.EXTRACTORS[profile]) == zoo.available(profile), profile


BAD_OPTIONS = {
    "negative seed": (["--seed", "-1"], "--seed"),
    "huge seed": (["--seed", str(10**23)], "--seed"),
    "empty out": (["--out", ""], "--out"),
    "blank out": (["--out", "  "], "--out"),
    "no extractor": (["--extractors", " , "], "--extractors"),
    "stem only": (["--pattern", "{stem}"], "--pattern"),
    "stem and ext": (["--pattern", "{stem}{ext}"], "--pattern"),
    "unknown field": (["--pattern", "{stem}_{name}.png"], "--pattern"),
    "one picture": (["--min-pictures", "1"], "--min-pictures"),
    "mode without attack": (["--mode", "high"], "--mode"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_bad_options_exit_2_up_front_naming_the_option(tmp_path, capsys, monkeypatch, case):
    args, option = BAD_OPTIONS[case]
    folder = write_person(tmp_path / "me", n=6)
    monkeypatch.setattr(check_run, "check_cloak", lambda *a, **k: pytest.fail("ran the check"))
    assert cli.main(["check", str(folder), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "Traceback" not in err
    assert not (tmp_path / "me_facecure_report").exists()


def test_bad_seed_as_a_process(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "facecure_lib.cli", "check", str(tmp_path), "--seed", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "--seed" in proc.stderr and "Traceback" not in proc.stderr


def test_stem_only_pattern_is_refused_by_the_library():
    for bad in ("{stem}", "{stem}{ext}"):
        with pytest.raises(check.CheckInputError, match="add something"):
            check.resolve_pattern(bad)
    assert check.resolve_pattern("{stem}.png") == "{stem}.png"


def test_run_and_student_subcommands(monkeypatch, tmp_path, capsys):
    from facecure_lib import run_all, student

    seen = {}
    monkeypatch.setattr(run_all, "run", lambda args: seen.setdefault("run", args) and 0)
    monkeypatch.setattr(student, "run", lambda args: seen.setdefault("student", args) and 0)
    assert cli.main(["run", "--only", "02", "--seed", "3", "--profile", "quick"]) == 0
    assert seen["run"].only == ["02"] and seen["run"].seed == 3 and seen["run"].out is None
    assert cli.main(["run", "--seed", "-2"]) == 2 and "--seed" in capsys.readouterr().err
    assert cli.main(["student", "nb", str(tmp_path), "--reference", "x"]) == 0
    assert seen["student"].src == "nb" and seen["student"].reference == "x"
    monkeypatch.undo()
    assert cli.main(["student", str(tmp_path), str(tmp_path)]) == 2  # the real one refuses
    assert "refusing to overwrite" in capsys.readouterr().err


def test_every_help_is_torch_free():
    code = (
        "import sys, contextlib, io\n"
        "from facecure_lib import cli\n"
        "for c in ([], ['check'], ['run'], ['student']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        cli.main(c + ['--help'])\n"
        "sys.exit('torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_offline_paper_model_is_explained_with_the_quick_models(tmp_path, monkeypatch):
    from facecure_lib import zoo
    from facecure_lib.download import DownloadError
    from facecure_lib.selfcheck import world

    def offline(name, *a, **k):
        raise DownloadError(f"Could not download {name} (x.pt) from https://e.invalid: offline.")

    monkeypatch.setattr(zoo, "load_extractor", offline)
    models, notes = world.load_models(["facenet-vggface2"], scenario=None, progress=False)
    assert models == {} and len(notes) == 1
    assert "needs its pretrained weights downloaded" in notes[0]
    assert "Could not download facenet-vggface2" in notes[0]
    assert ",".join(zoo.available("quick")) in notes[0]
