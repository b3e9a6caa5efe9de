"""MTI-Net (Vandenhende, Georgoulis, Van Gool, ECCV 2020), following its reference design.

Per scale, coarse to fine: initial task predictions (deep-supervised) whose inputs at finer
scales include the propagated task features of the coarser scale; a feature propagation
module (FPM) at every scale but the finest; multi-modal distillation at every scale; then a
per-task HRNet head aggregating the four distilled scales. The modules couple the tasks:
adding or removing a task changes every one of them. A task *attached* after training
(``attached``; see :class:`~medusa_zoo.heads.decoder.CoupledDecoder`) gets its own refinement,
initial prediction, FPM gate, distillation adapters (from every joint task) and HRNet head;
the FPMs' shared mask and reduction stay those of the joint tasks. *Auxiliary* tasks
(``auxiliary``) are supervised inside the decoder only, as the reference code's NYUD setting
trains normals and edges: see :class:`MTINetDecoder`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ..errors import IncompatibleConfigError
from .blocks import BasicBlock, SEBlock, basic_blocks, resize_to
from .decoder import CoupledDecoder, DecoderOutput, require_several_tasks
from .hrnet_head import HRNetHead
from .options import check_auxiliary


class FeaturePropagation(nn.Module):
    """Shares task features across tasks: a softmax-over-tasks mask on the concatenation of the
    ``tasks``' features, reduced to one shared map, then a per-task SE gate plus each task's own
    features. ``receivers`` (default: the ``tasks``) get a gate on the shared map; a task
    attached later only receives."""

    def __init__(self, tasks: Sequence[str], channels: int, receivers: Sequence[str] | None = None) -> None:
        super().__init__()
        self.tasks = list(tasks)
        self.channels = channels
        shared = channels * len(self.tasks)
        self.mask = nn.Sequential(
            BasicBlock(shared, shared // 4), BasicBlock(shared // 4, shared // 4), nn.Conv2d(shared // 4, shared, 1)
        )
        self.reduce = BasicBlock(shared, channels)
        self.gates = nn.ModuleDict({t: SEBlock(channels) for t in (self.tasks if receivers is None else receivers)})

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        concat = torch.cat([features[t] for t in self.tasks], dim=1)
        b, _, h, w = concat.shape
        n = len(self.tasks)
        weights = self.mask(concat).view(b, n, -1, h, w).softmax(dim=1)
        shared = self.reduce((weights * concat.view(b, n, -1, h, w)).view(b, -1, h, w))
        return {t: self.gates[t](shared) + features[t] for t in features}


class SpatialAttentionAdapter(nn.Module):
    """``conv3x3(x) * sigmoid(conv3x3(x))``: what one task passes to another."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.features = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.attention = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x) * torch.sigmoid(self.attention(x))


