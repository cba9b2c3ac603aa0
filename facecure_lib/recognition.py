"""The recognition protocol of the paper (§3.2, App. B.2): embed, 1-NN, protection rate.

A `Protocol` fixes the data: which identities are enrolled in the recogniser, their seeded
70/30 split into scraped (gallery) and probe pictures, and the attacking users. An attacker's
scraped pictures are replaced by its cloaked versions; its *protection rate* is the error of
the recogniser on its clean probe pictures. Clean accuracy is measured on everyone else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from .cache import cached_tensors, tensor_hash
from .config import get_device
from .data.dataset import FaceDataset, Split, choose_attackers, split_per_identity
from .models.base import Extractor
from .progress import tqdm

MODES = ("nn", "linear")


@torch.no_grad()
def embed(
    model: Extractor,
    images: torch.Tensor,
    batch_size: int = 256,
    device: torch.device | None = None,
    cache: bool = True,
    progress: bool = False,
) -> torch.Tensor:
    """Embeddings of pictures (uint8, or float in [0, 1]) as float32 on the CPU.

    Batched on the device; cached by the model's `cache_key` and the pictures' hash.
    """
    device = device or get_device()

    def build() -> dict[str, torch.Tensor]:
        was_training = model.training
        model.eval().to(device)
        out = []
        for i in tqdm(
            range(0, len(images), batch_size),
            desc=f"embedding ({model.name})",
            disable=not progress,
            leave=False,
        ):
            x = images[i : i + batch_size]
            x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
            out.append(model(x.to(device)).float().cpu())
        model.train(was_training)
        return {"emb": torch.cat(out) if out else torch.empty(0, 0)}

    key = {"model": model.cache_key, "images": tensor_hash(images)}
    return cached_tensors("embedding", key, build, enabled=cache and len(images) > 0)["emb"]


def nearest_neighbors(
    gallery: torch.Tensor, gallery_labels: torch.Tensor, probes: torch.Tensor, k: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k nearest *distinct identities* of each probe under Euclidean distance.

    Returns (labels [P, k], distances [P, k]); each identity is scored by its closest picture.
    """
    if gallery.shape[0] == 0:
        raise ValueError("empty gallery")
    d = torch.cdist(probes.float(), gallery.float())  # [P, G]
    labels = gallery_labels.long()
    n_id = int(labels.max()) + 1
    per_id = torch.full((d.shape[0], n_id), float("inf"))
    per_id.scatter_reduce_(1, labels.expand(d.shape[0], -1), d, reduce="amin")
    k = min(k, int(torch.isfinite(per_id[0]).sum()))
    dist, lab = per_id.topk(k, dim=1, largest=False)
    return lab, dist


def user_rows(
    gallery_labels: torch.Tensor, user: int, n_cloaked: int | None = None
) -> torch.Tensor:
    """Positions of a user's pictures in a gallery, in gallery order (the order of the user's
    cloaks); with `n_cloaked`, check that there is one cloak per scraped picture."""
    rows = torch.nonzero(gallery_labels == user).flatten()
    if n_cloaked is not None and n_cloaked != rows.numel():
        raise ValueError(
            f"user {user}: {n_cloaked} cloaked pictures for {rows.numel()} scraped ones"
        )
    return rows


