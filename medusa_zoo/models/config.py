"""Everything needed to rebuild a network, as a value that round-trips through JSON.

``config.json`` is data only: it can select registered head types, task kinds and timm
backbones, and nothing in it is imported or executed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..backbones import BackboneSpec, known_timm_names
from ..errors import IncompatibleConfigError, UnknownNameError
from ..heads import HEADS
from ..preprocessing import Preprocessing
from ..tasks import Task, get_task, task_from_config

__all__ = ["CONFIG_FORMAT", "ModelConfig", "Preprocessing", "TaskLike", "resolve_tasks"]

CONFIG_FORMAT = "medusa_zoo.model/1"


TaskLike = str | Task


def resolve_tasks(tasks: Sequence[TaskLike]) -> tuple[Task, ...]:
    """Turn task names or :class:`Task` objects into tasks with unique names."""
    if isinstance(tasks, str):
        raise IncompatibleConfigError(f"tasks must be a list of task names, got the string {tasks!r}; use [{tasks!r}]")
    resolved = tuple(t if isinstance(t, Task) else get_task(t) for t in tasks)
    names = [t.name for t in resolved]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise IncompatibleConfigError(f"task names must be unique, {duplicates} appear more than once")
    if not resolved:
        raise IncompatibleConfigError("a model needs at least one task")
    return resolved


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a network: head type and options, backbone, tasks, preprocessing."""

    head: str
    backbone: BackboneSpec
    tasks: tuple[Task, ...]
    head_options: Mapping[str, Any] = field(default_factory=dict)
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    arch: str | None = None  # registry name this config was built from, if any

    def to_dict(self) -> dict[str, Any]:
        """The content of ``config.json``."""
        return {
            "format": CONFIG_FORMAT,
            "arch": self.arch,
            "head": self.head,
            "head_options": dict(self.head_options),
            "backbone": self.backbone.to_config(),
            "tasks": [t.to_config() for t in self.tasks],
            "preprocessing": self.preprocessing.to_config(),
        }

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> ModelConfig:
        """Validate and rebuild a config; every problem raises :class:`IncompatibleConfigError`."""
        if config.get("format") != CONFIG_FORMAT:
            raise IncompatibleConfigError(
                f"config format {config.get('format')!r} is not {CONFIG_FORMAT!r}: "
                "this file was not written by medusa_zoo's save_pretrained, or by a newer version"
            )
        try:
            HEADS.get(str(config["head"]))
            backbone = BackboneSpec.from_config(config["backbone"])
            _check_timm_name(backbone.timm_name)
            return cls(
                head=str(config["head"]),
                backbone=backbone,
                tasks=resolve_tasks([task_from_config(t) for t in config["tasks"]]),
                head_options=dict(config.get("head_options", {})),
                preprocessing=Preprocessing.from_config(config["preprocessing"]),
                arch=config.get("arch"),
            )
        except KeyError as missing:
            raise IncompatibleConfigError(f"config lacks the field {missing}") from None
        except UnknownNameError as unknown:
            raise IncompatibleConfigError(f"config names something this version does not have: {unknown}") from None
        except (TypeError, ValueError, AttributeError) as bad:
            if isinstance(bad, IncompatibleConfigError):
                raise
            raise IncompatibleConfigError(f"config is malformed: {bad}") from None


def _check_timm_name(timm_name: str) -> None:
    if timm_name in known_timm_names():
        return
    import timm

    if not timm.is_model(timm_name):
        raise IncompatibleConfigError(f"backbone {timm_name!r} is not a timm model in this timm version")
