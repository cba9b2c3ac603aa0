"""How realistic is a face dataset for a recogniser? Distances, 1-NN, and a pixel baseline.

`realism_report` tells whether a recogniser separates the identities of a dataset the way it
separates real people: its 1-NN accuracy, its same- and different-identity distance
distributions, and how many different-identity pairs it would call the same person (for
dlib-resnet: Euclidean distance under 0.6). `pixel_lda_accuracy` is the reference for how
much of the identity lives in raw colours and pixels alone.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .data.dataset import FaceDataset
from .models.base import Extractor
from .models.dlib_resnet import SAME_PERSON_DISTANCE
from .recognition import embed, nearest_neighbors


def gallery_split(
    labels: torch.Tensor, train_per_identity: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded per-identity split: `train_per_identity` gallery pictures each, the rest probes."""
    rng = np.random.default_rng(seed)
    gallery, probes = [], []
    for label in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == label).flatten().numpy()
        if not 0 < train_per_identity < len(idx):
            raise ValueError(
                f"identity {label} has {len(idx)} pictures; train_per_identity "
                f"must be between 1 and {len(idx) - 1}, got {train_per_identity}"
            )
        idx = rng.permutation(idx)
        gallery.append(idx[:train_per_identity])
        probes.append(idx[train_per_identity:])
    return (
        torch.as_tensor(np.sort(np.concatenate(gallery))),
        torch.as_tensor(np.sort(np.concatenate(probes))),
    )


def default_train_per_identity(labels: torch.Tensor, fraction: float = 0.7) -> int:
    """Gallery pictures per identity when none is given: 70% of the smallest identity's
    pictures (14 of the quick profile's 20), and at least one probe each."""
    smallest = int(torch.unique(labels, return_counts=True)[1].min())
    return max(1, min(smallest - 1, int(fraction * smallest)))


def nn_accuracy(
    features: torch.Tensor, labels: torch.Tensor, gallery: torch.Tensor, probes: torch.Tensor
) -> float:
    """1-NN (Euclidean) accuracy of the probes against the gallery."""
    pred, _ = nearest_neighbors(features[gallery], labels[gallery], features[probes], k=1)
    return float((pred[:, 0] == labels[probes]).float().mean())


def pair_distances(
    features: torch.Tensor, labels: torch.Tensor, chunk: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """Euclidean distances of every unordered pair: (same-identity, different-identity)."""
    same, diff = [], []
    x = features.float()
    for start in range(0, len(x), chunk):
        d = torch.cdist(x[start : start + chunk], x)
        rows = torch.arange(start, start + len(d)).view(-1, 1)
        upper = torch.arange(len(x)).view(1, -1) > rows
        same_id = labels[start : start + len(d)].view(-1, 1) == labels.view(1, -1)
        same.append(d[upper & same_id])
        diff.append(d[upper & ~same_id])
    return torch.cat(same), torch.cat(diff)


def _stats(d: torch.Tensor, threshold: float) -> tuple[float, float, float]:
    if len(d) == 0:
        return float("nan"), float("nan"), float("nan")
    return float(d.mean()), float(d.median()), float((d < threshold).float().mean())


def realism_report(
    extractor: Extractor,
    dataset: FaceDataset,
    train_per_identity: int | None = None,
    seed: int = 0,
    threshold: float = SAME_PERSON_DISTANCE,
) -> dict:
    """1-NN accuracy and same/different-identity distance statistics of a recogniser.

    `*_under_threshold`: fraction of pairs closer than `threshold` (would be called the same
    person). Distances are Euclidean on the extractor's output as it is (raw for dlib).
    """
    train_per_identity = train_per_identity or default_train_per_identity(dataset.labels)
    gallery, probes = gallery_split(dataset.labels, train_per_identity, seed)
    features = embed(extractor, dataset.images, cache=False)
    same, diff = pair_distances(features, dataset.labels)
    same_mean, same_median, same_under = _stats(same, threshold)
    diff_mean, diff_median, diff_under = _stats(diff, threshold)
    return {
        "model": extractor.name,
        "nn_accuracy": nn_accuracy(features, dataset.labels, gallery, probes),
        "train_per_identity": train_per_identity,
        "gallery": len(gallery),
        "probes": len(probes),
        "threshold": threshold,
        "same_mean": same_mean,
        "same_median": same_median,
        "same_under_threshold": same_under,
        "diff_mean": diff_mean,
        "diff_median": diff_median,
        "diff_under_threshold": diff_under,
        "same_pairs": len(same),
        "diff_pairs": len(diff),
    }


def pixel_features(dataset: FaceDataset, size: int = 16) -> np.ndarray:
    """Pictures downsampled (area average) to size x size, flattened, in [0, 1]."""
    x = F.interpolate(dataset.float_images(), size=(size, size), mode="area")
    return x.flatten(1).numpy().astype(np.float64)


def pixel_lda_accuracy(
    dataset: FaceDataset,
    train_per_identity: int | None = None,
    seed: int = 0,
    size: int = 16,
    mode: str = "linear",
) -> float:
    """How much identity lives in raw pixels: accuracy of LDA on size x size pictures.

    LDA (Ledoit-Wolf shrinkage, which keeps it stable when pixels outnumber pictures) is fit
    on the gallery; `mode` "linear" scores its own classifier, "nn" 1-NN in its projection.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    if mode not in ("nn", "linear"):
        raise ValueError(f"mode must be 'nn' or 'linear', got {mode!r}")
    train_per_identity = train_per_identity or default_train_per_identity(dataset.labels)
    gallery, probes = gallery_split(dataset.labels, train_per_identity, seed)
    x = pixel_features(dataset, size)
    y = dataset.labels.numpy()
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto")
    lda.fit(x[gallery.numpy()], y[gallery.numpy()])
    if mode == "linear":
        return float((lda.predict(x[probes.numpy()]) == y[probes.numpy()]).mean())
    z = torch.from_numpy(lda.transform(x)).float()
    return nn_accuracy(z, dataset.labels, gallery, probes)
