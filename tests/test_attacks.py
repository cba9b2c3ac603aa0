"""Tests of facecure_lib.attacks: budgets, effect, determinism, caching, black box, figures."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import matplotlib
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytorch_msssim import ssim
from torch import nn

from facecure_lib.attacks import (
    ATTACKS,
    BlackBoxError,
    DSSIMTo,
    attack_params,
    blackbox_cloak,
    cloak,
    cloak_folder,
    dssim,
    perturbation_report,
    ssim_window,
)
from facecure_lib.attacks.blackbox import load_picture, save_picture
from facecure_lib.attacks.figures import plot_cloak_triplets
from facecure_lib.cache import file_sha256
from facecure_lib.models.base import Extractor

matplotlib.use("Agg")
SIZE = 32
TH_V03 = ATTACKS["fawkes_v03"].modes
TH_V10 = ATTACKS["fawkes_v10"].modes


def tiny_extractor(seed: int, dim: int = 32) -> Extractor:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, dim),
    )
    return Extractor(net, f"tiny{seed}", SIZE, cache_key=f"test-tiny-{seed}").eval()


def structured(n: int, seed: int, size: int = SIZE, eight_bit: bool = True) -> torch.Tensor:
    """Smooth blobs plus fine texture: behaves like photos under SSIM."""
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(
        torch.rand(n, 3, 6, 6, generator=g), size=size, mode="bicubic", align_corners=False
    )
    x = (x + 0.08 * torch.rand(n, 3, size, size, generator=g)).clamp(0, 1)
    return (x * 255).round() / 255 if eight_bit else x


def uniform(n: int, seed: int, size: int = SIZE) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def surrogates() -> list[Extractor]:
    return [tiny_extractor(1), tiny_extractor(2)]


@pytest.fixture(scope="module")
def pool() -> dict[str, torch.Tensor]:
    return {f"id{i}": structured(3, 100 + i) for i in range(9)}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECURE_CACHE", str(tmp_path / "cache"))


def emb(f: Extractor, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return F.normalize(f(x), dim=1)


# ---------------------------------------------------------------- metrics


@pytest.mark.parametrize("shape", [(4, 3, 32, 32), (2, 3, 64, 48), (2, 3, 9, 9), (1, 3, 12, 7)])
def test_fast_dssim_matches_pytorch_msssim(shape):
    g = torch.Generator().manual_seed(0)
    y = torch.rand(shape, generator=g, dtype=torch.float64)
    x = (y + 0.05 * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    win = ssim_window(shape[2], shape[3])
    ref = (1 - ssim(x, y, data_range=1.0, size_average=False, win_size=win)) / 2
    torch.testing.assert_close(DSSIMTo(y)(x), ref)
    if min(shape[2:]) >= 11:
        torch.testing.assert_close(dssim(x, y), ref)


def test_ssim_window():
    assert ssim_window(64) == 11 and ssim_window(11) == 11
    assert ssim_window(10) == 9 and ssim_window(9, 30) == 9 and ssim_window(4) == 3


def test_change_by_border_distance_finds_a_frame():
    from facecure_lib.attacks import border_ratio, change_by_border_distance

    clean = torch.full((2, 3, 32, 32), 0.5)
    framed = clean.clone()
    framed[..., :2, :] += 0.1  # the top two rows only
    prof = change_by_border_distance(clean, framed, max_distance=4)
    assert list(prof.index) == [0, 1, 2, 3, "interior"]
    assert prof[0] > prof[2] == 0 and prof["interior"] == 0
    uniform = change_by_border_distance(clean, clean + 0.02, max_distance=4)
    assert uniform.round(4).nunique() == 1 and border_ratio(uniform, 2) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no interior"):
        change_by_border_distance(clean, framed, max_distance=16)
    with pytest.raises(ValueError, match="one shape"):
        change_by_border_distance(clean, framed[:1])


def test_perturbation_report():
    x = structured(3, 0)
    y = x.clone()
    y[1, 0, 0, 0] = (y[1, 0, 0, 0] + 10 / 255).clamp(max=1) if y[1, 0, 0, 0] < 0.9 else 0.0
    rep = perturbation_report(x, y)
    assert list(rep.columns) == ["dssim", "linf", "linf_255", "l2", "psnr"]
    assert rep.loc[0, "linf"] == 0 and rep.loc[0, "dssim"] == 0
    assert rep.loc[0, "psnr"] == float("inf")
    assert rep.loc[1, "linf"] > 0 and rep.loc[1, "l2"] == pytest.approx(rep.loc[1, "linf"])
    # sequences of pictures of different sizes work too
    rep2 = perturbation_report([x[0], structured(1, 1, 40)[0]], [y[0], structured(1, 1, 40)[0]])
    assert len(rep2) == 2


# ---------------------------------------------------------------- budgets

FEW = settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
image_cases = st.tuples(
    st.sampled_from(["structured", "uniform", "flat"]), st.integers(0, 10_000), st.booleans()
)


def make_images(kind: str, seed: int, eight_bit: bool, n: int = 3) -> torch.Tensor:
    if kind == "uniform":
        x = uniform(n, seed)
    elif kind == "flat":  # flat colours with one sharp square: the hard case for SSIM
        g = torch.Generator().manual_seed(seed)
        x = torch.rand(n, 3, 1, 1, generator=g).expand(n, 3, SIZE, SIZE).clone()
        x[:, :, 8:20, 10:22] = torch.rand(n, 3, 1, 1, generator=g)
    else:
        x = structured(n, seed, eight_bit=False)
    return (x * 255).round() / 255 if eight_bit else x


@FEW
@given(case=image_cases, mode=st.sampled_from(["min", "mid", "high"]))
def test_fawkes_v03_budget(case, mode, surrogates, pool):
    x = make_images(*case)
    res = cloak(
        "fawkes_v03",
        x,
        surrogates,
        mode=mode,
        target_pool=pool,
        cache=False,
        progress=False,
        steps=8,
    )
    th = TH_V03[mode]["th"]
    assert res.images.shape == x.shape and res.images.dtype == torch.float32
    assert res.images.min() >= 0 and res.images.max() <= 1
    assert (dssim(x, res.images) <= 1.1 * th + 1e-6).all()
    assert (res.report["dssim"] <= 1.1 * th + 1e-6).all()


@FEW
@given(case=image_cases, mode=st.sampled_from(["low", "mid", "high"]))
def test_fawkes_v10_budget(case, mode, surrogates):
    x = make_images(*case)
    res = cloak("fawkes_v10", x, surrogates, mode=mode, cache=False, progress=False, steps=20)
    th = TH_V10[mode]["th"]
    assert res.images.min() >= 0 and res.images.max() <= 1
    assert (res.images - x).abs().max() <= 15 / 255 + 1e-6
    assert (dssim(x, res.images) <= 1.1 * th + 1e-6).all()
    assert res.config["surrogates"] == [
        s.cache_key for s in surrogates[: TH_V10[mode]["n_extractors"]]
    ]


@FEW
@given(case=image_cases)
def test_lowkey_range_and_step_budget(case, surrogates):
    x = make_images(*case)
    res = cloak("lowkey", x, surrogates, cache=False, progress=False, steps=4)
    p = res.config["params"]
    assert res.images.min() >= 0 and res.images.max() <= 1
    reach = p["init_noise"] + p["steps"] * p["step_size"] + 0.5 / 255
    assert (res.images - x).abs().max() <= reach + 1e-6
    assert res.config["params"]["perceptual"] == "dssim"


# ---------------------------------------------------------------- effect


def noise_like(x: torch.Tensor, cloaked: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Gaussian noise with the same per-picture L2 norm as the cloak."""
    n = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    l2 = (cloaked - x).flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    return (x + n / n.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * l2).clamp(0, 1)


