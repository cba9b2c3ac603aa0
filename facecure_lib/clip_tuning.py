"""CLIP fine-tuned on faces, and its interpolation back to zero-shot CLIP (paper App. B.3).

open_clip's ViT-B/32 (both towers, OpenAI weights in the paper profile) is fine-tuned on
the public identities with CLIP's own contrastive loss: every picture is paired with the
caption "A photograph of user #X." of its identity X, and the loss is the symmetric InfoNCE
of CLIP (cross-entropy over picture-to-caption and caption-to-picture cosine similarities,
scaled by CLIP's learned logit scale). Batches hold distinct identities where possible;
pictures of one identity in the same batch share a caption, so the target is spread evenly
over them. AdamW with a cosine schedule. The tuned image tower is an `Extractor` with the
zero-shot one's architecture, so `interpolation.interpolated_extractor(generic, tuned, a)`
gives theta = a * tuned + (1 - a) * zero-shot. Tuned weights are cached by everything that
determines them (base weights, pictures, labels, config).
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .budget import capped_config
from .cache import artefact_path, config_hash, load_weights, save_tensors, tensor_hash
from .download import ASSETS
from .interpolation import interpolated_extractor
from .models.base import Extractor, ExtractorInfo
from .models.pretrained import (
    CLIP_MEAN,
    CLIP_STD,
    PRETRAINED,
    create_open_clip,
    load_strict,
    read_state_dict,
    weights_cache_key,
    weights_file,
)
from .progress import trange

TUNING_VERSION = 1  # bump when the training loop changes, so cached weights are rebuilt
BASE = "clip-vit-b32-openai"
TUNED_NAME = "clip-vit-b32-faces"
TUNED_INFO = ExtractorInfo(
    name=TUNED_NAME,
    profile="paper",
    era=3,
    year=2022,
    input_size=224,
    embedding_dim=512,
    recipe="CLIP ViT-B/32 (OpenAI) fine-tuned on the public identities: contrastive loss "
    "with captions 'A photograph of user #X.', AdamW (clip_tuning)",
    stands_for="CLIP fine-tuned on faces (paper App. B.3): the trainer's own newer model",
    notes="trained by this package on the scenario's public identities; both towers tuned, "
    "the image tower is the extractor",
    real=True,
)
# OpenAI's TorchScript release keeps these model constants among its tensors
_OPENAI_CONSTANTS = ("input_resolution", "context_length", "vocab_size")


@dataclass(frozen=True)
class ClipTuningConfig:
    """Everything that determines the fine-tuning besides the base weights and the data."""

    steps: int = 500
    batch_size: int = 64
    lr: float = 1e-5
    weight_decay: float = 0.1
    caption: str = "A photograph of user #{}."
    flip: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 2 or self.lr <= 0:
            raise ValueError("steps must be >= 1, batch_size >= 2 and lr > 0")
        if "{}" not in self.caption:
            raise ValueError(f"caption must contain '{{}}' for the user number: {self.caption!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class ClipPair(NamedTuple):
    """Zero-shot and face-tuned image towers of the same CLIP, and the training losses."""

    generic: Extractor
    tuned: Extractor
    losses: list[float]


def contrastive_loss(
    image_emb: torch.Tensor, text_emb: torch.Tensor, labels: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """Symmetric InfoNCE of CLIP; captions of the same identity count as one match."""
    img, txt = F.normalize(image_emb, dim=1), F.normalize(text_emb, dim=1)
    logits = logit_scale.exp().clamp(max=100.0) * img @ txt.T
    same = (labels[:, None] == labels[None, :]).float()
    targets = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


def sample_batch(labels: torch.Tensor, batch_size: int, g: torch.Generator) -> torch.Tensor:
    """Picture indices: one random picture of each of up to `batch_size` random identities,
    topped up with random pictures when there are fewer identities than `batch_size`."""
    ids = torch.unique(labels)
    chosen = ids[torch.randperm(len(ids), generator=g)[:batch_size]]
    picks = []
    for i in chosen.tolist():
        where = torch.nonzero(labels == i).flatten()
        picks.append(where[torch.randint(len(where), (1,), generator=g)])
    if len(picks) < batch_size:
        picks.append(torch.randint(len(labels), (batch_size - len(picks),), generator=g))
    return torch.cat(picks)


def load_clip(
    pretrained: str | None = BASE, weights_path: str | None = None, seed: int = 0
) -> tuple[nn.Module, str]:
    """A whole open_clip ViT-B/32 and the cache key of its weights.

    `pretrained`: a registered open_clip extractor whose asset holds both towers, or None
    for random weights (seeded; tests)."""
    if pretrained is None:
        torch.manual_seed(seed)
        return create_open_clip("ViT-B-32", quick_gelu=True), f"{BASE}-random-seed{seed}"
    spec = PRETRAINED.get(pretrained)
    if spec is None or spec.family != "open_clip":
        names = [n for n, s in PRETRAINED.items() if s.family == "open_clip"]
        raise ValueError(f"{pretrained!r} is not an open_clip model; valid: {', '.join(names)}")
    model = create_open_clip(spec.arch, spec.quick_gelu)
    path = weights_file(pretrained, weights_path)
    sd = read_state_dict(path, trusted_sha256=ASSETS[spec.asset].sha256)
    sd = {k.removeprefix("module."): v for k, v in sd.items() if k not in _OPENAI_CONSTANTS}
    load_strict(model, sd, str(path), f"{pretrained} (both towers)")
    return model, weights_cache_key(pretrained, path)


def image_extractor(visual: nn.Module, name: str, cache_key: str) -> Extractor:
    """A CLIP image tower as an `Extractor` (224 px, CLIP's mean and std)."""
    return Extractor(visual, name, 224, CLIP_MEAN, CLIP_STD, normalize=True, cache_key=cache_key)


def tuning_key(base_key: str, images: torch.Tensor, labels: torch.Tensor, config) -> str:
    """The cache key of tuned weights: base weights, pictures, labels, config, version."""
    return config_hash(
        {
            "version": TUNING_VERSION,
            "base": base_key,
            "images": tensor_hash(images),
            "labels": tensor_hash(labels),
            "config": config.to_dict(),
        }
    )


def fine_tune_clip(
    images: torch.Tensor,
    labels: torch.Tensor,
    config: ClipTuningConfig | None = None,
    *,
    pretrained: str | None = BASE,
    weights_path: str | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    cache: bool = True,
) -> ClipPair:
    """Fine-tune CLIP on (uint8 pictures, identity labels); see the module docstring.

    Returns the zero-shot image tower (`generic`), the tuned one (`tuned`, named
    `TUNED_NAME`) and the loss of every step (from the cache when the same tuning ran before).
    """
    config = capped_config(config or ClipTuningConfig(), "steps")
    device = torch.device(device or "cpu")
    model, base_key = load_clip(pretrained, weights_path, config.seed)
    generic = image_extractor(copy.deepcopy(model.visual), pretrained or BASE, base_key)
    key = tuning_key(base_key, images, labels, config)
    path = artefact_path("clip_tuned", key)
    tuned = image_extractor(model.visual, TUNED_NAME, f"{TUNED_NAME}-{key}")
    meta = load_weights(tuned, path, "fine-tuning again") if cache else None
    if meta is not None:
        losses = list(meta.get("losses", []))
    else:
        losses = train_contrastive(model, tuned, images, labels, config, device, progress)
        if cache:
            save_tensors(path, tuned.state_dict(), {"base": base_key, "losses": losses})
    return ClipPair(_frozen(generic, device), _frozen(tuned, device), losses)


def train_contrastive(
    model: nn.Module,
    image_tower: Extractor,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: ClipTuningConfig,
    device: torch.device,
    progress: bool = True,
) -> list[float]:
    """The training loop (both towers and the logit scale): a loss per step."""
    import open_clip

    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    names = torch.unique(labels).tolist()
    captions = tokenizer([config.caption.format(i) for i in names]).to(device)
    row = {n: i for i, n in enumerate(names)}
    model.to(device).train()
    image_tower.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    g = torch.Generator().manual_seed(config.seed)
    losses = []
    for step in trange(config.steps, desc="fine-tuning CLIP", disable=not progress, leave=False):
        for group in opt.param_groups:  # cosine schedule
            group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * step / config.steps))
        idx = sample_batch(labels, config.batch_size, g)
        x = images[idx].float().div(255).to(device)
        if config.flip:
            flip = torch.rand(len(idx), generator=g) < 0.5
            x[flip.to(device)] = x[flip.to(device)].flip(-1)
        y = labels[idx].to(device)
        text_rows = torch.as_tensor([row[int(v)] for v in labels[idx]], device=device)
        img = image_tower.backbone(image_tower.preprocess(x))
        txt = model.encode_text(captions[text_rows])
        loss = contrastive_loss(img, txt, y, model.logit_scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def _frozen(ext: Extractor, device: torch.device) -> Extractor:
    for p in ext.parameters():
        p.requires_grad_(False)
    return ext.to(device).eval()


def clip_interpolation(pair: ClipPair, alpha: float) -> Extractor:
    """theta = alpha * tuned + (1 - alpha) * zero-shot (paper App. B.3), as an Extractor."""
    return interpolated_extractor(pair.generic, pair.tuned, alpha)
