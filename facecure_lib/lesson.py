"""Notebook 00's "how a cloak is made": the attacks' budgets as a table, one picture to
cloak, and what a cloak does to that picture in a model's feature space.

The student's cloak (exercise `push_away`) is measured on two models of the profile: the one
it was made against (white-box) and one it never saw. For each, `shift_report` says how far
the picture's embedding moved, compared with how far apart two pictures of the same person
and of different people are, and whom the 1-NN rule names for the cloaked picture.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import pandas as pd
import torch

from .attacks import ATTACKS, attack_params
from .models.base import Extractor
from .recognition import Protocol, embed

Nearest = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def attack_budgets(profile: str) -> pd.DataFrame:
    """One row per attack (its default mode in `profile`): targeted or not, the surrogates
    it is crafted against, its budget (DSSIM threshold, largest pixel change) and its steps.
    Configuration read from the attack registry and the profile, not results."""
    from .profiles import get_profile

    p = get_profile(profile)
    rows = []
    for name, spec in ATTACKS.items():
        mode, params, _ = attack_params(name, None, profile)
        budget = []
        if "th" in params:
            budget.append(f"DSSIM <= {params['th']:g}")
        if params.get("max_change"):
            budget.append(f"pixel change <= {params['max_change'] * 255:.0f}/255")
        if "perceptual_weight" in params:
            budget.append(f"penalty {params['perceptual_weight']:g} x perceptual distance")
        rows.append(
            {
                "attack": name,
                "mode": mode,
                "targeted": spec.targeted,
                "surrogates": ", ".join(p.surrogate_names(name)),
                "budget": "; ".join(budget),
                "steps": params["steps"],
            }
        )
    return pd.DataFrame(rows).set_index("attack")


@dataclass(frozen=True)
class ShiftReport:
    """What a cloak did to one picture in one model's feature space.

    `shift`: distance between the clean and the cloaked picture's embeddings.
    `same_person`: median distance from the clean picture to the user's other gallery
    pictures; `other_person`: distance to the nearest gallery picture of someone else.
    `*_label`: the user's identity and whom the 1-NN rule names for the clean and the
    cloaked picture (gallery: every other clean gallery picture).
    """

    model: str
    shift: float
    same_person: float
    other_person: float
    true_label: int
    clean_label: int
    cloaked_label: int

    @property
    def fooled(self) -> bool:
        """The 1-NN rule names someone else for the cloaked picture."""
        return self.cloaked_label != self.true_label

    @property
    def clean_recognised(self) -> bool:
        return self.clean_label == self.true_label

    def to_dict(self) -> dict:
        return {**asdict(self), "fooled": self.fooled}


def _gallery(
    model: Extractor, protocol: Protocol, exclude: int, device: torch.device | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings and labels of the clean gallery without picture `exclude` (the whole
    gallery is embedded once and cached)."""
    idx = protocol.gallery_idx
    emb = embed(model, protocol.ds.images[idx], device=device)
    keep = idx != exclude
    return emb[keep], protocol.ds.labels[idx][keep].long()


def _embed_one(model: Extractor, picture: torch.Tensor, device: torch.device | None):
    return embed(model, picture, device=device, cache=False)


def pick_picture(
    models: Mapping[str, Extractor],
    protocol: Protocol,
    device: torch.device | None = None,
    nearest: Nearest | None = None,
) -> tuple[int, int]:
    """(user, dataset index) of the first scraped picture of an attacking user that every
    model names correctly when clean, so that a change of name can only come from the
    cloak; the first attacker's first picture if there is none."""
    from .exercises.nb00 import solution_nearest_identity

    nearest = nearest or solution_nearest_identity
    candidates = [(u, int(i)) for u in protocol.attackers for i in protocol.user_train_idx(u)]
    for user, i in candidates:
        ok = True
        for model in models.values():
            g, labels = _gallery(model, protocol, i, device)
            q = _embed_one(model, protocol.ds.images[i : i + 1], device)
            ok &= int(torch.as_tensor(nearest(q, g, labels))[0]) == user
        if ok:
            return user, i
    return candidates[0]


def shift_report(
    model: Extractor,
    name: str,
    protocol: Protocol,
    index: int,
    cloaked: torch.Tensor,
    device: torch.device | None = None,
    nearest: Nearest | None = None,
) -> ShiftReport:
    """How far the cloak moved picture `index` (dataset index, cloaked version `cloaked`
    [1, 3, H, W] in [0, 1]) in `model`'s feature space, and whom 1-NN names for it."""
    from .exercises.nb00 import solution_nearest_identity

    nearest = nearest or solution_nearest_identity
    user = int(protocol.ds.labels[index])
    g, labels = _gallery(model, protocol, index, device)
    clean = _embed_one(model, protocol.ds.images[index : index + 1], device)
    moved = _embed_one(model, cloaked.detach().float().cpu(), device)
    d = torch.cdist(clean, g)[0]
    mine = labels == user
    return ShiftReport(
        model=name,
        shift=float((moved - clean).norm()),
        same_person=float(d[mine].median()) if mine.any() else float("nan"),
        other_person=float(d[~mine].min()),
        true_label=user,
        clean_label=int(torch.as_tensor(nearest(clean, g, labels))[0]),
        cloaked_label=int(torch.as_tensor(nearest(moved, g, labels))[0]),
    )
