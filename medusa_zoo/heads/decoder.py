"""The decoder contract and the container for heads that never look at each other.

A decoder maps backbone feature maps (finest first) to per-task logits at the finest
level's resolution, plus the deep-supervision predictions of each task (at their own
resolution; the loss resizes them to the label).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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

    This is what lets a task be added or removed without touching the others: ``factory``
    builds a fresh head for a task with a given number of output channels.
    """

    def __init__(self, heads: dict[str, TaskHead], factory: Callable[[int], TaskHead] | None = None) -> None:
        super().__init__()
        self.heads = nn.ModuleDict(heads)
        self.factory = factory

    def forward(self, features: Sequence[torch.Tensor]) -> DecoderOutput:
        logits: dict[str, torch.Tensor] = {}
        deep: dict[str, list[torch.Tensor]] = {}
        for name, head in self.heads.items():
            logits[name], deep[name] = head(features)
        return logits, deep

    def add_task(self, name: str, out_channels: int) -> None:
        """Attach a freshly initialised head for ``name``."""
        if self.factory is None:
            raise IncompatibleConfigError("these heads were built without a factory; rebuild them with build_decoder")
        self.heads[name] = self.factory(out_channels)

    def remove_task(self, name: str) -> None:
        """Drop the head of ``name``; the other heads are untouched."""
        del self.heads[name]

    def task_modules(self, name: str) -> list[nn.Module]:
        """The modules that belong to ``name`` alone (what fine-tuning it trains)."""
        return [self.heads[name]]


class CoupledDecoder(nn.Module):
    """Base of the decoders whose tasks exchange features (MTI-Net, PAD-Net).

    The tasks trained together (``joint``) read each other. A task attached later
    (``attached``, e.g. by ``model.add_task``) gets modules of its own that read the joint
    tasks' features, while no joint task reads it; so the joint tasks' outputs do not change,
    and only attached tasks can be removed again. Subclasses list a task's own modules in
    :meth:`task_slots` and build them in :meth:`build_task`.
    """

    def __init__(self, out_channels: dict[str, int], attached: Sequence[str]) -> None:
        super().__init__()
        unknown = [t for t in attached if t not in out_channels]
        if unknown:
            raise IncompatibleConfigError(f"attached task(s) {unknown} are not among the tasks {list(out_channels)}")
        self.tasks = list(out_channels)
        self.attached = [t for t in self.tasks if t in set(attached)]
        self.joint = [t for t in self.tasks if t not in set(attached)]

    def task_slots(self, name: str) -> list[tuple[nn.ModuleDict, str]]:
        """``(container, key)`` of every module that belongs to ``name`` alone."""
        raise NotImplementedError

    def build_task(self, name: str, out_channels: int) -> None:
        """Create the modules of a new attached task ``name``."""
        raise NotImplementedError

    def add_task(self, name: str, out_channels: int) -> None:
        """Attach a new task: fresh modules reading the joint tasks, read by none of them."""
        self.tasks.append(name)
        self.attached.append(name)
        self.build_task(name, out_channels)

    def remove_task(self, name: str) -> None:
        """Remove an attached task and its modules (joint tasks cannot be removed)."""
        if name not in self.attached:
            raise IncompatibleConfigError(
                f"{type(self).__name__} trained {name!r} jointly with {self.joint}: the other tasks read its features, "
                "so removing it would change their outputs. Only tasks added after training can be removed "
                f"({self.attached or 'none here'})"
            )
        for container, key in self.task_slots(name):
            del container[key]
        self.tasks.remove(name)
        self.attached.remove(name)

    def task_modules(self, name: str) -> list[nn.Module]:
        """The modules that belong to ``name`` alone (what fine-tuning it trains)."""
        return [container[key] for container, key in self.task_slots(name)]


def require_several_tasks(design: str, out_channels: dict[str, int]) -> None:
    """Task-interaction decoders distil between tasks: refuse a single task with a clear error."""
    if len(out_channels) < 2:
        raise IncompatibleConfigError(
            f"{design} distils information between tasks and needs at least two; "
            "use an 'stl' architecture for a single task"
        )
