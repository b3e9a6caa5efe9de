"""The decoder contract, and the two kinds of decoder: independent per-task heads and coupled decoders.

A decoder maps backbone feature maps (finest first) to per-task logits at the finest
level's resolution, plus the deep-supervision predictions of each task (at their own
resolution; the loss resizes them to the label). Every decoder implements :class:`Decoder`,
so the network adds, removes, freezes and saves tasks the same way whatever the design.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import IncompatibleConfigError

DecoderOutput = tuple[dict[str, torch.Tensor], dict[str, list[torch.Tensor]]]


class Decoder(nn.Module, metaclass=ABCMeta):
    """What every decoder offers the network besides ``forward(features, tasks) -> (logits, deep)``.

    ``tasks`` lists the tasks in output order. :meth:`add_task` attaches a freshly initialised
    task that no existing task reads; :meth:`remove_task` takes one of :meth:`removable_tasks`
    away; :meth:`task_modules` lists the modules that belong to one task alone (what fine-tuning
    it trains, what its head file holds). :meth:`state_options` are head options that record
    the decoder's task state rather than its design (saved in ``config.json`` so the same
    modules are rebuilt); their names are :attr:`STATE_OPTIONS`.
    """

    STATE_OPTIONS: ClassVar[tuple[str, ...]] = ()

    @property
    @abstractmethod
    def tasks(self) -> list[str]:
        """The decoder's tasks, in output order."""

    @abstractmethod
    def forward(self, features: Sequence[torch.Tensor], tasks: Sequence[str] | None = None) -> DecoderOutput:
        """Per-task logits at the finest level's resolution and per-task deep-supervision logits.

        ``tasks`` (default: all) selects the outputs; only the modules they need run.
        """

    def needed(self, tasks: Sequence[str] | None) -> list[str]:
        """The tasks whose modules must run to give ``tasks`` (default: all), in output order."""
        if tasks is None:
            return self.tasks
        wanted = set(tasks)
        return [t for t in self.tasks if t in wanted]

    @abstractmethod
    def add_task(self, name: str, out_channels: int) -> None:
        """Attach freshly initialised modules for a new task ``name``; no existing task reads them."""

    @abstractmethod
    def remove_task(self, name: str) -> None:
        """Remove task ``name`` (one of :meth:`removable_tasks`) and its modules."""

    @abstractmethod
    def removable_tasks(self) -> list[str]:
        """Tasks no other task reads: removing one leaves every other output unchanged."""

    @abstractmethod
    def task_modules(self, name: str) -> list[nn.Module]:
        """The modules that belong to ``name`` alone (what fine-tuning it trains)."""

    def state_options(self) -> dict[str, Any]:
        """Head options recording this decoder's task state (none by default)."""
        return {}


class TaskHead(nn.Module):
    """A head for one task; returns its final logits and its deep-supervision logits."""

    def forward(self, features: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        raise NotImplementedError


class IndependentHeads(Decoder):
    """One self-contained :class:`TaskHead` per task; no head reads another's features.

    This is what lets a task be added or removed without touching the others: ``factory``
    builds a fresh head for a task with a given number of output channels.
    """

    def __init__(self, heads: dict[str, TaskHead], factory: Callable[[int], TaskHead]) -> None:
        super().__init__()
        self.heads = nn.ModuleDict(heads)
        self.factory = factory

    @property
    def tasks(self) -> list[str]:
        return list(self.heads)

    def forward(self, features: Sequence[torch.Tensor], tasks: Sequence[str] | None = None) -> DecoderOutput:
        logits: dict[str, torch.Tensor] = {}
        deep: dict[str, list[torch.Tensor]] = {}
        for name in self.needed(tasks):
            logits[name], deep[name] = self.heads[name](features)
        return logits, deep

    def add_task(self, name: str, out_channels: int) -> None:
        self.heads[name] = self.factory(out_channels)

    def remove_task(self, name: str) -> None:
        del self.heads[name]

    def removable_tasks(self) -> list[str]:
        return list(self.heads)

    def task_modules(self, name: str) -> list[nn.Module]:
        return [self.heads[name]]


class CoupledDecoder(Decoder):
    """Base of the decoders whose tasks exchange features (MTI-Net, PAD-Net).

    The tasks trained together (``joint``) read each other. A task attached later
    (``attached``, e.g. by ``model.add_task``) gets modules of its own that read the joint
    tasks' features, while no joint task reads it; so the joint tasks' outputs do not change,
    and only attached tasks can be removed again. Subclasses list a task's own modules in
    :meth:`task_slots` and build them in :meth:`build_task`.
    """

    STATE_OPTIONS = ("attached",)

    def __init__(self, out_channels: dict[str, int], attached: Sequence[str]) -> None:
        super().__init__()
        unknown = [t for t in attached if t not in out_channels]
        if unknown:
            raise IncompatibleConfigError(f"attached task(s) {unknown} are not among the tasks {list(out_channels)}")
        self.task_names = list(out_channels)
        self.attached = [t for t in self.task_names if t in set(attached)]
        self.joint = [t for t in self.task_names if t not in set(attached)]

    @property
    def tasks(self) -> list[str]:
        return list(self.task_names)

    def needed(self, tasks: Sequence[str] | None) -> list[str]:
        """Every joint task (they read each other) plus the requested attached ones."""
        if tasks is None:
            return self.tasks
        wanted = set(tasks)
        return [t for t in self.task_names if t in self.joint or t in wanted]

    @abstractmethod
    def task_slots(self, name: str) -> list[tuple[nn.ModuleDict, str]]:
        """``(container, key)`` of every module that belongs to ``name`` alone."""

    @abstractmethod
    def build_task(self, name: str, out_channels: int) -> None:
        """Create the modules of a new task ``name``."""

    def add_task(self, name: str, out_channels: int) -> None:
        self.task_names.append(name)
        self.attached.append(name)
        self.build_task(name, out_channels)

    def remove_task(self, name: str) -> None:
        if name not in self.attached:
            raise IncompatibleConfigError(
                f"{type(self).__name__} trained {name!r} jointly with {self.joint}: the other tasks read its features, "
                "so removing it would change their outputs. Only tasks added after training can be removed "
                f"({self.attached or 'none here'})"
            )
        for container, key in self.task_slots(name):
            del container[key]
        self.task_names.remove(name)
        self.attached.remove(name)

    def removable_tasks(self) -> list[str]:
        return list(self.attached)

    def task_modules(self, name: str) -> list[nn.Module]:
        return [container[key] for container, key in self.task_slots(name)]

    def state_options(self) -> dict[str, Any]:
        return {"attached": list(self.attached)} if self.attached else {}


def require_several_tasks(design: str, out_channels: dict[str, int]) -> None:
    """Task-interaction decoders distil between tasks: refuse a single task with a clear error."""
    if len(out_channels) < 2:
        raise IncompatibleConfigError(
            f"{design} distils information between tasks and needs at least two; "
            "use an 'stl' architecture for a single task"
        )