@pytest.mark.parametrize(
    "attack,kw",
    [
        ("fawkes_v10", {"mode": "high", "steps": 25}),
        # paper weight: the quick weight (30) is calibrated
        # for the zoo; these random surrogates barely move
        ("lowkey", {"steps": 10, "perceptual_weight": 0.05}),
    ],
)
def test_untargeted_beats_random_noise(attack, kw, surrogates):
    x = structured(6, 7)
    res = cloak(attack, x, surrogates, cache=False, progress=False, **kw)
    f = surrogates[0]
    moved = (emb(f, res.images) - emb(f, x)).norm(dim=1).mean()
    noise = (emb(f, noise_like(x, res.images)) - emb(f, x)).norm(dim=1).mean()
    assert moved > 3 * noise, (float(moved), float(noise))


def test_targeted_moves_toward_target(surrogates, pool):
    x = structured(6, 3)
    f = surrogates[0]
    res = cloak(
        "fawkes_v03",
        x,
        surrogates,
        mode="high",
        target_pool=pool,
        cache=False,
        progress=False,
        steps=40,
    )
    target = res.config["target_label"]
    assert target in pool and target in res.config["target_shortlist"]
    centroid = emb(f, pool[target]).mean(0)
    before = (emb(f, x) - centroid).norm(dim=1)
    after = (emb(f, res.images) - centroid).norm(dim=1)
    assert after.mean() < before.mean()
    assert res.config["feature_loss_end"] < res.config["feature_loss_start"]
    assert res.report["dssim"].mean() > 0.3 * TH_V03["high"]["th"]  # the budget is used


