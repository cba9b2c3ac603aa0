"""LowKey-style cloak (Cherepanova et al., ICLR 2021): untargeted, ensemble, signed gradients.

Every surrogate is an ensemble member twice, on the plain and on a Gaussian-blurred
(7x7, sigma 3) picture; a member's embedding is normalise(f(x) + f(flip(x))). One forward
pass per surrogate and step handles all four views [x, blur(x), flip(x), flip(blur(x))].
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

from ..models.base import Extractor
from ..progress import trange
from .metrics import DSSIMTo

Perceptual = Callable[[torch.Tensor], torch.Tensor]


@functools.lru_cache(maxsize=4)
def load_lpips(device: str) -> tuple[torch.nn.Module | None, str | None]:
    """(LPIPS(alex) on `device`, None), or (None, why it could not be loaded)."""
    try:
        import lpips  # type: ignore[import-not-found]

        from ..download import place_in_torch_hub

        place_in_torch_hub("alexnet-imagenet")  # where lpips' torchvision AlexNet looks
        model = lpips.LPIPS(net="alex", verbose=False).to(device).eval()
    except Exception as err:  # package or its (downloaded) AlexNet weights missing
        return None, f"{type(err).__name__}: {err}"
    for p in model.parameters():
        p.requires_grad_(False)
    return model, None


def _lpips_model(device: str) -> torch.nn.Module | None:
    return load_lpips(device)[0]


def resolve_perceptual(choice: str, profile: str, device: torch.device) -> str:
    """'lpips_alex' where LPIPS and its weights can be had (paper profile), else 'dssim'.

    `choice` is 'auto', 'lpips_alex' or 'dssim'. Asking for LPIPS where it is missing
    raises; 'auto' in the paper profile falls back to DSSIM with a loud warning.
    """
    if choice not in ("auto", "lpips_alex", "dssim"):
        raise ValueError(f"perceptual must be 'auto', 'lpips_alex' or 'dssim', got {choice!r}")
    if choice == "dssim" or (choice == "auto" and profile != "paper"):
        return "dssim"
    model, why = load_lpips(str(device))
    if model is not None:
        return "lpips_alex"
    if choice == "lpips_alex":
        raise RuntimeError(
            f"LPIPS(alex) unavailable ({why}): install `lpips` and make torchvision's "
            "AlexNet weights downloadable, or use perceptual='dssim'"
        )
    warnings.warn(
        f"LowKey: LPIPS(alex) could not be loaded ({why}), so its perceptual penalty falls "
        "back to DSSIM at LPIPS' weight (0.05). At that weight DSSIM barely constrains the "
        "cloak: the LowKey cloaks are then much less constrained (far more visible) than "
        "the paper's. Install `lpips` and make torchvision's AlexNet weights downloadable, "
        "or pass perceptual='dssim' to choose DSSIM knowingly.",
        UserWarning,
        stacklevel=2,
    )
    return "dssim"


def perceptual_fn(name: str, reference: torch.Tensor) -> Perceptual:
    """Per-picture perceptual distance [N] of a batch in [0, 1] to the clean `reference`."""
    if name == "lpips_alex":
        model = _lpips_model(str(reference.device))
        return lambda xa: model(reference, xa, normalize=True).flatten()
    return DSSIMTo(reference)


def _member_embeddings(f: Extractor, x: torch.Tensor, kernel: int, sigma: float) -> torch.Tensor:
    """[2, N, D]: flip-averaged, normalised embeddings of the plain and the blurred picture."""
    n = x.shape[0]
    z = torch.cat([x, gaussian_blur(x, [kernel, kernel], [sigma, sigma])])
    e = f(torch.cat([z, z.flip(-1)]))
    e = F.normalize(e[: 2 * n] + e[2 * n :], dim=1)
    return e.view(2, n, -1)


def lowkey(
    images: torch.Tensor,
    surrogates: Sequence[Extractor],
    *,
    steps: int = 50,
    step_size: float = 0.0025,
    init_noise: float = 0.005,
    blur_kernel: int = 7,
    blur_sigma: float = 3.0,
    perceptual_weight: float = 0.05,
    perceptual: str = "dssim",
    generator: torch.Generator,
    progress: bool = True,
) -> tuple[torch.Tensor, dict]:
    """Maximise mean_members ||e(x') - e(x)||^2 / ||e(x)|| - w * perceptual(x, x') by
    `steps` signed-gradient steps from x + U(-init_noise, init_noise), clamped to [0, 1]."""
    x = images
    percept = perceptual_fn(perceptual, x)
    with torch.no_grad():
        clean = [_member_embeddings(f, x, blur_kernel, blur_sigma) for f in surrogates]
        norms = [e.norm(dim=2).clamp_min(1e-12) for e in clean]
    n_members = 2 * len(surrogates)

    def objective(xa: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = (
            sum(
                ((_member_embeddings(f, xa, blur_kernel, blur_sigma) - e).pow(2).sum(2) / nrm).sum(
                    0
                )
                for f, e, nrm in zip(surrogates, clean, norms)
            )
            / n_members
        )
        return feat, percept(xa)

    noise = torch.rand(x.shape, generator=generator).to(x.device) * 2 - 1
    xa = (x + init_noise * noise).clamp(0, 1)
    for _ in trange(steps, desc="lowkey", disable=not progress, leave=False):
        xa.requires_grad_(True)
        feat, perc = objective(xa)
        (grad,) = torch.autograd.grad((feat - perceptual_weight * perc).sum(), xa)
        xa = (xa.detach() + step_size * grad.sign()).clamp(0, 1)
    with torch.no_grad():
        feat, perc = objective(xa)
    info = {
        "feature_dist_end": feat.mean().item(),
        "perceptual_end": perc.mean().item(),
        "ensemble_members": n_members,
    }
    return xa, info
