"""Checks for the exercises of notebook 01 (the threat-model game)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import expect, grade

TOY_TIMELINE = {
    1: ["m2015"],
    2: ["m2015", "m2018"],
    3: ["m2015", "m2018"],
    4: ["m2015", "m2018", "m2021"],
}


def _flags(fn: Callable, *args) -> list[bool]:
    out = fn(*args)
    out = torch.as_tensor(out)
    expect(
        out.dim() == 1,
        f"expected one flag per picture, got shape {tuple(out.shape)}",
        "return a 1-D boolean tensor with one entry per picture",
    )
    return [bool(v) for v in out.tolist()]


def solution_within_budget(
    clean: torch.Tensor, cloaked: torch.Tensor, max_dssim: float | None, max_linf: float | None
) -> torch.Tensor:
    """The library's answer to exercise 1: one flag per picture, True when within budget."""
    from ..attacks import perturbation_report

    rep = perturbation_report(clean, cloaked)
    ok = torch.ones(len(rep), dtype=torch.bool)
    if max_dssim is not None:
        ok &= torch.tensor((rep["dssim"] <= max_dssim).to_numpy())
    if max_linf is not None:
        ok &= torch.tensor((rep["linf"] <= max_linf + 1e-6).to_numpy())
    return ok


def check_within_budget(within_budget: Callable) -> Callable:
    """Exercise 1: `within_budget(clean, cloaked, max_dssim, max_linf)` -> bool per picture."""

    def body() -> None:
        from ..attacks import dssim

        g = torch.Generator().manual_seed(0)
        clean = torch.rand(4, 3, 16, 16, generator=g) * 0.6 + 0.2
        cloaked = clean.clone()
        cloaked[1, :, 3, 3] += 0.1  # one pixel moved by 0.1
        cloaked[2] += 0.02 * torch.randn(3, 16, 16, generator=g)  # small noise everywhere
        cloaked[3] += 0.3 * torch.randn(3, 16, 16, generator=g)  # heavy noise
        cloaked = cloaked.clamp(0, 1)
        d = dssim(clean, cloaked)
        linf = (cloaked - clean).flatten(1).abs().amax(1)

        flags = _flags(within_budget, clean, clean.clone(), 0.0, 0.0)
        expect(
            flags == [True] * 4,
            f"unperturbed pictures flagged {flags}",
            "a picture identical to its original uses no budget at all (allow equality: <=)",
        )
        flags = _flags(within_budget, clean, cloaked, None, None)
        expect(
            flags == [True] * 4,
            f"with no budget at all you returned {flags}",
            "None means 'no limit' for that measure",
        )
        flags = _flags(within_budget, clean, cloaked, None, 0.05)
        want = [bool(v) for v in (linf <= 0.05 + 1e-6).tolist()]
        expect(
            flags == want,
            f"L-inf budget 0.05: got {flags}, expected {want}",
            "L-inf is the largest absolute change of any pixel value of the picture",
        )
        th = float(d[2]) * 1.01
        flags = _flags(within_budget, clean, cloaked, th, None)
        want = [bool(v) for v in (d <= th).tolist()]
        expect(
            flags == want,
            f"DSSIM budget {th:.4f}: got {flags}, expected {want}",
            "use attacks.perturbation_report(clean, cloaked)['dssim'] (or attacks.dssim)",
        )
        flags = _flags(within_budget, clean, cloaked, th, 0.05)
        want = [bool(a and b) for a, b in zip((d <= th).tolist(), (linf <= 0.05 + 1e-6).tolist())]
        expect(
            flags == want,
            f"both budgets: got {flags}, expected {want}",
            "a picture must respect every budget that is given",
        )

    return grade("within_budget (the oracle)", body, within_budget, solution_within_budget)


def check_retroactive(retroactive: Callable) -> Callable:
    """Exercise 2: `retroactive(round, timeline)` -> model per posting round 1..round."""

    def body() -> None:
        cases = {1: ["m2015"], 2: ["m2018"] * 2, 3: ["m2018"] * 3, 4: ["m2021"] * 4}
        for r, want in cases.items():
            got = list(retroactive(r, TOY_TIMELINE))
            expect(
                len(got) == r,
                f"round {r}: {len(got)} models for {r} posting rounds",
                "return one model name per posting round 1..round (a list of length round)",
            )
            expect(
                got == want,
                f"round {r}: got {got}, expected {want}",
                "every picture ever scraped, old ones included, is embedded by the newest "
                "model available in *this* round: timeline[round][-1]",
            )
        other = {1: ["a"], 2: ["a", "b"]}
        expect(
            list(retroactive(2, other)) == ["b", "b"],
            "a different timeline gave a wrong answer",
            "read the models from the timeline argument, do not hard-code names",
        )

    from ..game import assign_retroactive

    return grade("retroactive trainer", body, retroactive, assign_retroactive)
