"""dlib's face descriptor (dlib_face_recognition_resnet_model_v1) as a PyTorch module.

The weights are face-api.js's port of dlib's network, vendored byte for byte from the npm
package `@vladmandic/face-api` (see `assets/dlib_resnet/NOTICE`): a tfjs weights manifest
(JSON) and one binary file, mostly uint8-quantised (value = min + scale * q). They are read
here with numpy and json only (no pickle) and sha256-checked before use.

The network (29 convolutions): a 7x7/2 'valid' stem and a 3x3/2 max pool, then residual
stages of 32, 64, 128 and 256 channels. Every convolution has a bias followed by a
per-channel affine `scale` (dlib's batch norm, folded). A "down" block has a 3x3/2 'valid'
convolution and a 2x2 average-pool shortcut whose missing channels are zeros; where the
pooled map is one pixel larger (even sizes), the residual branch gets a zero row and column
at the bottom and right, as face-api.js does. Mean over space, then fc 256 -> 128 (no bias).

Input normalisation: dlib (and the original face-api.js) compute (pixel - mean RGB) / 256 on
0..255 pixels; @vladmandic/face-api 1.7.15 divides by 255 instead. The extractor uses
dlib's 256, the scale the network was trained at; the parity test feeds the backbone the
255 version to compare with face-api.js exactly (see tests/test_dlib_resnet.py).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..cache import file_sha256
from .base import Extractor, ExtractorInfo

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets" / "dlib_resnet"
NPM_PACKAGE = "@vladmandic/face-api"
NPM_VERSION = "1.7.15"
BIN_FILE = "face_recognition_model.bin"
MANIFEST_FILE = "face_recognition_model-weights_manifest.json"
SHA256 = {
    BIN_FILE: "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
    MANIFEST_FILE: "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
}
REPAIR_HINT = (
    "restore it with `python scripts/fetch_dlib_weights.py` (from a source checkout) "
    "or reinstall the facecure-tutorials package"
)

MEAN_RGB = (122.782, 117.001, 104.298)  # dlib's input_rgb_image averages, 0..255 scale
INPUT_SCALE = 256.0  # dlib: (pixel - mean) / 256
SAME_PERSON_DISTANCE = 0.6  # dlib's Euclidean threshold for "same person"

DLIB_INFO = ExtractorInfo(
    name="dlib-resnet",
    profile="any",
    era=1,
    year=2017,
    input_size=150,
    embedding_dim=128,
    recipe="ResNet-34-style (29 conv layers), metric learning on ~3M faces "
    "(dlib 19.x, face-api.js port)",
    stands_for="a real pretrained face recogniser of the dlib era (2017) that Fawkes' "
    "authors also evaluated against",
    notes=f"weights vendored from npm {NPM_PACKAGE}@{NPM_VERSION} (MIT; dlib weights public "
    "domain); raw 128-d descriptors, same person when Euclidean distance < 0.6; "
    "expects aligned face crops (dlib's 150x150 chips), pictures of any size are resized",
    real=True,
)

# (name, in channels, out channels, down) of the residual blocks, in order
BLOCKS = (
    ("conv32_1", 32, 32, False),
    ("conv32_2", 32, 32, False),
    ("conv32_3", 32, 32, False),
    ("conv64_down", 32, 64, True),
    ("conv64_1", 64, 64, False),
    ("conv64_2", 64, 64, False),
    ("conv64_3", 64, 64, False),
    ("conv128_down", 64, 128, True),
    ("conv128_1", 128, 128, False),
    ("conv128_2", 128, 128, False),
    ("conv256_down", 128, 256, True),
    ("conv256_1", 256, 256, False),
    ("conv256_2", 256, 256, False),
    ("conv256_down_out", 256, 256, True),
)


class DlibWeightsError(ValueError):
    """The vendored dlib-resnet weight files are missing, damaged or do not fit the network."""


class ConvScale(nn.Module):
    """Convolution with bias, then a per-channel affine map (dlib's folded batch norm)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=True)
        self.scale = nn.Parameter(torch.ones(cout))
        self.shift = nn.Parameter(torch.zeros(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.scale.view(1, -1, 1, 1) + self.shift.view(1, -1, 1, 1)


class Residual(nn.Module):
    """Two 3x3 ConvScale layers plus a shortcut; `down` halves the size, pads channels."""

    def __init__(self, cin: int, cout: int, down: bool) -> None:
        super().__init__()
        self.down = down
        # stride-1 convs are tfjs 'same' (3x3: one pixel each side); stride-2 ones 'valid'
        self.conv1 = ConvScale(cin, cout, 3, 2 if down else 1, 0 if down else 1)
        self.conv2 = ConvScale(cout, cout, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.conv1(x)))
        if self.down:
            x = F.avg_pool2d(x, 2, 2)
            dh, dw = x.shape[-2] - out.shape[-2], x.shape[-1] - out.shape[-1]
            if dh or dw:  # even input size: the pooled map is one larger
                out = F.pad(out, (0, dw, 0, dh))
            if x.shape[1] != out.shape[1]:
                x = F.pad(x, (0, 0, 0, 0, 0, out.shape[1] - x.shape[1]))
        return F.relu(out + x)


class DlibResNet(nn.Module):
    """The network on normalised [B, 3, H, W] input (150x150 for dlib) -> [B, 128]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv32_down = ConvScale(3, 32, 7, 2, 0)
        self.blocks = nn.Sequential(
            OrderedDict((name, Residual(cin, cout, down)) for name, cin, cout, down in BLOCKS)
        )
        self.fc = nn.Linear(256, 128, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv32_down(x)), 3, 2)
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))


# ---------------------------------------------------------------- reading tfjs weights

_DTYPES = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4")}
_QUANT = {"uint8": np.dtype("u1"), "uint16": np.dtype("<u2")}


def _decode(raw: bytes, offset: int, spec: dict) -> tuple[np.ndarray, int]:
    """One tensor of a tfjs weights group: (float32 array, bytes consumed)."""
    shape = [int(s) for s in spec["shape"]]
    n = int(np.prod(shape, dtype=np.int64))
    quant = spec.get("quantization")
    if quant is not None:
        qtype = _QUANT.get(quant.get("dtype"))
        if qtype is None:
            raise ValueError(f"unsupported quantization {quant.get('dtype')!r}")
        q = np.frombuffer(raw, qtype, n, offset)
        # tfjs computes v * scale + min in double precision, stored as float32
        values = q.astype(np.float64) * float(quant["scale"]) + float(quant["min"])
        return values.astype(np.float32).reshape(shape), n * qtype.itemsize
    dtype = _DTYPES.get(spec["dtype"])
    if dtype is None:
        raise ValueError(f"unsupported dtype {spec['dtype']!r}")
    values = np.frombuffer(raw, dtype, n, offset).astype(np.float32)
    return values.reshape(shape), n * dtype.itemsize


def read_tfjs_weights(manifest_path: str | Path) -> dict[str, np.ndarray]:
    """Tensors of a tfjs weights manifest and its binary files (in the same folder)."""
    manifest_path = Path(manifest_path)
    groups = json.loads(manifest_path.read_text())
    out: dict[str, np.ndarray] = {}
    for group in groups:
        names = group["paths"]
        if any(Path(p).name != p for p in names):
            raise ValueError(f"weight file names must be plain file names, got {names}")
        raw = b"".join((manifest_path.parent / p).read_bytes() for p in names)
        offset = 0
        for spec in group["weights"]:
            out[spec["name"]], used = _decode(raw, offset, spec)
            offset += used
        if offset != len(raw):
            raise ValueError(f"{names}: {len(raw)} bytes, the manifest describes {offset}")
    return out


def _torch_name(tfjs_name: str) -> str:
    """'conv32_1/conv1/scale/weights' -> 'blocks.conv32_1.conv1.scale'."""
    if tfjs_name == "fc":
        return "fc.weight"
    *layer, kind, leaf = tfjs_name.split("/")
    attr = {
        ("conv", "filters"): "conv.weight",
        ("conv", "bias"): "conv.bias",
        ("scale", "weights"): "scale",
        ("scale", "biases"): "shift",
    }[(kind, leaf)]
    prefix = "" if layer == ["conv32_down"] else "blocks."
    return prefix + ".".join(layer + [attr])


def to_state_dict(tensors: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """tfjs layouts -> torch: filters [kh, kw, cin, cout] -> [cout, cin, kh, kw]; fc transposed."""
    sd = {}
    for name, value in tensors.items():
        t = torch.from_numpy(np.ascontiguousarray(value))
        if t.dim() == 4:
            t = t.permute(3, 2, 0, 1)
        elif t.dim() == 2:
            t = t.t()
        sd[_torch_name(name)] = t.contiguous()
    return sd


# ---------------------------------------------------------------- checked loading


def check_weight_files(weights_dir: str | Path | None = None) -> Path:
    """The folder of the two weight files, after checking both exist and match their sha256."""
    folder = Path(weights_dir) if weights_dir is not None else ASSETS_DIR
    for name, expected in SHA256.items():
        path = folder / name
        if not path.is_file():
            raise DlibWeightsError(f"dlib-resnet weight file {path} is missing; {REPAIR_HINT}.")
        digest = file_sha256(path)
        if digest != expected:
            raise DlibWeightsError(
                f"dlib-resnet weight file {path} is corrupted (sha256 {digest}, expected "
                f"{expected}); {REPAIR_HINT}."
            )
    return folder


def build_dlib_resnet(weights_dir: str | Path | None = None) -> DlibResNet:
    """The bare network (normalised input), filled from the checked weight files."""
    folder = check_weight_files(weights_dir)
    try:
        sd = to_state_dict(read_tfjs_weights(folder / MANIFEST_FILE))
        net = DlibResNet()
        net.load_state_dict(sd, strict=True)
    except (ValueError, KeyError, RuntimeError) as err:
        raise DlibWeightsError(
            f"cannot read the dlib-resnet weights in {folder} ({err}); {REPAIR_HINT}."
        ) from err
    return net.requires_grad_(False).eval()


def load_dlib_resnet(
    device: str | torch.device | None = None, weights_dir: str | Path | None = None
) -> Extractor:
    """dlib's face descriptor as an Extractor: [0, 1] pictures of any size -> raw 128-d.

    Descriptors are not L2-normalised: two faces are the same person for dlib when their
    Euclidean distance is below SAME_PERSON_DISTANCE (0.6). Differentiable in the input.
    """
    net = build_dlib_resnet(weights_dir)
    extractor = Extractor(
        net,
        DLIB_INFO.name,
        DLIB_INFO.input_size,
        mean=tuple(m / 255.0 for m in MEAN_RGB),
        std=(INPUT_SCALE / 255.0,) * 3,
        normalize=False,
        cache_key=f"{DLIB_INFO.name}-{SHA256[BIN_FILE][:16]}",
    )
    if device is not None:
        extractor = extractor.to(torch.device(device))
    return extractor.eval()
