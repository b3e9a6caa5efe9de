"""The task contract: everything about one kind of prediction lives on its task class.

A :class:`Task` is a small frozen value (name, output channels, label names); its kind (its
class) owns all the behaviour: the training loss, the post-processing that turns raw logits
into a usable prediction, a colouring, which target pixels carry a label, the meter that
scores it, its best constant (trivial) baseline and how to make example targets for tests.
Decorating a subclass with :func:`register_kind` is all it takes for a new kind to work in
training, evaluation, trivial baselines and ``model.add_task``; kinds live in a registry, so
a saved ``config.json`` can only select registered kinds.
"""

from __future__ import annotations

import keyword
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import torch

from ..bounds import bounded_int, show
from ..errors import DatasetError, IncompatibleConfigError, UnknownTaskError
from ..labels import IGNORE_INDEX, squeeze_channel
from ..metrics import Meter
from ..registry import Registry
from ..resize import bilinear

MAX_CLASSES = 4096  # output channels (classes) per task
MAX_NAME = 64  # characters in a task name
MAX_LABEL = 100  # characters in a class name
_CONTAINER = torch.nn.ModuleDict()  # task names key ModuleDicts: none may be one of its attributes

__all__ = [
    "BUILTIN_TASKS",
    "IGNORE_INDEX",
    "MAX_CLASSES",
    "TASK_KINDS",
    "Baseline",
    "Task",
    "check_labels",
    "check_task_name",
    "get_task",
    "make_task",
    "register_kind",
    "resize_logits",
    "squeeze_channel",
    "task_from_config",
]  # fmt: skip