def test_target_pool_accepts_embeddings(surrogates, pool):
    x = structured(3, 4)
    embs = {k: surrogates[0](v).detach() for k, v in pool.items()}
    res = cloak(
        "fawkes_v03",
        x,
        surrogates,
        mode="min",
        target_pool=embs,
        cache=False,
        progress=False,
        steps=3,
    )
    assert res.config["target_label"] in pool


# ---------------------------------------------------------------- determinism, cache, state


@pytest.mark.parametrize(
    "attack,kw",
    [
        ("fawkes_v03", {"mode": "low", "steps": 5}),
        ("fawkes_v10", {"mode": "mid", "steps": 12}),
        ("lowkey", {"steps": 3}),
    ],
)
def test_same_seed_identical(attack, kw, surrogates, pool):
    x = structured(4, 5)
    kw = {**kw, "target_pool": pool} if attack == "fawkes_v03" else kw
    a = cloak(attack, x, surrogates, seed=3, cache=False, progress=False, **kw)
    b = cloak(attack, x, surrogates, seed=3, cache=False, progress=False, **kw)
    assert torch.equal(a.images, b.images)
    if attack != "fawkes_v03":  # random start: another seed gives another cloak
        c = cloak(attack, x, surrogates, seed=4, cache=False, progress=False, **kw)
        assert not torch.equal(a.images, c.images)


def test_cache_hit_returns_same_tensors_without_recomputing(surrogates):
    x = structured(3, 6)
    calls = []
    hook = surrogates[0].register_forward_hook(lambda *a: calls.append(1))
    try:
        a = cloak("lowkey", x, surrogates, steps=2, progress=False)
        n_first = len(calls)
        b = cloak("lowkey", x, surrogates, steps=2, progress=False)
    finally:
        hook.remove()
    assert n_first > 0 and len(calls) == n_first
    assert not a.from_cache and b.from_cache
    assert torch.equal(a.images, b.images)
    assert a.config == b.config
    c = cloak("lowkey", x, surrogates, steps=2, seed=1, progress=False)
    assert not c.from_cache


def test_surrogate_state_is_restored(pool):
    f = tiny_extractor(5).train()
    before = {k: v.clone() for k, v in f.state_dict().items()}
    cloak(
        "fawkes_v03",
        structured(2, 1),
        f,
        mode="min",
        target_pool=pool,
        cache=False,
        progress=False,
        steps=2,
    )
    assert f.training and all(p.requires_grad for p in f.parameters())
    assert all(torch.equal(before[k], v) for k, v in f.state_dict().items())


def test_config_records_scaling():
    mode, params, scaled = attack_params("fawkes_v03", "mid", "paper")
    assert mode == "mid" and params["steps"] == 200 and scaled == {}
    _, params, scaled = attack_params("fawkes_v03", "mid", "quick")
    assert scaled["steps"]["paper"] == 200 and scaled["steps"]["used"] == params["steps"]
    _, params, scaled = attack_params("lowkey", None, "quick")
    assert params["steps"] * params["step_size"] == pytest.approx(50 * 0.0025)
    # DSSIM replaces LPIPS in the quick profile, with its own weight; recorded as a change
    assert scaled["perceptual_weight"] == {"paper": 0.05, "used": params["perceptual_weight"]}


def test_bad_names_raise(surrogates):
    x = structured(1, 0)
    with pytest.raises(ValueError, match="fawkes_v03, fawkes_v10, lowkey"):
        cloak("fawkes", x, surrogates)
    with pytest.raises(ValueError, match="min, low, mid, high"):
        cloak("fawkes_v03", x, surrogates, mode="ultra", target_pool={"a": x})
    with pytest.raises(ValueError, match="default"):
        cloak("lowkey", x, surrogates, mode="high")
    with pytest.raises(ValueError, match="Unknown parameter"):
        cloak("fawkes_v10", x, surrogates, stepz=3)
    with pytest.raises(ValueError, match="profile"):
        cloak("lowkey", x, surrogates, profile="fast")
    with pytest.raises(ValueError, match="target_pool"):
        cloak("fawkes_v03", x, surrogates)
    with pytest.raises(ValueError, match="perceptual"):
        cloak("lowkey", x, surrogates, perceptual="l2")


