"""Checks for the exercises of notebook 04 (the oblivious trainer)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import expect, grade


def check_leave_unprotected(fn: Callable[..., torch.Tensor]) -> Callable:
    """Exercise 1: `fn(cloaked, clean, k, order)` leaves the pictures order[:k] clean."""

    def body() -> None:
        g = torch.Generator().manual_seed(0)
        clean = torch.rand(6, 3, 4, 4, generator=g)
        cloaked = (clean + 0.1).clamp(0, 1)
        order = torch.tensor([4, 1, 5, 0, 3, 2])
        keep = cloaked.clone(), clean.clone()
        out = fn(cloaked, clean, 0, order)
        expect(
            isinstance(out, torch.Tensor) and out.shape == cloaked.shape,
            f"the result must be a tensor of shape {tuple(cloaked.shape)}",
            "return one picture per scraped picture, same shape as `cloaked`",
        )
        expect(
            torch.equal(out, cloaked),
            "with k=0 every picture must stay cloaked",
            "replace only the first k pictures of `order`",
        )
        out = fn(cloaked, clean, 2, order)
        expect(
            torch.equal(out[[4, 1]], clean[[4, 1]]),
            "with k=2 pictures 4 and 1 (the first two of `order`) must be the clean ones",
            "the rows to replace are order[:k], not the first k rows",
        )
        expect(
            torch.equal(out[[0, 2, 3, 5]], cloaked[[0, 2, 3, 5]]),
            "with k=2 the other four pictures must stay cloaked",
            "change only order[:k]",
        )
        expect(
            torch.equal(fn(cloaked, clean, 6, order), clean),
            "with k=n every picture is clean",
            "k can be as large as the number of pictures",
        )
        expect(
            torch.equal(cloaked, keep[0]) and torch.equal(clean, keep[1]),
            "the inputs must not be modified",
            "work on a copy: cloaked.clone()",
        )

    from ..timeline import leave_unprotected

    return grade("leave some pictures unprotected", body, fn, leave_unprotected)


def check_interpolate_weights(fn: Callable[..., dict]) -> Callable:
    """Exercise 2: `fn(generic_state, tuned_state, alpha)` interpolates float entries only."""

    def body() -> None:
        generic = {
            "w": torch.zeros(2, 2),
            "bn.running_var": torch.ones(3),
            "bn.num_batches_tracked": torch.tensor(5),
        }
        tuned = {
            "w": torch.full((2, 2), 4.0),
            "bn.running_var": torch.full((3,), 3.0),
            "bn.num_batches_tracked": torch.tensor(9),
        }
        for alpha, w, var in ((0.0, 0.0, 1.0), (1.0, 4.0, 3.0), (0.25, 1.0, 1.5)):
            out = fn(generic, tuned, alpha)
            expect(
                isinstance(out, dict) and set(out) == set(tuned),
                "the result must be a dict with the same keys as the state dicts",
                "build {key: tensor} for every key",
            )
            expect(
                torch.allclose(out["w"], torch.full((2, 2), w)),
                f"alpha={alpha}: weight should be {w}, got {out['w'].flatten()[0].item():.3g}",
                "theta = alpha * theta_tuned + (1 - alpha) * theta_generic",
            )
            expect(
                torch.allclose(out["bn.running_var"], torch.full((3,), var)),
                f"alpha={alpha}: BatchNorm statistics should be interpolated too",
                "running_mean / running_var are floating-point buffers: interpolate them",
            )
            nbt = out["bn.num_batches_tracked"]
            expect(
                not nbt.is_floating_point(),
                "integer buffers must stay integers",
                "for entries that are not floating point (t.is_floating_point() is False), "
                "copy the tuned model's value",
            )
        expect(
            generic["w"].eq(0).all() and tuned["w"].eq(4).all(),
            "the inputs must not be modified",
            "build new tensors instead of changing them in place",
        )

    from ..interpolation import interpolate_weights

    return grade("interpolate two models' weights", body, fn, interpolate_weights)
