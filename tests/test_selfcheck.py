"""Tests of facecure_lib.selfcheck: pairing, statistics, known-answer checks, bad input, reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch import nn

from facecure_lib import selfcheck as check
from facecure_lib.models.base import Extractor
from facecure_lib.profiles import QUICK
from facecure_lib.selfcheck import CheckInputError, ReportExistsError
from facecure_lib.selfcheck import inputs as check_inputs
from facecure_lib.selfcheck import report as check_report
from facecure_lib.selfcheck import run as check_run

from .helpers import mean_colour_extractor

PERSON = (20, 235, 20)  # far from every colour of colour_dataset (channels in [25, 225])


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Tiny models: one thread (see conftest.one_thread)."""


def write_person(
    folder,
    n=10,
    colour=PERSON,
    cloak_colour=None,
    pattern="{stem}_cloaked.png",
    size=40,
    seed=0,
    cloaked=True,
    halves=0,
):
    """n flat-colour photos (+ noise) and their 'cloaked' versions (another colour if given;
    with `halves`, the left half brightened and the right half darkened by that much)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for k in range(n):
        noise = rng.normal(0, 6, (size, size, 3))
        arr = np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"img{k:02d}.png")
        if cloaked:
            if halves:
                shift = np.where(np.arange(size) < size // 2, halves, -halves)[None, :, None]
                out = np.clip(arr.astype(int) + shift, 0, 255)
            elif cloak_colour is None:
                out = np.clip(arr.astype(int) + rng.integers(-3, 4, arr.shape), 0, 255)
            else:
                out = np.clip(np.array(cloak_colour) + noise, 0, 255)
            Image.fromarray(out.astype(np.uint8)).save(
                folder / pattern.format(stem=f"img{k:02d}", ext=".png")
            )
    return folder


def run(folder, world, models=None, **kw):
    scenario, gallery = world
    kw.setdefault("defenses", "off")
    return check.check_cloak(
        folder,
        scenario=scenario,
        gallery=gallery,
        models=models or {"mean_colour": mean_colour_extractor()},
        progress=False,
        **kw,
    )


def tiny_extractor(seed: int, size: int = 32) -> Extractor:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 16),
    )
    return Extractor(net, f"tiny{seed}", size, cache_key=f"test-check-tiny-{seed}").eval()


# --------------------------------------------------------------------------- file names


def test_pair_names_fawkes_lowkey_and_custom():
    names = ["a.jpg", "a_cloaked.png", "b.png", "b_cloaked.png", "c.jpg", "d_cloaked.png"]
    pairs, unpaired, orphans, problems = check.pair_names(names, "fawkes")
    assert pairs == {"a.jpg": "a_cloaked.png", "b.png": "b_cloaked.png"}
    assert unpaired == ["c.jpg"] and orphans == ["d_cloaked.png"] and problems == []
    pairs, *_ = check.pair_names(["x.jpg", "x_attacked.png"], "lowkey")
    assert pairs == {"x.jpg": "x_attacked.png"}
    pairs, unpaired, *_ = check.pair_names(["p.jpg", "p.png", "p_prot.jpg"], "{stem}_prot{ext}")
    assert pairs == {"p.jpg": "p_prot.jpg"} and unpaired == ["p.png"]
    *_, problems = check.pair_names(["q.jpg", "q.png", "q_cloaked.png"], "fawkes")
    assert len(problems) == 1 and "ambiguous" in problems[0][1]


def test_resolve_pattern():
    assert check.resolve_pattern("fawkes") == "{stem}_cloaked.png"
    assert check.resolve_pattern("LowKey") == "{stem}_attacked.png"
    for bad in ("cloaked.png", "sub/{stem}.png"):
        with pytest.raises(CheckInputError):
            check.resolve_pattern(bad)


def test_wilson_interval_known_values():
    assert check.wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = check.wilson_interval(0, 3)
    assert lo == 0.0 and hi == pytest.approx(0.5615, abs=1e-4)
    lo, hi = check.wilson_interval(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert check.wilson_interval(30, 60)[1] - check.wilson_interval(30, 60)[0] < hi - lo


def test_split_photos():
    tr, te = check.split_photos(10, seed=3)
    assert len(tr) == 7 and len(te) == 3 and sorted(tr + te) == list(range(10))
    assert check.split_photos(10, seed=3) == (tr, te) and check.split_photos(10, seed=4) != (tr, te)
    assert check.split_photos(2) == ([0], [1]) or check.split_photos(2) == ([1], [0])


# --------------------------------------------------------------------------- known answers


def test_identity_cloak_gives_the_unprotected_error(tmp_path, world):
    folder = write_person(tmp_path / "me", n=10)
    r = run(folder, world)
    row = r.table.iloc[0]
    assert row["protection_rate"] == row["unprotected_error"] == 0.0
    assert row["n_probes"] == 3 and r.n_probes == 3 and len(r.gallery_photos) == 7
    assert set(r.gallery_photos).isdisjoint(r.probe_photos)
    assert row["outcome"] == "recognised you"
    assert "did not protect you" in r.verdict()


class MeanAndHalves(nn.Module):
    """Mean colour, plus (x20) how much brighter the left half is than the right half."""

    def forward(self, x):
        w = x.shape[-1] // 2
        halves = x[..., :w].mean(dim=(2, 3)) - x[..., w:].mean(dim=(2, 3))
        return torch.cat([x.mean(dim=(2, 3)), 20 * halves], 1)


def test_perfect_cloak_fools_the_recogniser(tmp_path, world):
    # a small cloak (+-10 on each half) that this recogniser weighs more than any colour
    folder = write_person(tmp_path / "me", n=10, halves=10)
    halves = Extractor(
        MeanAndHalves(), "halves", 32, (0, 0, 0), (1, 1, 1), normalize=False, cache_key="halves"
    )
    r = run(folder, world, models={"halves": halves})
    row = r.table.iloc[0]
    assert row["protection_rate"] == 1.0 and row["unprotected_error"] == 0.0
    assert row["missed"] == row["n_probes"] == 3
    assert row["ci_low"] == pytest.approx(check.wilson_interval(3, 3)[0])
    assert row["outcome"] == "fooled" and "fooled every recogniser" in r.verdict()
    assert r.perturbation["dssim_mean"] > 0.01


def test_seed_changes_the_split_only(tmp_path, world):
    folder = write_person(tmp_path / "me", n=12)
    a, b = run(folder, world, seed=0), run(folder, world, seed=1)
    assert a.probe_photos != b.probe_photos and a.n_probes == b.n_probes == 4


def test_input_folder_unchanged_and_report_next_to_it(tmp_path, world):
    folder = write_person(tmp_path / "me", n=8)
    (folder / "notes.txt").write_text("keep me")
    before = check.folder_hashes(folder)
    r = run(folder, world)
    path = check.write_report(r)
    assert check.folder_hashes(folder) == before
    assert path.parent == tmp_path / "me_facecure_report"
    for name in check.REPORT_FILES:
        assert (path.parent / name).is_file()
    text = path.read_text()
    assert "| mean_colour |" in text and "## Verdict" in text and "## Limits" in text
    assert any("notes.txt" in n for n in r.notes)
    with pytest.raises(ReportExistsError, match="--force"):
        check.write_report(r)
    assert check.write_report(r, force=True) == path
    with pytest.raises(CheckInputError, match="inside"):
        check.write_report(r, out=folder / "report")
    assert check.folder_hashes(folder) == before


def test_builtin_attack_cloaks_the_gallery_photos(tmp_path, world, monkeypatch):
    folder = write_person(tmp_path / "me", n=8, cloaked=False)
    tiny = {"tiny1": tiny_extractor(1)}
    monkeypatch.setattr(
        check_run,
        "load_models",
        lambda names, *a, **k: ({n: tiny_extractor(i + 10) for i, n in enumerate(names)}, []),
    )
    before = check.folder_hashes(folder)
    r = run(folder, world, models=tiny, attack="lowkey")
    assert check.folder_hashes(folder) == before
    assert r.attack == "lowkey" and r.mode == "default"
    assert r.surrogates == QUICK.surrogate_names("lowkey")
    assert r.perturbation["n"] == len(r.gallery_photos) == 6
    assert r.perturbation["linf_255_max"] > 0
    assert "built-in lowkey" in r.source


def test_optional_defenses_are_reported(tmp_path, world, monkeypatch):
    folder = write_person(tmp_path / "me", n=10)
    off = run(folder, world, defenses="off")
    assert not off.detection["ran"] and len(off.table) == 1
    assert any("switched off" in n for n in off.notes)

    class FakeDetector:
        def score(self, images):
            return torch.linspace(0, 1, len(images))

    robust = mean_colour_extractor()
    robust.name = "robust_colour"
    monkeypatch.setattr(check_run, "load_robust", lambda *a, **k: (robust, None))
    monkeypatch.setattr(check_run, "load_detector", lambda *a, **k: (FakeDetector(), None))
    r = run(folder, world, defenses="cached")
    assert list(r.table["recogniser"]) == ["mean_colour", "robust_colour"]
    assert r.table.iloc[1]["role"].startswith("adaptively")
    # a row without a year leaves the others whole (the table printed 2015.0 once)
    assert str(r.table["year"].dtype) == "Int64" and pd.isna(r.table.iloc[1]["year"])
    check_report.plot_protection(r)
    assert r.detection["ran"] and r.detection["n_cloaked"] == r.detection["n_clean"] == 10
    assert "detector flagged" in r.verdict() and "AUC" in r.to_markdown()


# --------------------------------------------------------------------------- bad input


def _corrupt(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)


BAD_INPUTS = {
    "missing": (lambda d: d.parent / "nope", "does not exist"),
    "file": (
        lambda d: (d.parent / "f.jpg", (d.parent / "f.jpg").write_bytes(b"x"))[0],
        "not a folder",
    ),
    "empty": (lambda d: (d.mkdir(), d)[1], "no pictures"),
    "no_images": (lambda d: (d.mkdir(), (d / "a.txt").write_text("x"), d)[2], "no pictures"),
    "unreadable": (
        lambda d: (write_person(d, 6), _corrupt(d / "img02.png"), d)[2],
        "img02.png: unreadable",
    ),
    "orphan": (
        lambda d: (write_person(d, 6), (d / "img03.png").unlink(), d)[2],
        "img03_cloaked.png: cloaked photo without its clean partner",
    ),
    "unpaired": (
        lambda d: (write_person(d, 6), (d / "img04_cloaked.png").unlink(), d)[2],
        "img04.png: clean photo without its cloaked version",
    ),
    "no_cloaked": (lambda d: write_person(d, 6, cloaked=False), "no cloaked photos"),
    "too_few": (lambda d: write_person(d, 3), "only 3 usable photo"),
    "size": (
        lambda d: (write_person(d, 6), Image.new("RGB", (20, 20)).save(d / "img01_cloaked.png"), d)[
            2
        ],
        "differs from its clean photo",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_names_the_problem(tmp_path, world, case):
    make, expected = BAD_INPUTS[case]
    target = make(tmp_path / "me")
    before = check.folder_hashes(target) if target.is_dir() else None
    with pytest.raises(CheckInputError) as err:
        run(target, world)
    assert expected in str(err.value)
    assert "Nothing in your photo folder was changed" in str(err.value)
    if before is not None:
        assert check.folder_hashes(target) == before


def test_every_problem_is_listed_at_once(tmp_path, world):
    folder = write_person(tmp_path / "me", 8)
    _corrupt(folder / "img01.png")
    (folder / "img05.png").unlink()
    with pytest.raises(CheckInputError) as err:
        run(folder, world)
    assert len(err.value.problems) == 2
    assert "img01.png" in str(err.value) and "img05_cloaked.png" in str(err.value)


def test_no_face_found_with_align(tmp_path, world, monkeypatch):
    folder = write_person(tmp_path / "me", 6)
    monkeypatch.setattr(check_inputs, "face_box", lambda img: None)
    with pytest.raises(CheckInputError) as err:
        run(folder, world, align=True)
    assert len(err.value.problems) == 6 and "no face found" in str(err.value)


def test_bad_options(tmp_path, world):
    folder = write_person(tmp_path / "me", 6)
    with pytest.raises(CheckInputError, match="Unknown extractor"):
        run(folder, world, extractors=["nope"])
    with pytest.raises(CheckInputError, match="Unknown mode"):
        run(folder, world, attack="fawkes_v10", mode="ultra")
    with pytest.raises(CheckInputError, match="must contain"):
        run(folder, world, pattern="cloaked")


def test_defenses_are_never_trained_in_cached_mode(world):
    scenario, _ = world
    model, note = check.load_robust(scenario, "cached")
    assert model is None and "no cached robust extractor" in note
    det, note = check.load_detector(scenario, "cached")
    assert det is None and "no cached" in note and "detector" in note
    assert check.load_robust(scenario, "off") == (None, "not run (defenses switched off)")


def test_is_cached_probes_use_the_builders_cache_keys(world, monkeypatch):
    """`detection.is_cached` computes the same key as get_detector (never trains)."""
    from facecure_lib.cache import artefact_path
    from facecure_lib.defenses import detection as dt
    from facecure_lib.experiments import surrogate_names
    from facecure_lib.zoo import cache_key

    scenario, _ = world
    surrogates = []
    for i, n in enumerate(surrogate_names("fawkes_v10", "quick")):
        m = tiny_extractor(i)
        m.cache_key = cache_key(n, scenario)
        surrogates.append(m)
    seen = []

    class Stop(Exception):
        pass

    def fake_load(key, *a, **k):
        seen.append(key)
        return None

    def no_training(*a, **k):
        raise Stop

    monkeypatch.setattr(dt, "_load_cached", fake_load)
    monkeypatch.setattr(dt, "detection_set", no_training)
    with pytest.raises(Stop):
        dt.get_detector(scenario, "fawkes_v10", "high", surrogates=surrogates, progress=False)
    assert not dt.is_cached(scenario, "fawkes_v10", "high")
    path = artefact_path("detector", seen[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    assert dt.is_cached(scenario, "fawkes_v10", "high")


def test_detector_key_follows_the_attack_version(world, monkeypatch):
    """Detectors are trained on cloaks: a new attack version must not reuse a stale detector."""
    from facecure_lib.attacks import api
    from facecure_lib.defenses import detection as dt
    from facecure_lib.zoo import cache_key

    scenario, _ = world
    keys = [cache_key(n, scenario) for n in ("era1_softmax",)]
    cfg = dt.detector_config(scenario, "lowkey", "default", keys)
    monkeypatch.setattr(api, "ATTACK_VERSION", api.ATTACK_VERSION + 1)
    assert dt.detector_config(scenario, "lowkey", "default", keys) != cfg
