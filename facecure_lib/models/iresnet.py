"""IResNet-50 (ArcFace's "improved residual" network) in the fused-BN form of InsightFace's
ONNX export, the layout of py-feat's `arcface_r50.safetensors` (WebFace600K weights).

InsightFace's training network has three batch norms per block; the export folds every batch
norm that follows a convolution into it (hence every convolution has a bias). What remains:

* stem: conv3x3(3 -> 64, bias) -> PReLU(64);
* 4 stages of [3, 4, 14, 3] blocks with 64, 128, 256, 512 channels; a block is
  `bn1 -> conv1 (3x3, bias) -> prelu -> conv2 (3x3, bias; stride 2 in a stage's first block)`
  plus a skip connection: identity, or a 1x1 convolution with bias and stride 2 in a stage's
  first block;
* head: `bn2 -> flatten -> fc (512*7*7 -> 512) -> features (BatchNorm1d(512), affine)`.

Input: 112x112 RGB scaled to [-1, 1]. Output: a 512-d embedding, not normalised.
Parameter names (`layer1.0.bn1.weight`, `layer1.0.downsample.weight`, `fc.weight`,
`features.running_mean`, `prelu.weight`, ...) are those of the released file.
"""

from __future__ import annotations

import torch
from torch import nn

IR50_BLOCKS = (3, 4, 14, 3)
WIDTHS = (64, 128, 256, 512)
BN_EPS = 1e-5


class FusedIBlock(nn.Module):
    """bn1 -> conv1 -> prelu -> conv2, plus the (possibly strided 1x1) skip connection."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in, eps=BN_EPS)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1, bias=True)
        self.prelu = nn.PReLU(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride, 1, bias=True)
        needs_projection = stride != 1 or c_in != c_out
        self.downsample = nn.Conv2d(c_in, c_out, 1, stride, bias=True) if needs_projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.downsample is None else self.downsample(x)
        return self.conv2(self.prelu(self.conv1(self.bn1(x)))) + skip


class IResNet(nn.Module):
    """The fused-BN IResNet; `blocks` per stage ((3, 4, 14, 3) is IResNet-50)."""

    def __init__(
        self, blocks: tuple[int, ...] = IR50_BLOCKS, embedding_dim: int = 512, input_size: int = 112
    ) -> None:
        super().__init__()
        if input_size % 16:
            raise ValueError(f"input_size must be a multiple of 16, got {input_size}")
        self.conv1 = nn.Conv2d(3, WIDTHS[0], 3, 1, 1, bias=True)
        self.prelu = nn.PReLU(WIDTHS[0])
        c_in = WIDTHS[0]
        for i, (n, c_out) in enumerate(zip(blocks, WIDTHS), start=1):
            stage = [FusedIBlock(c_in, c_out, 2)] + [
                FusedIBlock(c_out, c_out, 1) for _ in range(n - 1)
            ]
            self.add_module(f"layer{i}", nn.Sequential(*stage))
            c_in = c_out
        side = input_size // 16
        self.bn2 = nn.BatchNorm2d(c_in, eps=BN_EPS)
        self.fc = nn.Linear(c_in * side * side, embedding_dim)
        self.features = nn.BatchNorm1d(embedding_dim, eps=BN_EPS, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.prelu(self.conv1(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.features(self.fc(self.bn2(x).flatten(1)))


def iresnet50(embedding_dim: int = 512) -> IResNet:
    """IResNet-50 at 112x112 with random weights."""
    return IResNet(IR50_BLOCKS, embedding_dim, 112)
