"""One object that every notebook starts from: the faces, who is public, who attacks.

The trainer owns the *public* identities (it trains extractors and robust models on them);
the recogniser enrols the *private* identities, among which the attacking users are chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import check_profile
from .data.dataset import FaceDataset, split_public_private
from .data.generate import generate_faces
from .profiles import get_profile
from .recognition import Protocol


@dataclass
class Scenario:
    """Faces + public/private identities + the recognition protocol on the private ones."""

    profile: str
    seed: int
    ds: FaceDataset
    public: list[int]
    private: list[int]
    protocol: Protocol

    @property
    def public_images(self) -> torch.Tensor:
        """uint8 pictures of the public identities (the trainer's own labelled data)."""
        return self.ds.images[self._public_mask]

    @property
    def public_labels(self) -> torch.Tensor:
        """Labels of `public_images`, renumbered 0..n_public-1."""
        remap = torch.full((self.ds.n_identities,), -1, dtype=torch.long)
        remap[torch.as_tensor(self.public)] = torch.arange(len(self.public))
        return remap[self.ds.labels[self._public_mask]]

    @property
    def _public_mask(self) -> torch.Tensor:
        return torch.isin(self.ds.labels, torch.as_tensor(self.public))

    def data_key(self) -> dict:
        """What determines the trainer's data (part of every trained model's cache key)."""
        return {"data": self.ds.fingerprint(), "public": self.public}

    def describe(self) -> str:
        """One sentence saying what the scenario holds (for the top of a notebook)."""
        ds, n = self.ds, len(self.ds)
        return (
            f"{ds.n_identities} {ds.name} identities, {n} pictures of {ds.image_size} px: "
            f"{len(self.public)} public (the trainer's own), {len(self.private)} private "
            f"(enrolled in the recogniser), {len(self.protocol.attackers)} of them attacking "
            "users."
        )

    def summary(self) -> dict:
        """The `data` block of a results file."""
        return {
            **self.ds.summary(),
            "public_identities": len(self.public),
            "private_identities": len(self.private),
            "attackers": self.protocol.attackers,
        }


def load_scenario(
    profile: str | None = None,
    seed: int = 0,
    n_identities: int | None = None,
    pictures_per_identity: int | None = None,
    image_size: int | None = None,
    n_public: int | None = None,
    n_attackers: int | None = None,
    dataset: FaceDataset | None = None,
    progress: bool = True,
) -> Scenario:
    """Build the scenario of a profile (sizes default to the profile's settings).

    Quick: generated identities. Paper: pass `dataset` (e.g. `load_lfw()` or
    `load_identity_folder(...)`); half of its identities become public by default.
    """
    profile = check_profile(profile)
    s = get_profile(profile).sizes
    if dataset is None:
        if profile == "paper":
            raise ValueError(
                "The paper profile needs real faces: pass dataset=load_lfw() (downloads LFW) or "
                "dataset=load_identity_folder('path/to/faces') (one sub-folder per identity). "
                "Offline, use PROFILE='quick'."
            )
        dataset = generate_faces(
            n_identities or s.n_identities,
            pictures_per_identity or s.pictures_per_identity,
            image_size or s.image_size,
            seed=seed,
            progress=progress,
        )
    n_public = (
        n_public
        if n_public is not None
        else (s.n_public if profile == "quick" else dataset.n_identities // 2)
    )
    public, private = split_public_private(dataset.n_identities, n_public, seed=seed)
    k = n_attackers if n_attackers is not None else min(s.n_attackers, len(private))
    protocol = Protocol.build(dataset, private, k, split_seed=10, attacker_seed=seed)
    return Scenario(profile, seed, dataset, public, private, protocol)
