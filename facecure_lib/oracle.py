"""The oracle of the poisoning game (paper §2.2): every posted picture must respect its
attack's perturbation budget, checked by an independent measurement of the perturbation.

Independent means: not the code the attacks use to stay inside their budget. The attacks
measure DSSIM with `pytorch_msssim` (and the library's fast matrix form); the oracle uses
scikit-image's `structural_similarity` with the Gaussian window of `tf.image.ssim` (the
implementation Fawkes itself relied on), and numpy for the largest pixel change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .attacks import attack_params

# Two SSIM implementations agree to a few parts in a thousand on 64 px pictures (float
# rounding, the order of sums); a picture is over budget only beyond that.
DSSIM_REL_TOL = 0.01


def attack_budget(attack: str, mode: str | None = None, profile: str = "quick") -> dict:
    """The hard budget the oracle enforces for an attack: max DSSIM and/or max L-inf (0..1).

    Fawkes: DSSIM <= 1.1 * th (the attacks keep the best step inside that), v1.0 also
    L-inf <= 15/255. LowKey has no hard budget in its released configuration; the oracle
    bounds its L-inf by the total signed-gradient path (init noise + steps * step size).
    """
    _, p, _ = attack_params(attack, mode, profile)
    if "th" in p:
        return {"max_dssim": 1.1 * p["th"], "max_linf": p.get("max_change")}
    return {"max_dssim": None, "max_linf": p["init_noise"] + p["steps"] * p["step_size"]}


@dataclass
class OracleReport:
    """What the oracle saw: how many pictures break the budget and the worst values."""

    passed: bool
    n_pictures: int
    n_violations: int
    max_dssim: float
    max_linf: float
    budget: dict

    def to_dict(self) -> dict:
        return asdict(self)


def independent_dssim(clean: torch.Tensor, cloaked: torch.Tensor) -> np.ndarray:
    """Per-picture DSSIM = (1 - SSIM) / 2 from scikit-image (Gaussian window, sigma 1.5, as
    `tf.image.ssim`), for two batches [N, 3, H, W] in [0, 1]."""
    from skimage.metrics import structural_similarity

    a = clean.detach().float().cpu().permute(0, 2, 3, 1).double().numpy()
    b = cloaked.detach().float().cpu().permute(0, 2, 3, 1).double().numpy()
    win = min(11, *(s if s % 2 else s - 1 for s in a.shape[1:3]))
    ssim = [
        structural_similarity(
            x,
            y,
            gaussian_weights=True,
            sigma=1.5,
            win_size=win,
            use_sample_covariance=False,
            data_range=1.0,
            channel_axis=2,
        )
        for x, y in zip(a, b)
    ]
    return (1.0 - np.asarray(ssim, dtype=np.float64)) / 2.0


def oracle_check(
    clean: torch.Tensor,
    cloaked: torch.Tensor,
    max_dssim: float | None = None,
    max_linf: float | None = None,
    linf_tol: float = 0.5 / 255,
) -> OracleReport:
    """Check every perturbed picture against the budget, measured independently of the
    attacks (`independent_dssim`, numpy's largest change).

    `linf_tol` allows the rounding of cloaks to the 8-bit grid (half a grey level).
    """
    n = len(clean)
    d = independent_dssim(clean, cloaked) if n else np.zeros(0)
    change = (cloaked.detach().cpu().double() - clean.detach().cpu().double()).abs()
    linf = change.flatten(1).amax(1).numpy() if n else np.zeros(0)
    ok = np.ones(n, dtype=bool)
    if max_dssim is not None:
        ok &= d <= max_dssim * (1 + DSSIM_REL_TOL) + 1e-9
    if max_linf is not None:
        ok &= linf <= max_linf + linf_tol
    return OracleReport(
        bool(ok.all()),
        n,
        int((~ok).sum()),
        float(d.max()) if n else 0.0,
        float(linf.max()) if n else 0.0,
        {"max_dssim": max_dssim, "max_linf": max_linf},
    )
