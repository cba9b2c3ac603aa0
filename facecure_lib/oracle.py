"""The oracle of the poisoning game (paper §2.2): every posted picture must respect its
attack's perturbation budget, checked by an independent measurement of the perturbation."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd
import torch

from .attacks import attack_params, perturbation_report


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


def oracle_check(
    clean: torch.Tensor,
    cloaked: torch.Tensor,
    max_dssim: float | None = None,
    max_linf: float | None = None,
    linf_tol: float = 0.5 / 255,
) -> OracleReport:
    """Check every perturbed picture against the budget with `attacks.perturbation_report`.

    `linf_tol` allows the rounding of cloaks to the 8-bit grid (half a grey level).
    """
    rep = perturbation_report(clean, cloaked)
    ok = pd.Series(True, index=rep.index)
    if max_dssim is not None:
        ok &= rep["dssim"] <= max_dssim + 1e-6
    if max_linf is not None:
        ok &= rep["linf"] <= max_linf + linf_tol
    return OracleReport(
        bool(ok.all()),
        len(rep),
        int((~ok).sum()),
        float(rep["dssim"].max()) if len(rep) else 0.0,
        float(rep["linf"].max()) if len(rep) else 0.0,
        {"max_dssim": max_dssim, "max_linf": max_linf},
    )
