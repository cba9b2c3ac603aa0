"""Small backbones for the quick profile (fast enough to train on two CPU cores)."""

from __future__ import annotations

from torch import nn


def _conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SmallCNN(nn.Module):
    """Plain VGG-style CNN: one conv per block, max-pool between blocks, GAP, linear embedding."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 128), embedding_dim: int = 128):
        super().__init__()
        layers, cin = [], 3
        for i, w in enumerate(widths):
            layers.append(_conv_bn(cin, w))
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            cin = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.embed = nn.Linear(cin, embedding_dim)

    def forward(self, x):
        return self.embed(self.pool(self.features(x)).flatten(1))


class _Residual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.skip = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.body(x) + self.skip(x))


class SmallResNet(nn.Module):
    """ResNet-style backbone: strided stem, one residual block per stage, GAP, BN-embedding."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128), embedding_dim: int = 128):
        super().__init__()
        self.stem = _conv_bn(3, widths[0], stride=2)
        stages, cin = [], widths[0]
        for i, w in enumerate(widths):
            stages.append(_Residual(cin, w, stride=1 if i == 0 else 2))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.embed = nn.Sequential(nn.Linear(cin, embedding_dim), nn.BatchNorm1d(embedding_dim))

    def forward(self, x):
        return self.embed(self.pool(self.stages(self.stem(x))).flatten(1))


class TinyViT(nn.Module):
    """A small vision transformer (timm's `VisionTransformer`): patches instead of
    convolutions, the architecture family of CLIP and of face models after 2021.

    `widths` = (embedding width, depth, patch size); 64 px pictures, mean-pooled tokens, a
    linear embedding with batch norm like `SmallResNet`'s.
    """

    def __init__(
        self, widths: tuple[int, ...] = (96, 4, 8), embedding_dim: int = 128, image_size: int = 64
    ):
        super().__init__()
        from timm.models.vision_transformer import VisionTransformer

        width, depth, patch = widths
        self.body = VisionTransformer(
            img_size=image_size,
            patch_size=patch,
            embed_dim=width,
            depth=depth,
            num_heads=max(1, width // 32),
            mlp_ratio=2.0,
            num_classes=0,
            global_pool="avg",
            class_token=False,
        )
        self.embed = nn.Sequential(nn.Linear(width, embedding_dim), nn.BatchNorm1d(embedding_dim))

    def forward(self, x):
        return self.embed(self.body(x))


ARCHITECTURES = {"cnn": SmallCNN, "resnet": SmallResNet, "vit": TinyViT}


def build_backbone(
    arch: str, widths: tuple[int, ...], embedding_dim: int, input_size: int = 64
) -> nn.Module:
    """Instantiate a backbone by name; unknown names raise a ValueError listing valid ones.
    `input_size` is the side of the (preprocessed) input; only transformers need it."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {arch!r}; valid: {', '.join(ARCHITECTURES)}")
    if arch == "vit":
        return TinyViT(tuple(widths), embedding_dim, input_size)
    return ARCHITECTURES[arch](tuple(widths), embedding_dim)