@dataclass(frozen=True)
class Task:
    """One prediction task of a multi-task network.

    ``name`` keys the task's outputs and head (several tasks may share a kind, e.g.
    ``semseg`` and ``parts`` are both segmentation); ``out_channels`` is the number of
    channels the head predicts; ``labels`` names the classes of classification tasks.
    Subclasses set ``kind`` and implement the methods below.
    """

    name: str
    out_channels: int
    labels: tuple[str, ...] = field(default=())

    kind: ClassVar[str] = "task"
    aliases: ClassVar[tuple[str, ...]] = ()  # other names ``model.add_task(kind=...)`` accepts
    fixed_channels: ClassVar[int | None] = None
    lower_is_better: ClassVar[bool] = False
    config_fields: ClassVar[tuple[str, ...]] = ()  # a kind's own dataclass fields that to_config writes

    def __post_init__(self) -> None:
        check_task_name(self.name)
        bounded_int(self.out_channels, f"task {self.name!r} out_channels", 1, MAX_CLASSES)
        check_labels(self.name, self.labels, self.out_channels)
        if self.fixed_channels is not None and self.out_channels != self.fixed_channels:
            raise IncompatibleConfigError(
                f"task {self.name!r} ({self.kind}) predicts {self.fixed_channels} channel(s), "
                f"not {self.out_channels}"
            )

    # ------------------------------------------------------------ training and inference
    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Training loss of ``logits`` (B, out_channels, H, W) against ``target`` (same H, W)."""
        raise NotImplementedError

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        """Turn logits (B, out_channels, H, W) into the task's prediction for each image."""
        raise NotImplementedError

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        """An (H, W, 3) uint8 picture of one image's prediction, for people to look at."""
        raise NotImplementedError

    # ------------------------------------------------------------ targets and evaluation
    def valid_mask(self, target: torch.Tensor) -> torch.Tensor:
        """(B, H, W) bool: the pixels of a batch of targets that carry a label."""
        raise NotImplementedError

    def meter(self, **options: Any) -> Meter:
        """A fresh meter scoring this task; ``options`` go to its constructor (e.g. an edge tolerance)."""
        raise NotImplementedError

    def baseline(self, statistic: Mapping[str, Any] | None = None) -> Baseline:
        """This task's best constant predictor: unfitted, or fitted as ``statistic`` describes."""
        raise NotImplementedError

    def example_target(self, batch: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        """A random batch of targets in the dataset format (some pixels unlabelled), for tests."""
        raise NotImplementedError

    # ------------------------------------------------------------ variants and configs
    @classmethod
    def create(cls, name: str, out_channels: int | None = None, labels: Sequence[str] | None = None) -> Task:
        """The task ``model.add_task(name, kind=<this kind>, out_channels=..., labels=...)`` means."""
        if out_channels is None:
            if cls.fixed_channels is None:
                raise IncompatibleConfigError(f"kind={cls.kind!r} needs out_channels=C (values per pixel)")
            out_channels = cls.fixed_channels
        return cls(name, out_channels, tuple(labels or ()))

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


class Baseline(ABC):
    """The best constant prediction of one task, fitted on training targets (a "trivial" row).

    Fit: :meth:`add` each training target (one sample's label as the dataset gives it, no
    batch dimension), then :meth:`statistic` gives a JSON-ready dict holding the constant and
    what it was estimated from. Predict: the baseline built with that statistic
    (``task.baseline(statistic)``) gives the constant for a batch of targets, shaped as the
    task's meter expects its predictions.
    """

    def __init__(self, task: Task, statistic: Mapping[str, Any] | None = None) -> None:
        self.task = task
        self.fitted = dict(statistic) if statistic is not None else None

    @abstractmethod
    def add(self, target: torch.Tensor) -> None:
        """Accumulate one sample's target."""

    @abstractmethod
    def statistic(self) -> dict[str, Any]:
        """The fitted constant and what it was estimated from (JSON-ready)."""

    @abstractmethod
    def constant(self, batch: int, size: tuple[int, int]) -> torch.Tensor:
        """The fitted constant as a batch of predictions of (H, W) = ``size``."""

    @abstractmethod
    def describe(self) -> str:
        """One line saying what the fitted constant is."""

    def predict(self, target: torch.Tensor) -> torch.Tensor:
        """The constant prediction for a batch of targets, at the targets' (H, W)."""
        if self.fitted is None:
            raise IncompatibleConfigError(f"the {self.task.name!r} baseline is not fitted; build it with a statistic")
        target = squeeze_channel(torch.as_tensor(target))
        return self.constant(int(target.shape[0]), (int(target.shape[-2]), int(target.shape[-1])))

    def _require(self, count: int, what: str) -> None:
        if count == 0:
            raise DatasetError(f"{self.task.name}: no {what} to fit a constant baseline on")


TASK_KINDS: Registry[type[Task]] = Registry("task kind", UnknownTaskError)
BUILTIN_TASKS: Registry[Task] = Registry("task", UnknownTaskError)
_ALIASES: dict[str, str] = {}


def register_kind(cls: type[Task]) -> type[Task]:
    """Class decorator adding a :class:`Task` subclass (and its ``aliases``) to the registry of kinds."""
    TASK_KINDS.register(cls.kind, cls)
    for alias in cls.aliases:
        if alias in _ALIASES or alias in TASK_KINDS:
            raise IncompatibleConfigError(f"task kind alias {alias!r} is already taken")
        _ALIASES[alias] = cls.kind
    return cls


def unregister_kind(kind: str) -> None:
    """Remove a kind and its aliases (tests and plugins that clean up after themselves)."""
    cls = TASK_KINDS.unregister(kind)
    for alias in cls.aliases:
        _ALIASES.pop(alias, None)


def task_from_config(config: Any) -> Task:
    """Rebuild a task from :meth:`Task.to_config` output; only registered kinds are allowed.

    Every field is checked (types, the name, the class count and label names within
    :data:`MAX_CLASSES`) before the task exists; any problem raises :class:`IncompatibleConfigError`.
    """
    if not isinstance(config, Mapping):
        raise IncompatibleConfigError(f"a task in a config must be a JSON object, got {show(config)}")
    if missing := [k for k in ("name", "kind", "out_channels") if k not in config]:
        raise IncompatibleConfigError(f"task config {show(dict(config))} lacks the field {missing[0]!r}")
    if not isinstance(config["kind"], str):
        raise IncompatibleConfigError(f"task kind must be a string, got {show(config['kind'])}")
    kind = TASK_KINDS.get(config["kind"])
    fields = ("name", "kind", "out_channels", "labels", *kind.config_fields)
    if unknown := sorted(set(config) - set(fields)):
        raise IncompatibleConfigError(f"task config takes no field(s) {unknown}; it has {', '.join(fields)}")
    labels = config.get("labels", [])
    if not isinstance(labels, list):
        raise IncompatibleConfigError(f"task labels must be a list of class names, got {show(labels)}")
    extra = {name: config[name] for name in kind.config_fields if name in config}  # the kind checks them
    try:
        return kind(name=config["name"], out_channels=config["out_channels"], labels=tuple(labels), **extra)
    except IncompatibleConfigError:
        raise
    except (TypeError, ValueError) as bad:
        raise IncompatibleConfigError(f"task config {show(dict(config))} is invalid: {bad}") from None


def check_task_name(name: Any) -> str:
    """``name`` if it can key a task's modules and outputs: a short identifier that is no attribute of
    a module container (``training``, ``forward``, ``keys``... would break ``nn.ModuleDict``)."""
    if not isinstance(name, str) or not name.isidentifier() or len(name) > MAX_NAME or keyword.iskeyword(name):
        raise IncompatibleConfigError(
            f"task name {show(name)} must be a Python identifier (letters, digits, underscores) of at most "
            f"{MAX_NAME} characters, and not a keyword"
        )
    if name.startswith("_") or "__" in name or hasattr(_CONTAINER, name):
        raise IncompatibleConfigError(
            f"task name {name!r} clashes with an attribute of torch.nn.Module / ModuleDict (or uses a leading or "
            "double underscore, which module keys reserve); rename the task, e.g. to "
            f"{(name.strip('_').replace('__', '_') or 'task') + '_task'!r}"
        )
    return name


def check_labels(task: str, labels: Any, out_channels: int) -> None:
    """Class names must be strings of at most :data:`MAX_LABEL` characters, one per output channel."""
    if not isinstance(labels, (tuple, list)):
        raise IncompatibleConfigError(f"task {task!r} labels must be a list of class names, got {show(labels)}")
    for label in labels:
        if not isinstance(label, str) or not 0 < len(label) <= MAX_LABEL:
            raise IncompatibleConfigError(
                f"task {task!r} labels must be non-empty strings of at most {MAX_LABEL} characters, got {show(label)}"
            )
    if labels and len(labels) != out_channels:
        raise IncompatibleConfigError(
            f"task {task!r} has {out_channels} output channels but {len(labels)} label names; give one name per class"
        )


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


def make_task(name: str, kind: str | None = None, out_channels: int | None = None,
              labels: Sequence[str] | None = None) -> Task:
    """The :class:`Task` that ``model.add_task(name, kind=..., out_channels=..., labels=...)`` means.

    ``kind`` is a built-in task name (``"normals"``, ``"semseg"``; default: ``name``), a
    registered kind (``"segmentation"``, ``"dense_regression"``, ...) or a kind's alias
    (``"dense_classification"``).
    """
    kind = kind or name
    if kind in BUILTIN_TASKS:
        base = get_task(kind, num_classes=out_channels, labels=labels) if (out_channels or labels) else get_task(kind)
        return base.renamed(name)
    kind = _ALIASES.get(kind, kind)
    if kind not in TASK_KINDS:
        kinds = sorted([*TASK_KINDS.names(), *_ALIASES])
        raise UnknownTaskError(
            f"unknown task kind {kind!r}; use a built-in task ({', '.join(BUILTIN_TASKS.names())}) or a registered "
            f"kind ({', '.join(kinds)}) with out_channels"
        )
    return TASK_KINDS.get(kind).create(name, out_channels, labels)


def resize_logits(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of logits to ``size`` (a no-op when already there; see :mod:`medusa_zoo.resize`)."""
    return bilinear(logits, size)
