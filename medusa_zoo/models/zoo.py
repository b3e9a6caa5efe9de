"""The registered architectures: rows of data, one per (head type, backbone) pair.

A name is ``<head>_<backbone>``, e.g. ``medusa_hrnet18``; every head type is registered on
every backbone row, at the backbone's design input size, and builds with random weights from
its row alone. A new backbone row or head type therefore appears here without an edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..backbones import BACKBONES
from ..errors import UnknownModelError
from ..heads import HEADS
from ..registry import Registry
from ..tasks import Task
from .config import ModelConfig, Preprocessing, TaskLike, resolve_tasks

NYUD_TASKS = ("semseg", "depth", "normals", "edge")


@dataclass(frozen=True)
class Architecture:
    """A registry row: head type, backbone, default tasks and the design input size (H, W)."""

    name: str
    head: str
    backbone: str
    tasks: tuple[str, ...]
    input_size: tuple[int, int]
    head_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        """One line for listings."""
        return f"{HEADS.get(self.head).description}; backbone {self.backbone}"

    def config(self, tasks: list[TaskLike] | tuple[TaskLike, ...] | None = None, **head_options: Any) -> ModelConfig:
        """The :class:`ModelConfig` of this architecture for ``tasks`` (default: the row's)."""
        chosen: tuple[Task, ...] = resolve_tasks(tasks if tasks is not None else self.tasks)
        row = BACKBONES.get(self.backbone)
        return ModelConfig(
            head=self.head,
            backbone=BACKBONES.get(self.backbone).spec,
            tasks=chosen,
            head_options={**self.head_options, **head_options},
            preprocessing=Preprocessing(row.mean, row.std, self.input_size),
            arch=self.name,
        )


ARCHITECTURES: Registry[Architecture] = Registry("architecture", UnknownModelError)

def _register_architectures() -> None:
    for backbone in BACKBONES.names():
        size = BACKBONES.get(backbone).input_size
        for head in HEADS.names():
            single = HEADS.get(head).max_tasks == 1
            name = f"{head}_{backbone}"
            ARCHITECTURES.register(
                name, Architecture(name, head, backbone, NYUD_TASKS[:1] if single else NYUD_TASKS, size)
            )


_register_architectures()