# ---------------------------------------------------------------- black box

FAKE_TOOL = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np
    from PIL import Image
    folder, behaviour = Path(sys.argv[1]), sys.argv[2]
    files = sorted(p for p in folder.iterdir() if p.suffix == ".png")
    for i, p in enumerate(files):
        if behaviour == "skip_last" and i == len(files) - 1:
            continue
        a = np.asarray(Image.open(p).convert("RGB")).astype(int)
        a = np.clip(a + (np.arange(a.size).reshape(a.shape) % 7) - 3, 0, 255).astype(np.uint8)
        if behaviour == "resize" and i == 0:
            a = a[:-2]
        Image.fromarray(a).save(folder / (p.stem + "_cloaked.png"))
    sys.exit(3 if behaviour == "fail" else 0)
""")


@pytest.fixture()
def user_folder(tmp_path) -> Path:
    folder = tmp_path / "me"
    folder.mkdir()
    for i, img in enumerate(structured(3, 9)):
        save_picture(img, folder / f"photo{i}.png")
    (folder / "notes.txt").write_text("not a picture")
    return folder


@pytest.fixture()
def fake_tool(tmp_path) -> Path:
    path = tmp_path / "fake_fawkes.py"
    path.write_text(FAKE_TOOL)
    return path


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: file_sha256(p) for p in sorted(folder.iterdir())}


def test_blackbox_folder_success(user_folder, fake_tool, tmp_path):
    before = _hashes(user_folder)
    res = cloak_folder(
        user_folder, [sys.executable, str(fake_tool), "{dir}", "ok"], out_dir=tmp_path / "out"
    )
    assert _hashes(user_folder) == before
    assert [p.name for p in res.inputs] == ["photo0.png", "photo1.png", "photo2.png"]
    assert res.outputs == ["photo0_cloaked.png", "photo1_cloaked.png", "photo2_cloaked.png"]
    assert all((tmp_path / "out" / n).is_file() for n in res.outputs)
    assert len(res.report) == 3 and (res.report["linf_255"] <= 3 + 1e-4).all()
    assert (res.report["linf"] > 0).all()
    torch.testing.assert_close(res.clean[0], load_picture(user_folder / "photo0.png"))


@pytest.mark.parametrize(
    "behaviour,match",
    [
        ("skip_last", "photo2.png -> photo2_cloaked.png"),
        ("resize", "photo0.png"),
        ("fail", "exit 3"),
    ],
)
def test_blackbox_errors_name_the_files(behaviour, match, user_folder, fake_tool):
    before = _hashes(user_folder)
    with pytest.raises(BlackBoxError, match=match):
        cloak_folder(user_folder, f"{sys.executable} {fake_tool} {{dir}} {behaviour}")
    assert _hashes(user_folder) == before


def test_blackbox_cloak_tensor_and_cache(fake_tool):
    x = structured(2, 2)
    cmd = [sys.executable, str(fake_tool), "{dir}", "ok"]
    a = blackbox_cloak(x, cmd)
    b = blackbox_cloak(x, cmd)
    assert a.images.shape == x.shape and not a.from_cache and b.from_cache
    assert torch.equal(a.images, b.images)
    with pytest.raises(BlackBoxError, match="command not found"):
        blackbox_cloak(x, ["definitely-not-a-fawkes-binary", "-d", "{dir}"], cache=False)


# ---------------------------------------------------------------- figures


def test_plot_cloak_triplets(tmp_path):
    x = structured(5, 1)
    y = (x + 0.02).clamp(0, 1)
    fig = plot_cloak_triplets(x, y, n=3, amplify=20, titles=["a", "b", "c"])
    assert len(fig.axes) == 9
    assert fig.axes[2].get_title() == "difference x20"
    fig.savefig(tmp_path / "triplets.png")
    assert (tmp_path / "triplets.png").stat().st_size > 0


def test_untargeted_attacks_run_in_chunks(surrogates, monkeypatch):
    """Chunks bound memory; the merged result covers every picture, deterministically."""
    from facecure_lib.attacks import api

    x = structured(5, 11)
    monkeypatch.setattr(api, "CHUNK_PICTURES", 2)
    a = cloak("fawkes_v10", x, surrogates, mode="low", steps=3, cache=False, progress=False)
    b = cloak("fawkes_v10", x, surrogates, mode="low", steps=3, cache=False, progress=False)
    assert a.images.shape == x.shape and torch.equal(a.images, b.images)
    assert len(a.config["balance_c_end"]) == 5 and a.config["chunk"] == 2
    assert (a.images - x).abs().amax() <= 15 / 255 + 1e-6


@pytest.fixture
def no_lpips(monkeypatch):
    """`import lpips` fails (as where the package or AlexNet's weights are missing)."""
    import sys

    from facecure_lib.attacks import lowkey as lk

    monkeypatch.setitem(sys.modules, "lpips", None)
    lk.load_lpips.cache_clear()
    yield lk
    lk.load_lpips.cache_clear()


def test_missing_lpips_in_the_paper_profile_warns_loudly(no_lpips):
    with pytest.warns(UserWarning) as record:
        assert no_lpips.resolve_perceptual("auto", "paper", torch.device("cpu")) == "dssim"
    msg = str(record[0].message)
    assert "LPIPS(alex) could not be loaded" in msg and "ModuleNotFoundError" in msg
    assert "much less constrained" in msg and "perceptual='dssim'" in msg


def test_lpips_asked_for_explicitly_raises_with_the_reason(no_lpips):
    with pytest.raises(RuntimeError, match="LPIPS.*unavailable.*ModuleNotFoundError"):
        no_lpips.resolve_perceptual("lpips_alex", "paper", torch.device("cpu"))


def test_quick_profile_and_explicit_dssim_stay_silent(no_lpips, recwarn):
    assert no_lpips.resolve_perceptual("auto", "quick", torch.device("cpu")) == "dssim"
    assert no_lpips.resolve_perceptual("dssim", "paper", torch.device("cpu")) == "dssim"
    assert not [w for w in recwarn if "LPIPS" in str(w.message)]


# --------------------------------------------------------------------------- speed-ups, exact


def test_dssim_of_a_subset_is_bit_identical_to_the_whole_batch():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 32, 32, generator=g)
    xa = (x + 0.03 * torch.randn(x.shape, generator=g)).clamp(0, 1).requires_grad_(True)
    full = DSSIMTo(x)(xa)
    (g_full,) = torch.autograd.grad(full.sum(), xa)
    idx = torch.tensor([1, 4])
    part_x = xa.detach()[idx].clone().requires_grad_(True)
    part = DSSIMTo(x).subset(idx)(part_x)
    (g_part,) = torch.autograd.grad(part.sum(), part_x)
    assert torch.equal(part, full[idx]) and torch.equal(g_part, g_full[idx])


