"""PAD-Net (Xu, Ouyang, Wang, Sebe, CVPR 2018), as in the MTI-Net reference code.

The backbone levels are fused into one map at the finest resolution; per task two
bottlenecks give features and a deep-supervised initial prediction; multi-modal
distillation passes spatially-attended features between tasks; per task two more
bottlenecks and a conv1x1 give the final prediction. Like MTI-Net it couples the tasks.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from .blocks import Bottleneck, conv_bn_relu
from .decoder import DecoderOutput, require_several_tasks
from .hrnet_head import fuse_levels
from .mtinet import MultiModalDistillation


class PADNetDecoder(nn.Module):
    """The joint PAD-Net decoder over all tasks (needs at least two); ``width`` channels per task."""

    def __init__(self, channels: Sequence[int], out_channels: dict[str, int], width: int = 256) -> None:
        super().__init__()
        require_several_tasks("PAD-Net", out_channels)
        self.tasks = list(out_channels)
        total = sum(channels)
        self.fuse = conv_bn_relu(total, total)
        self.initial_features = nn.ModuleDict({t: nn.Sequential(Bottleneck(total, width), Bottleneck(width, width)) for t in self.tasks})
        self.initial = nn.ModuleDict({t: nn.Conv2d(width, k, 1) for t, k in out_channels.items()})
        self.distill = MultiModalDistillation(self.tasks, width)
        self.final = nn.ModuleDict(
            {t: nn.Sequential(Bottleneck(width, width), Bottleneck(width, width), nn.Conv2d(width, k, 1)) for t, k in out_channels.items()}
        )

    def forward(self, features: Sequence) -> DecoderOutput:
        shared = self.fuse(fuse_levels(features))
        task_features = {t: self.initial_features[t](shared) for t in self.tasks}
        deep = {t: [self.initial[t](task_features[t])] for t in self.tasks}
        distilled = self.distill(task_features)
        return {t: self.final[t](distilled[t]) for t in self.tasks}, deep
