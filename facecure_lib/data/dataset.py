"""The in-memory face dataset every loader returns, and its splits."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..cache import tensor_hash


@dataclass
class FaceDataset:
    """Pictures of labelled identities, held as uint8 [N, 3, H, W] (square) tensors.

    `labels[i]` indexes `identities` (the identity names). `paths` holds the source file of
    each picture when it came from disk (None for generated pictures).
    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    identities: list[str]
    paths: list[str] | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4 or self.images.shape[1] != 3:
            raise ValueError("images must be a uint8 tensor of shape [N, 3, H, W]")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError("labels must have one entry per image")
        self.labels = self.labels.long()

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def n_identities(self) -> int:
        return len(self.identities)

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    def float_images(
        self, idx: torch.Tensor | np.ndarray | list[int] | None = None
    ) -> torch.Tensor:
        """Pictures (all, or the given indices) as float32 in [0, 1]."""
        imgs = self.images if idx is None else self.images[torch.as_tensor(idx, dtype=torch.long)]
        return imgs.float().div_(255.0)

    def indices_of(self, label: int) -> torch.Tensor:
        """Indices of every picture of one identity."""
        return torch.nonzero(self.labels == int(label)).flatten()

    def fingerprint(self) -> str:
        """Short hash of the pictures and labels (used in cache keys and results files)."""
        return tensor_hash(self.images) + tensor_hash(self.labels, 8)

    def summary(self) -> dict:
        """The `data` block of a results file."""
        return {
            "name": self.name,
            "identities": self.n_identities,
            "images": len(self),
            "image_size": self.image_size,
            "fingerprint": self.fingerprint(),
        }


@dataclass(frozen=True)
class Split:
    """Per-identity 70/30 split: `train` pictures are scraped (gallery), `test` are probes."""

    train: torch.Tensor
    test: torch.Tensor


def split_per_identity(ds: FaceDataset, train_frac: float = 0.7, seed: int = 10) -> Split:
    """Seeded random split of each identity's pictures into train (scraped) and test (probes).

    Every identity keeps at least one picture on each side.
    """
    if not 0.0 < train_frac < 1.0:
        raise ValueError(f"train_frac must be in (0, 1), got {train_frac}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in range(ds.n_identities):
        idx = ds.indices_of(label).numpy()
        if len(idx) < 2:
            raise ValueError(
                f"identity {ds.identities[label]!r} has {len(idx)} picture(s); a 70/30 split "
                "needs at least 2 per identity."
            )
        idx = rng.permutation(idx)
        k = min(max(1, int(round(train_frac * len(idx)))), len(idx) - 1)
        train.append(idx[:k])
        test.append(idx[k:])
    return Split(
        torch.as_tensor(np.sort(np.concatenate(train))),
        torch.as_tensor(np.sort(np.concatenate(test))),
    )


def split_public_private(
    n_identities: int, n_public: int, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Seeded split of identity labels into public (trainer's own data) and private ones."""
    if not 0 < n_public < n_identities:
        raise ValueError(f"n_public must be between 1 and {n_identities - 1}, got {n_public}")
    perm = np.random.default_rng(seed).permutation(n_identities)
    return sorted(perm[:n_public].tolist()), sorted(perm[n_public:].tolist())


def choose_attackers(private: list[int], k: int, seed: int = 0) -> list[int]:
    """Seeded choice of k attacking users among the private identities."""
    if not 0 < k <= len(private):
        raise ValueError(f"k must be between 1 and {len(private)}, got {k}")
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(np.asarray(private), size=k, replace=False).tolist())


def subset(ds: FaceDataset, labels: list[int], name: str | None = None) -> FaceDataset:
    """A dataset restricted to some identities, relabelled 0..len(labels)-1."""
    labels = list(labels)
    remap = {old: new for new, old in enumerate(labels)}
    mask = torch.isin(ds.labels, torch.as_tensor(labels))
    idx = torch.nonzero(mask).flatten()
    new_labels = torch.as_tensor([remap[int(v)] for v in ds.labels[idx]])
    return FaceDataset(
        name or ds.name,
        ds.images[idx],
        new_labels,
        [ds.identities[i] for i in labels],
        [ds.paths[i] for i in idx.tolist()] if ds.paths else None,
        dict(ds.meta),
    )