def test_budget_penalty_gives_the_full_batch_gradient():
    """Only the pictures over the budget enter the graph; the gradient is the same."""
    from facecure_lib.attacks.fawkes import budget_penalty

    g = torch.Generator().manual_seed(1)
    x = torch.rand(5, 3, 24, 24, generator=g)
    xa = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1).requires_grad_(True)
    dssim = DSSIMTo(x)
    d = dssim(xa)
    th = float(d.detach().median())
    (want,) = torch.autograd.grad((1e6 * F.relu(d - th).pow(2)).sum(), xa)
    (got,) = torch.autograd.grad(budget_penalty(dssim, xa, d.detach(), th, 1e6), xa)
    assert torch.equal(got, want) and bool((got[d <= th] == 0).all())
    assert budget_penalty(dssim, xa, d.detach(), float(d.detach().max()), 1e6) is None


def test_in_place_projection_is_bit_identical():
    from facecure_lib.attacks.core import from_tanh, to_tanh
    from facecure_lib.attacks.fawkes import project_box_

    g = torch.Generator().manual_seed(2)
    x = torch.rand(3, 3, 16, 16, generator=g)
    w = to_tanh(x) + 0.3 * torch.randn(x.shape, generator=g)
    lo, hi = (x - 15 / 255).clamp(0, 1), (x + 15 / 255).clamp(0, 1)
    want = to_tanh(torch.minimum(torch.maximum(from_tanh(w), lo), hi))
    project_box_(w, lo, hi)
    assert torch.equal(w, want)
