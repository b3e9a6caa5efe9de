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
from .decoder import CoupledDecoder, DecoderOutput, require_several_tasks
from .hrnet_head import fuse_levels
from .mtinet import MultiModalDistillation


class PADNetDecoder(CoupledDecoder):
    """The joint PAD-Net decoder over all tasks (needs at least two jointly trained ones);
    ``width`` channels per task. ``attached`` tasks: see :class:`CoupledDecoder`."""

    def __init__(
        self, channels: Sequence[int], out_channels: dict[str, int], width: int = 256, attached: Sequence[str] = ()
    ) -> None:
        super().__init__(out_channels, attached)
        require_several_tasks("PAD-Net", {t: out_channels[t] for t in self.joint})
        total = sum(channels)
        self.total, self.width = total, width
        self.fuse = conv_bn_relu(total, total)
        self.initial_features = nn.ModuleDict()
        self.initial = nn.ModuleDict()
        self.distill = MultiModalDistillation(self.joint, width, receivers=())
        self.final = nn.ModuleDict()
        for t, k in out_channels.items():
            self.build_task(t, k)

    def build_task(self, name: str, out_channels: int) -> None:
        width = self.width
        self.initial_features[name] = nn.Sequential(Bottleneck(self.total, width), Bottleneck(width, width))
        self.initial[name] = nn.Conv2d(width, out_channels, 1)
        self.distill.add_receiver(name)
        self.final[name] = nn.Sequential(Bottleneck(width, width), Bottleneck(width, width), nn.Conv2d(width, out_channels, 1))

    def task_slots(self, name: str) -> list[tuple[nn.ModuleDict, str]]:
        adapters = [(self.distill.adapters, key) for key in self.distill.receiver_keys(name)]
        return [(self.initial_features, name), (self.initial, name), *adapters, (self.final, name)]

    def forward(self, features: Sequence, tasks: Sequence[str] | None = None) -> DecoderOutput:
        run = self.needed(tasks)
        out = run if tasks is None else [t for t in run if t in set(tasks)]
        shared = self.fuse(fuse_levels(features))
        task_features = {t: self.initial_features[t](shared) for t in run}
        deep = {t: [self.initial[t](task_features[t])] for t in out}
        distilled = self.distill({t: task_features[t] for t in out}, task_features)
        return {t: self.final[t](distilled[t]) for t in out}, deep