def with_cloaks(
    gallery: torch.Tensor,
    gallery_labels: torch.Tensor,
    cloaks: Mapping[int, torch.Tensor],
    encode: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """A copy of a gallery (pictures, embeddings or per-picture flags) in which every user's
    scraped pictures are replaced by `encode(cloaks[user])` (default: the cloaks themselves),
    row for row. The one place where an attacker's cloaks enter a gallery."""
    out = gallery.clone()
    for user, pics in cloaks.items():
        rows = user_rows(gallery_labels, user, len(pics))
        out[rows] = (encode(pics) if encode is not None else pics).to(out.dtype)
    return out


@dataclass
class Protocol:
    """Enrolled identities, their 70/30 split, and the attacking users."""

    ds: FaceDataset
    split: Split
    identities: list[int]
    attackers: list[int]

    @classmethod
    def build(
        cls,
        ds: FaceDataset,
        identities: list[int],
        n_attackers: int,
        split_seed: int = 10,
        attacker_seed: int = 0,
    ) -> Protocol:
        """Seeded split (FaceCure uses `random.seed(10)`) and a seeded choice of attackers."""
        return cls(
            ds,
            split_per_identity(ds, 0.7, split_seed),
            sorted(identities),
            choose_attackers(sorted(identities), n_attackers, attacker_seed),
        )

    def _restrict(self, idx: torch.Tensor) -> torch.Tensor:
        return idx[torch.isin(self.ds.labels[idx], torch.as_tensor(self.identities))]

    @property
    def gallery_idx(self) -> torch.Tensor:
        return self._restrict(self.split.train)

    @property
    def probe_idx(self) -> torch.Tensor:
        return self._restrict(self.split.test)

    def user_train_idx(self, user: int) -> torch.Tensor:
        """Indices of a user's scraped pictures (the ones it cloaks), in a fixed order."""
        return self.split.train[self.ds.labels[self.split.train] == user]

    def user_test_idx(self, user: int) -> torch.Tensor:
        return self.split.test[self.ds.labels[self.split.test] == user]

    def user_train_images(self, user: int) -> torch.Tensor:
        """A user's scraped pictures as float [n, 3, H, W] in [0, 1] (what an attack cloaks)."""
        return self.ds.float_images(self.user_train_idx(user))


@dataclass
class ProtectionResult:
    """Protection rate per attacking user and on average, clean accuracy on the other
    identities, and each attacking user's own error when unprotected (`clean_per_user`)."""

    per_user: dict[int, float]
    clean_accuracy: float
    n_probes: dict[int, int] = field(default_factory=dict)
    mode: str = "nn"
    clean_per_user: dict[int, float] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(list(self.per_user.values()))) if self.per_user else float("nan")

    @property
    def clean_error(self) -> float:
        """The model's error on the same users' probes when they post clean pictures (what
        excess protection subtracts); 1 - clean accuracy on the others when not measured."""
        if self.clean_per_user:
            return float(np.mean(list(self.clean_per_user.values())))
        return 1.0 - self.clean_accuracy

    @property
    def excess_per_user(self) -> list[float]:
        """Per user: protection rate minus that user's clean error (paired)."""
        return [p - self.clean_per_user.get(u, self.clean_error) for u, p in self.per_user.items()]

    def to_dict(self) -> dict:
        return {
            "protection_rate": self.mean,
            "protection_rate_per_user": list(self.per_user.values()),
            "users": list(self.per_user),
            "clean_accuracy": self.clean_accuracy,
            "clean_error": self.clean_error,
            "clean_error_per_user": list(self.clean_per_user.values()),
            "mode": self.mode,
        }


def _linear_probe_predict(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray
) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=300, C=10.0)
    clf.fit(train_x, train_y)
    return clf.predict(test_x)


def evaluate_protection(
    model: Extractor,
    protocol: Protocol,
    cloaks: Mapping[int, torch.Tensor] | None = None,
    mode: str = "nn",
    device: torch.device | None = None,
    progress: bool = False,
) -> ProtectionResult:
    """Protection rate of each attacker whose cloaked scraped pictures are in `cloaks`.

    `cloaks[user]` replaces `protocol.user_train_images(user)` (same order) in the gallery;
    users missing from `cloaks` are evaluated unprotected. `mode` is "nn" (1-NN, Euclidean)
    or "linear" (logistic regression on frozen embeddings, App. C.1).
    """
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; valid: {', '.join(MODES)}")
    cloaks = dict(cloaks or {})
    unknown = set(cloaks) - set(protocol.attackers)
    if unknown:
        raise ValueError(f"cloaks given for users that are not attackers: {sorted(unknown)}")
    ds = protocol.ds
    g_idx, p_idx = protocol.gallery_idx, protocol.probe_idx
    emb_all = embed(model, ds.images, device=device)
    g_emb, g_lab = emb_all[g_idx], ds.labels[g_idx]
    p_emb, p_lab = emb_all[p_idx], ds.labels[p_idx]

    def predict(gallery: torch.Tensor, probes: torch.Tensor) -> torch.Tensor:
        if mode == "nn":
            return nearest_neighbors(gallery, g_lab, probes, 1)[0][:, 0]
        return torch.as_tensor(
            _linear_probe_predict(gallery.numpy(), g_lab.numpy(), probes.numpy())
        )

    others = ~torch.isin(p_lab, torch.as_tensor(protocol.attackers))
    clean_acc = float((predict(g_emb, p_emb[others]) == p_lab[others]).float().mean())
    per_user, n_probes, clean_per_user = {}, {}, {}
    clean_pred = predict(g_emb, p_emb) if mode == "nn" else None
    for user in tqdm(protocol.attackers, desc="attacking users", disable=not progress, leave=False):
        mine_cloaks = {user: cloaks[user]} if user in cloaks else {}
        gallery = with_cloaks(g_emb, g_lab, mine_cloaks, lambda c: embed(model, c, device=device))
        mine = p_lab == user
        pred = predict(gallery, p_emb[mine])
        per_user[user] = float((pred != user).float().mean())
        plain = clean_pred[mine] if clean_pred is not None else predict(g_emb, p_emb[mine])
        clean_per_user[user] = float((plain != user).float().mean())
        n_probes[user] = int(mine.sum())
    return ProtectionResult(per_user, clean_acc, n_probes, mode, clean_per_user)


def clean_accuracy(
    model: Extractor, protocol: Protocol, device: torch.device | None = None
) -> float:
    """1-NN accuracy on every enrolled identity's probes with a clean gallery."""
    emb = embed(model, protocol.ds.images, device=device)
    g, p = protocol.gallery_idx, protocol.probe_idx
    pred = nearest_neighbors(emb[g], protocol.ds.labels[g], emb[p], 1)[0][:, 0]
    return float((pred == protocol.ds.labels[p]).float().mean())