class MultiModalDistillation(nn.Module):
    """``out_t = feat_t + sum over a != t of adapter_{t<-a}(feat_a)``, ``a`` over the ``tasks``,
    for every receiver ``t`` (default: the ``tasks``; a task attached later only receives)."""

    def __init__(self, tasks: Sequence[str], channels: int, receivers: Sequence[str] | None = None) -> None:
        super().__init__()
        self.tasks = list(tasks)
        self.channels = channels
        self.adapters = nn.ModuleDict()
        for t in self.tasks if receivers is None else receivers:
            self.add_receiver(t)

    def add_receiver(self, t: str) -> None:
        """Adapters passing every source task's features to ``t``."""
        for a in self.tasks:
            if a != t:
                self.adapters[f"{t}__from__{a}"] = SpatialAttentionAdapter(self.channels)

    def receiver_keys(self, t: str) -> list[str]:
        """Keys of the adapters that feed ``t``."""
        return [f"{t}__from__{a}" for a in self.tasks if a != t]

    def forward(
        self, features: dict[str, torch.Tensor], sources: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """Distilled features of every task in ``features`` (the receivers), reading the source tasks'
        features from ``sources`` (default: ``features``)."""
        sources = features if sources is None else sources
        out = {}
        for t, own in features.items():
            messages = [self.adapters[f"{t}__from__{a}"](sources[a]) for a in self.tasks if a != t]
            out[t] = own + torch.stack(messages).sum(dim=0)
        return out


class MTINetDecoder(CoupledDecoder):
    """The joint MTI-Net decoder over all tasks (needs at least two, jointly trained or auxiliary).

    ``auxiliary`` maps auxiliary task names to their output channels (the reference code's NYUD
    setting: semseg + depth with normals and edges as auxiliary tasks). An auxiliary task gets
    the per-scale refinement and deep-supervised initial prediction, takes part in every FPM
    and is a source of the distillation, but receives no distillation, has no HRNet head and no
    final output: it is not one of :attr:`tasks` and never in the logits. Its per-scale
    predictions are in the deep-supervision outputs when every task is requested
    (``tasks=None``, as in training), so a loss can train it.
    """

    def __init__(
        self,
        channels: Sequence[int],
        out_channels: dict[str, int],
        attached: Sequence[str] = (),
        auxiliary: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(out_channels, attached)
        self.auxiliary = check_auxiliary({} if auxiliary is None else auxiliary)
        overlap = [t for t in self.auxiliary if t in out_channels]
        if overlap:
            raise IncompatibleConfigError(
                f"auxiliary task(s) {overlap} are also among the tasks {list(out_channels)}; a task is either "
                "auxiliary (supervised inside the decoder only) or has a final output: list it once"
            )
        require_several_tasks("MTI-Net", {**{t: out_channels[t] for t in self.joint}, **self.auxiliary})
        self.channels = list(channels)
        sources = [*self.joint, *self.auxiliary]
        levels = range(len(channels))
        self.refine = nn.ModuleList(nn.ModuleDict() for _ in levels)
        self.initial = nn.ModuleList(nn.ModuleDict() for _ in levels)
        self.propagate = nn.ModuleList(FeaturePropagation(sources, channels[s], receivers=()) for s in levels if s > 0)
        self.distill = nn.ModuleList(MultiModalDistillation(sources, channels[s], receivers=()) for s in levels)
        self.aggregate = nn.ModuleDict()
        for t, k in out_channels.items():
            self.build_task(t, k)
        for t, k in self.auxiliary.items():  # after the main tasks: without auxiliary tasks, the same initialisation
            self.build_scales(t, k)

    def build_scales(self, name: str, out_channels: int) -> None:
        """The per-scale modules of ``name``: refinement, initial prediction and FPM gate."""
        channels, coarsest = self.channels, len(self.channels) - 1
        for s in range(len(channels)):
            extra = channels[s + 1] if s < coarsest else 0
            self.refine[s][name] = basic_blocks(channels[s] + extra, channels[s], 2)
            self.initial[s][name] = nn.Conv2d(channels[s], out_channels, 1)
        for fpm in self.propagate:
            fpm.gates[name] = SEBlock(fpm.channels)

    def build_task(self, name: str, out_channels: int) -> None:
        self.build_scales(name, out_channels)
        for distill in self.distill:
            distill.add_receiver(name)
        self.aggregate[name] = HRNetHead(self.channels, out_channels)

    def add_task(self, name: str, out_channels: int) -> None:
        if name in self.auxiliary:
            raise IncompatibleConfigError(
                f"{name!r} is an auxiliary task of this MTI-Net (supervised inside its decoder, without a final "
                "output); a new task needs another name"
            )
        super().add_task(name, out_channels)

    def task_slots(self, name: str) -> list[tuple[nn.ModuleDict, str]]:
        slots = [(self.refine[s], name) for s in range(len(self.channels))]
        slots += [(self.initial[s], name) for s in range(len(self.channels))]
        slots += [(fpm.gates, name) for fpm in self.propagate]
        slots += [(d.adapters, key) for d in self.distill for key in d.receiver_keys(name)]
        return [*slots, (self.aggregate, name)]

    def forward(self, features: Sequence[torch.Tensor], tasks: Sequence[str] | None = None) -> DecoderOutput:
        run = self.needed(tasks)
        active = [*run, *self.auxiliary]  # the auxiliary tasks feed the FPMs and the distillation
        num = len(features)
        task_features: list[dict[str, torch.Tensor]] = [{} for _ in range(num)]
        propagated: dict[str, torch.Tensor] | None = None
        for s in reversed(range(num)):  # coarse to fine
            for t in active:
                x = features[s]
                if propagated is not None:
                    x = torch.cat([x, resize_to(propagated[t], x.shape[-2:])], dim=1)
                task_features[s][t] = self.refine[s][t](x)
            if s > 0:
                propagated = self.propagate[s - 1](task_features[s])
        out = run if tasks is None else [t for t in run if t in set(tasks)]
        supervised = [*out, *self.auxiliary] if tasks is None else out
        deep = {t: [self.initial[s][t](task_features[s][t]) for s in range(num)] for t in supervised}
        distilled = [self.distill[s]({t: task_features[s][t] for t in out}, task_features[s]) for s in range(num)]
        logits = {t: self.aggregate[t]([distilled[s][t] for s in range(num)])[0] for t in out}
        return logits, deep
