"""The HRNet segmentation head, used per task by the MTL / STL baselines and by MTI-Net."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .blocks import conv_bn_relu, resize_to
from .decoder import TaskHead


def fuse_levels(features: Sequence[torch.Tensor]) -> torch.Tensor:
    """Upsample every level to the finest one and concatenate along channels."""
    size = features[0].shape[-2:]
    return torch.cat([resize_to(f, size) for f in features], dim=1)


class HRNetHead(TaskHead):
    """Concat all levels at the finest resolution, conv1x1+BN+ReLU, conv1x1 to the outputs."""

    def __init__(self, channels: Sequence[int], out_channels: int) -> None:
        super().__init__()
        total = sum(channels)
        self.fuse = conv_bn_relu(total, total)
        self.classifier = nn.Conv2d(total, out_channels, 1)

    def forward(self, features: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self.classifier(self.fuse(fuse_levels(features))), []
