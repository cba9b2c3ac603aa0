"""Checks for notebook 05 (top-2 and confidence thresholding)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from . import expect, grade


def check_calibrate_threshold(fn: Callable[..., float]) -> Callable:
    """`fn(distances, max_rerouted) -> threshold`: the smallest threshold such that fewer than
    `max_rerouted` of the distances lie strictly above it."""

    def body() -> None:
        g = torch.Generator().manual_seed(0)
        for d, m in (
            (torch.arange(100.0), 0.02),
            (torch.rand(1000, generator=g), 0.02),
            (torch.tensor([4.0, 1.0, 3.0, 2.0]), 0.5),
            (torch.rand(37, generator=g), 0.1),
        ):
            t = float(fn(d, m))
            above = int((d > t).sum())
            allowed = max(0, math.ceil(m * len(d)) - 1)
            expect(
                above / len(d) < m,
                f"{above} of {len(d)} distances are above your threshold {t:.4g}: that is not "
                f"fewer than {m:.0%}",
                "sort the distances and keep the largest few above t",
            )
            expect(
                above == allowed,
                f"only {above} of {len(d)} distances are rerouted, {allowed} would still stay "
                f"under {m:.0%}: the threshold is higher than it needs to be",
                "the threshold is the (k+1)-th largest distance, with k = ceil(m * n) - 1",
            )

    from ..systems import calibrate_threshold

    return grade("calibrate the threshold", body, fn, calibrate_threshold)


def check_threshold_answer(fn: Callable[..., torch.Tensor]) -> Callable:
    """`fn(acc_label, acc_dist, rob_label, threshold) -> labels`."""

    def body() -> None:
        acc = torch.tensor([1, 2, 3, 4])
        dist = torch.tensor([0.1, 0.9, 0.5, 0.51])
        rob = torch.tensor([7, 8, 9, 4])
        out = torch.as_tensor(fn(acc, dist, rob, 0.5))
        expect(
            out.shape == acc.shape,
            f"expected one answer per probe, got shape {tuple(out.shape)}",
            "return a tensor of labels, same shape as acc_label",
        )
        expect(
            out.tolist() == [1, 8, 3, 4],
            f"expected [1, 8, 3, 4], got {out.tolist()}",
            "distance above the threshold (strictly) -> the robust model answers",
        )
        out = torch.as_tensor(fn(acc, dist, rob, 10.0))
        expect(
            out.tolist() == acc.tolist(),
            "a huge threshold must never reroute",
            "torch.where(acc_dist > threshold, rob_label, acc_label)",
        )

    from ..systems import threshold_answer

    return grade("thresholding system", body, fn, threshold_answer)
