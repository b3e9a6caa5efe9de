"""Everything needed to rebuild a network, as a value that round-trips through JSON.

``config.json`` is data only: it can select registered head types, task kinds and timm
backbones, and nothing in it is imported or executed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..backbones import BackboneSpec, known_timm_names
from ..bounds import show
from ..errors import IncompatibleConfigError, UnknownNameError
from ..heads import HEADS, check_head_options
from ..preprocessing import Preprocessing
from ..tasks import Task, get_task, task_from_config

__all__ = ["CONFIG_FORMAT", "ModelConfig", "Preprocessing", "TaskLike", "resolve_tasks"]

CONFIG_FORMAT = "medusa_zoo.model/1"
MAX_TASKS = 64  # tasks per network
MAX_ARCH = 200  # characters in an architecture name
_FIELDS = frozenset({"format", "arch", "head", "head_options", "backbone", "tasks", "preprocessing"})


TaskLike = str | Task


def resolve_tasks(tasks: Sequence[TaskLike]) -> tuple[Task, ...]:
    """Turn task names or :class:`Task` objects into tasks with unique names."""
    if isinstance(tasks, str):
        raise IncompatibleConfigError(f"tasks must be a list of task names, got the string {tasks!r}; use [{tasks!r}]")
    tasks = list(tasks)
    if len(tasks) > MAX_TASKS:
        raise IncompatibleConfigError(f"a model takes at most {MAX_TASKS} tasks, got {len(tasks)}")
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
    def from_dict(cls, config: Any) -> ModelConfig:
        """Validate and rebuild a config; every problem raises :class:`IncompatibleConfigError`.

        Each section is checked as data before anything is built from it: the backbone's timm name
        and allow-listed kwargs, bounded head options, task names, class counts and label names,
        and the preprocessing ranges.
        """
        if not isinstance(config, Mapping):
            raise IncompatibleConfigError(f"a config must be a JSON object, got {type(config).__name__}")
        if config.get("format") != CONFIG_FORMAT:
            raise IncompatibleConfigError(
                f"config format {show(config.get('format'))} is not {CONFIG_FORMAT!r}: "
                "this file was not written by medusa_zoo's save_pretrained, or by a newer version"
            )
        if missing := [k for k in ("head", "backbone", "tasks", "preprocessing") if k not in config]:
            raise IncompatibleConfigError(f"config lacks the field {missing[0]!r}")
        if unknown := sorted(set(config) - _FIELDS):
            raise IncompatibleConfigError(f"config has unknown field(s) {unknown}; a config has {sorted(_FIELDS)}")
        head, arch, options = config["head"], config.get("arch"), config.get("head_options", {})
        if not isinstance(head, str):
            raise IncompatibleConfigError(f"config is malformed: head must be a head type name, got {show(head)}")
        if arch is not None and (not isinstance(arch, str) or len(arch) > MAX_ARCH):
            raise IncompatibleConfigError(f"config is malformed: arch must be an architecture name or null, got {show(arch)}")
        tasks = config["tasks"]
        if not isinstance(tasks, list) or len(tasks) > MAX_TASKS:
            raise IncompatibleConfigError(f"config is malformed: tasks must be a list of at most {MAX_TASKS} task objects, got {show(tasks)}")
        try:
            check_head_options(head, HEADS.get(head).option_names(), options)
            if not isinstance(config["backbone"], Mapping) or not isinstance(config["preprocessing"], Mapping):
                raise IncompatibleConfigError("config is malformed: backbone and preprocessing must be JSON objects")
            backbone = BackboneSpec.from_config(config["backbone"])
            _check_timm_name(backbone.timm_name)
            return cls(
                head=head,
                backbone=backbone,
                tasks=resolve_tasks([task_from_config(t) for t in tasks]),
                head_options=dict(options),
                preprocessing=Preprocessing.from_config(config["preprocessing"]),
                arch=arch,
            )
        except UnknownNameError as unknown:
            raise IncompatibleConfigError(f"config names something this version does not have: {unknown}") from None
        except (TypeError, ValueError, AttributeError, KeyError) as bad:
            if isinstance(bad, IncompatibleConfigError):
                raise
            raise IncompatibleConfigError(f"config is malformed: {type(bad).__name__}: {bad}") from None


def _check_timm_name(timm_name: str) -> None:
    if timm_name in known_timm_names():
        return
    import timm

    if not timm.is_model(timm_name):
        raise IncompatibleConfigError(f"backbone {timm_name!r} is not a timm model in this timm version")
