"""T4 time estimates: the arithmetic, on workloads small enough to check by hand."""

from __future__ import annotations

import re

import pytest

from facecure_lib import estimate as est

from .nbrun import ROOT

# every notebook of the repository (the estimate must know each one)
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("0[0-9]_*.py"))


def test_work_counts_a_backward_pass_as_two_forwards():
    w = est.Work().add("vit_b32", 10).add("vit_b32", 2, backward=True)
    f = est.MEASURED["vit_b32"].gflops_fwd
    assert w.gflops("vit_b32") == pytest.approx(10 * f + 2 * 3 * f)
    w += est.Work().add("vit_b32", 5)
    assert w.forward["vit_b32"] == 15 and w.gflops("dlib_resnet") == 0


def test_t4_minutes_by_hand():
    sizes = est.PaperSizes(pictures=1000, models=("clip-vit-b16-laion2b",))
    seconds = 1000 * est.MEASURED["vit_b16"].gflops_fwd / (8.1e3 * est.SUSTAINED)  # eff. 1
    assert est.efficiency("vit_b16") == 1.0
    assert est.t4_minutes("00_quickstart", sizes) == pytest.approx(est.SETUP_MINUTES + seconds / 60)
    fp16 = est.t4_minutes("00_quickstart", sizes, precision="fp16")
    assert fp16 - est.SETUP_MINUTES == pytest.approx(seconds / 60 * 8.1 / 65)
    cpu = 1000 * est.MEASURED["vit_b16"].cpu_s_fwd / 60
    assert est.cpu_minutes("00_quickstart", sizes) == pytest.approx(cpu)


def test_less_efficient_architectures_take_longer_per_flop():
    assert 0 < est.efficiency("mobilenet_v2") < est.efficiency("vit_b32") <= 1
    a = est.PaperSizes(pictures=1000, models=("facenet-vggface2",))
    seconds = 1000 * est.MEASURED["inception_resnet_v1"].gflops_fwd / (8.1e3 * est.SUSTAINED)
    expected = seconds / est.efficiency("inception_resnet_v1") / 60
    assert est.t4_minutes("00", a) - est.SETUP_MINUTES == pytest.approx(expected)


def test_attack_passes_follow_the_paper_parameters():
    assert est.attack_passes("fawkes_v03") == (500, 1, 1)  # high mode, one surrogate
    assert est.attack_passes("fawkes_v10") == (150, 2, 1)
    assert est.attack_passes("fawkes_v10", "low") == (40, 1, 1)
    assert est.attack_passes("lowkey") == (50, 2, 4)  # plain/blur x flip
    w = est.cloak_work("lowkey", 10)
    assert w.backward == {"inception_resnet_v1": 10 * 50 * 2 * 4, "lpips_alex": 10 * 50}


def test_every_notebook_has_an_estimate_and_scales_with_its_data():
    small, big = est.PaperSizes(pictures=1000), est.PaperSizes(pictures=2000)
    for nb in NOTEBOOKS:
        minutes = est.t4_minutes(nb)
        assert minutes > est.SETUP_MINUTES
        line = est.estimate_line(nb)
        assert re.fullmatch(rf"{nb}: estimated on a T4: ~\d+ min \(estimate, not measured\)", line)
        if nb[:2] in ("00", "01", "04"):
            assert est.t4_minutes(nb, big) > est.t4_minutes(nb, small)
    with pytest.raises(ValueError, match="Unknown notebook"):
        est.t4_minutes("07_more")
    with pytest.raises(ValueError, match="precision"):
        est.t4_minutes("00", precision="int8")


def test_paper_defaults_fit_a_free_t4_session():
    """The paper profile's default sizes keep every notebook under 15 estimated minutes."""
    for nb, minutes in est.estimates().items():
        assert est.SETUP_MINUTES < minutes < 15, (nb, minutes)
    s = est.PaperSizes()
    from facecure_lib.profiles import PAPER

    assert s.attackers == PAPER.sizes.n_attackers and s.robust_steps == PAPER.robust.steps
    assert s.pictures == 158 * PAPER.sizes.pictures_per_identity  # LFW, >= 10 pictures each


def test_estimate_of_a_loaded_scenario_follows_its_sizes(tmp_cache):
    from facecure_lib.scenario import load_scenario
    from tests.helpers import colour_dataset

    ds = colour_dataset(n_ids=8, per_id=10, size=32)
    scenario = load_scenario("paper", 0, dataset=ds, n_attackers=2, progress=False)
    s = est.PaperSizes.from_scenario(scenario)
    assert (s.pictures, s.attackers, s.attacker_pictures) == (80, 2, 7)
    assert s.public_pictures == 40 and s.detection_train_users == 4
    assert est.t4_minutes("01", s) < est.t4_minutes("01")  # fewer pictures, less work


def test_docs_hold_the_estimates_table():
    from pathlib import Path

    from facecure_lib.asset_registry import readme_table as assets_table

    root = Path(__file__).resolve().parents[1]
    for doc in ("README.md", "docs/INSTRUCTORS.md"):
        text = (root / doc).read_text()
        assert est.readme_table() in text, f"{doc}: stale estimates table (estimate.readme_table)"
        assert assets_table() in text, f"{doc}: stale downloads table (asset_registry)"
        assert "not been produced by this project" in text
