"""The task contract: what a head must output, how it is trained and how outputs are read.

A :class:`Task` is a small frozen value (name, output channels, label names) plus the
behaviour that depends on its kind: the training loss, the post-processing that turns raw
logits into a usable prediction, and a colouring for visualisation. Task kinds live in a
registry so that a saved ``config.json`` can only select kinds that ship with the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import IncompatibleConfigError, UnknownTaskError
from ..registry import Registry

IGNORE_INDEX = 255
"""Label value meaning "no label here" in every dense target (as in NYUD/PASCAL MTL code)."""


@dataclass(frozen=True)
class Task:
    """One prediction task of a multi-task network.

    ``name`` keys the task's outputs and head (several tasks may share a kind, e.g.
    ``semseg`` and ``parts`` are both segmentation); ``out_channels`` is the number of
    channels the head predicts; ``labels`` names the classes of classification tasks.
    """

    name: str
    out_channels: int
    labels: tuple[str, ...] = field(default=())

    kind: ClassVar[str] = "task"
    fixed_channels: ClassVar[int | None] = None
    lower_is_better: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise IncompatibleConfigError(
                f"task name {self.name!r} must be a Python identifier (letters, digits, underscores)"
            )
        if self.fixed_channels is not None and self.out_channels != self.fixed_channels:
            raise IncompatibleConfigError(
                f"task {self.name!r} ({self.kind}) predicts {self.fixed_channels} channel(s), "
                f"not {self.out_channels}"
            )

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Training loss of ``logits`` (B, out_channels, H, W) against ``target`` (same H, W)."""
        raise NotImplementedError

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        """Turn logits (B, out_channels, H, W) into the task's prediction for each image."""
        raise NotImplementedError

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        """An (H, W, 3) uint8 picture of one image's prediction, for people to look at."""
        raise NotImplementedError

    def with_classes(self, num_classes: int, labels: tuple[str, ...] | None = None) -> Task:
        """A copy predicting ``num_classes`` channels (only meaningful for classification)."""
        raise IncompatibleConfigError(
            f"task {self.name!r} ({self.kind}) has a fixed number of output channels "
            f"({self.out_channels}); only segmentation tasks take num_classes"
        )

    def renamed(self, name: str) -> Task:
        """A copy of this task under another name."""
        return replace(self, name=name)

    def to_config(self) -> dict[str, Any]:
        """JSON-ready description from which :func:`task_from_config` rebuilds this task."""
        config: dict[str, Any] = {"name": self.name, "kind": self.kind, "out_channels": self.out_channels}
        if self.labels:
            config["labels"] = list(self.labels)
        return config


TASK_KINDS: Registry[type[Task]] = Registry("task kind", UnknownTaskError)
BUILTIN_TASKS: Registry[Task] = Registry("task", UnknownTaskError)


def register_kind(cls: type[Task]) -> type[Task]:
    """Class decorator adding a :class:`Task` subclass to the registry of kinds."""
    TASK_KINDS.register(cls.kind, cls)
    return cls


def task_from_config(config: Mapping[str, Any]) -> Task:
    """Rebuild a task from :meth:`Task.to_config` output; only registered kinds are allowed."""
    try:
        kind = TASK_KINDS.get(str(config["kind"]))
        labels = tuple(str(label) for label in config.get("labels", ()))
        out_channels = config["out_channels"]
        if not isinstance(out_channels, int) or isinstance(out_channels, bool):
            raise TypeError(f"out_channels must be an integer, got {out_channels!r}")
        task = kind(name=str(config["name"]), out_channels=out_channels, labels=labels)
    except KeyError as missing:
        raise IncompatibleConfigError(f"task config {dict(config)!r} lacks the field {missing}") from None
    except (TypeError, ValueError) as bad:
        raise IncompatibleConfigError(f"task config {dict(config)!r} is invalid: {bad}") from None
    return task


def get_task(
    name: str, num_classes: int | None = None, labels: list[str] | tuple[str, ...] | None = None
) -> Task:
    """A built-in task by name (``semseg``, ``depth``, ...), optionally with another class count.

    ``num_classes`` and ``labels`` apply to segmentation tasks, e.g.
    ``get_task("semseg", num_classes=21)`` for PASCAL-Context.
    """
    task = BUILTIN_TASKS.get(name)
    if num_classes is None and labels is None:
        return task
    count = num_classes if num_classes is not None else len(labels or ())
    return task.with_classes(count, tuple(labels) if labels is not None else None)


def resize_logits(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of logits to ``size`` (a no-op when already there)."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def squeeze_channel(target: torch.Tensor) -> torch.Tensor:
    """Accept (B, H, W) or (B, 1, H, W) targets; return (B, H, W)."""
    return target[:, 0] if target.dim() == 4 and target.shape[1] == 1 else target
