"""Checks for notebook 02 (adaptive robust training)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import expect, grade


def solution_protection_rate(
    gallery_emb: torch.Tensor, gallery_labels: torch.Tensor, probe_emb: torch.Tensor, user: int
) -> float:
    """The library's answer to exercise 1: the user's error under 1-NN."""
    from ..recognition import nearest_neighbors

    pred = nearest_neighbors(gallery_emb, gallery_labels, probe_emb, 1)[0][:, 0]
    return float((pred != user).float().mean())


def check_protection_rate(fn: Callable[..., float]) -> Callable:
    """`fn(gallery_emb, gallery_labels, probe_emb, user) -> float`: the 1-NN error rate on
    the user's (clean) probes, i.e. the fraction of them matched to another identity."""

    def body() -> None:
        gallery = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [9.0, 0.0]])
        labels = torch.tensor([0, 0, 1, 1, 2])
        probes = torch.tensor([[0.05, 0.0], [4.9, 5.0], [8.0, 0.5], [0.2, 0.1]])
        out = fn(gallery, labels, probes[[0, 3]], 0)
        expect(
            isinstance(out, float | int) or (torch.is_tensor(out) and out.numel() == 1),
            f"expected one number, got {type(out).__name__}",
            "return a float such as 0.25",
        )
        expect(
            abs(float(out) - 0.0) < 1e-6,
            f"probes [0.05,0] and [0.2,0.1] are nearest to user 0's pictures: the rate is 0, "
            f"got {float(out):.3f}",
            "count the probes whose nearest gallery label != user",
        )
        # the user's gallery pictures were cloaked: they moved next to identity 2
        cloaked = gallery.clone()
        cloaked[:2] = torch.tensor([[9.0, 0.2], [9.1, 0.1]])
        out = float(fn(cloaked, labels, probes[[0, 3]], 0))
        expect(
            abs(out - 1.0) < 1e-6,
            "user 0's gallery pictures were cloaked towards identity 2: both of its clean "
            f"probes now match identity 1 or 2, so the rate is 1, got {out:.3f}",
            "compare the nearest gallery label with `user`, not with the probe's position",
        )
        half = torch.tensor([[9.2, 0.1], [0.1, 0.05]])
        out = float(fn(cloaked, labels, half, 0))
        expect(
            abs(out - 0.5) < 1e-6,
            f"one of two probes is matched to another identity: expected 0.5, got {out:.3f}",
            "error rate = mean(nearest label != user) over the probes you were given",
        )
        big = torch.randn(50, 8)
        lab = torch.arange(5).repeat_interleave(10)
        out = float(fn(big, lab, big[lab == 3] + 1e-4, 3))
        expect(
            abs(out) < 1e-6,
            f"probes that equal user 3's own pictures must give 0, got {out:.3f}",
            "use Euclidean distance (torch.cdist) and the label of the single nearest picture",
        )

    return grade("protection_rate", body, fn, solution_protection_rate)


def check_training_set(fn: Callable[..., tuple[torch.Tensor, torch.Tensor]]) -> Callable:
    """`fn(clean_u8, clean_labels, cloaked_float, cloaked_labels) -> (images_u8, labels)`."""

    def body() -> None:
        g = torch.Generator().manual_seed(0)
        clean = torch.randint(0, 256, (6, 3, 8, 8), generator=g, dtype=torch.uint8)
        clean_lab = torch.tensor([0, 0, 1, 1, 2, 2])
        shift = torch.tensor([3.6, -2.3]).view(2, 1, 1, 1)  # off the 8-bit grid on purpose
        cloaked = (clean[[1, 3]].float() + shift).clamp(0, 255) / 255
        cl_lab = torch.tensor([0, 1])
        images, labels = fn(clean, clean_lab, cloaked, cl_lab)
        expect(
            torch.is_tensor(images) and images.dtype == torch.uint8,
            f"images must be a uint8 tensor, got {getattr(images, 'dtype', type(images))}",
            "turn the cloaked floats back into 8-bit pixels: (x * 255).round().to(torch.uint8)",
        )
        expect(
            tuple(images.shape) == (8, 3, 8, 8),
            f"expected 6 clean + 2 cloaked pictures [8, 3, 8, 8], got {tuple(images.shape)}",
            "keep every clean picture and add every cloaked one (torch.cat)",
        )
        expect(
            labels.shape == (8,) and labels.dtype in (torch.int64, torch.int32),
            "labels must be one integer per picture",
            "concatenate the two label tensors",
        )
        expect(
            torch.equal(images[:6], clean) and torch.equal(labels[:6], clean_lab),
            "the clean pictures and their labels must come first, unchanged",
            "torch.cat([clean, ...])",
        )
        expect(
            torch.equal(images[6:].float(), (cloaked * 255).round()),
            "the cloaked pictures must be stored exactly (rounded to the nearest 8-bit value)",
            "use round(), not a truncating cast",
        )
        expect(
            torch.equal(labels[6:], cl_lab),
            "a cloaked picture keeps the label of the person it shows",
            "the whole point: the trainer teaches its model that a cloaked Alice is still Alice",
        )

    from ..defenses.robust import mix_clean_and_cloaked

    return grade("robust training set", body, fn, mix_clean_and_cloaked)
