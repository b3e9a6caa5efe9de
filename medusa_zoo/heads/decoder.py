"""The decoder contract and the container for heads that never look at each other.

A decoder maps backbone feature maps (finest first) to per-task logits at the finest
level's resolution, plus the deep-supervision predictions of each task (at their own
resolution; the loss resizes them to the label).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import IncompatibleConfigError

DecoderOutput = tuple[dict[str, torch.Tensor], dict[str, list[torch.Tensor]]]


class TaskHead(nn.Module):
    """A head for one task; returns its final logits and its deep-supervision logits."""

    def forward(self, features: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        raise NotImplementedError


class IndependentHeads(nn.Module):
    """One self-contained :class:`TaskHead` per task; no head reads another's features.

    This is what lets a task be added or removed without touching the others.
    """

    def __init__(self, heads: dict[str, TaskHead]) -> None:
        super().__init__()
        self.heads = nn.ModuleDict(heads)

    def forward(self, features: Sequence[torch.Tensor]) -> DecoderOutput:
        logits: dict[str, torch.Tensor] = {}
        deep: dict[str, list[torch.Tensor]] = {}
        for name, head in self.heads.items():
            logits[name], deep[name] = head(features)
        return logits, deep


def require_several_tasks(design: str, out_channels: dict[str, int]) -> None:
    """Task-interaction decoders distil between tasks: refuse a single task with a clear error."""
    if len(out_channels) < 2:
        raise IncompatibleConfigError(
            f"{design} distils information between tasks and needs at least two; "
            "use an 'stl' architecture for a single task"
        )
