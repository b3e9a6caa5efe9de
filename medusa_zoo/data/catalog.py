"""The dataset registry: one row per dataset, owning everything the engine needs to know about it.

A row (:class:`DatasetSpec`) names the dataset and holds its builder (recipe ``data`` options
in, a torch ``Dataset`` of samples out), its task definitions (class counts and label names),
its training augmentation and its meter options (e.g. PASCAL's edge tolerance). Recipes,
training, evaluation, the trivial baselines and the command lines look a dataset up here by
name; nothing else compares dataset names. A new dataset is one file (its ``Dataset``, task
definitions and augmentation) plus one ``DATASETS.register(DatasetSpec(...))`` row below.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import DatasetError, UnknownNameError
from ..metrics import PASCAL_TOLERANCE, Meter
from ..preprocessing import Preprocessing
from ..registry import Registry
from ..tasks import Task
from . import nyud, pascal, synthrooms
from .transforms import Compose, ToModelInput, Transform, size_pair

Builder = Callable[..., torch.utils.data.Dataset]
"""``builder(split, tasks, images, **options)``: the raw dataset; ``images`` keeps the first N samples."""
Augmentation = Callable[[tuple[int, int], "tuple[int, int] | None"], list[Transform]]
"""``augmentation(size, crop)``: the random training transforms, before normalisation."""


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: how to build it, its tasks, its training augmentation and its metric conventions.

    ``tasks`` maps task names (a subset of ``task_names``) to their :class:`~medusa_zoo.tasks.Task`
    definitions; ``meter_options`` maps a task kind to keyword options for its meter.
    ``build``'s keyword options are what a recipe's ``data`` field may hold.
    """

    name: str
    title: str
    task_names: tuple[str, ...]
    tasks: Callable[[Sequence[str]], tuple[Task, ...]]
    build: Builder
    augmentation: Augmentation
    meter_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    description: str = ""

    @property
    def options(self) -> tuple[str, ...]:
        """The recipe ``data`` options this dataset takes (keyword arguments of its builder)."""
        params = inspect.signature(self.build).parameters.values()
        return tuple(p.name for p in params if p.kind == inspect.Parameter.KEYWORD_ONLY)

    def task_definitions(self, names: Sequence[str] | None = None) -> tuple[Task, ...]:
        """Task definitions (class counts, label names) for ``names`` (default: all), in that order."""
        chosen = list(self.task_names if names is None else names)
        unknown = [n for n in chosen if n not in self.task_names]
        if unknown:
            raise DatasetError(f"{self.title} has no task(s) {unknown}; its tasks are {list(self.task_names)}")
        return self.tasks(chosen)

    def dataset(
        self, split: str, tasks: Sequence[str], options: Mapping[str, Any] | None = None, images: int | None = None
    ) -> torch.utils.data.Dataset:
        """The raw (untransformed) ``split`` with ``tasks``; ``images`` keeps the first N samples."""
        unknown = sorted(set(options or {}) - set(self.options))
        if unknown:
            raise DatasetError(f"{self.title} takes no data option(s) {unknown}; its options are {list(self.options)}")
        self.task_definitions(tasks)
        data = self.build(split, list(tasks), images, **dict(options or {}))
        if images is not None and images < len(data):  # type: ignore[arg-type]
            return torch.utils.data.Subset(data, range(images))
        return data

    def train_transforms(
        self, size: tuple[int, int] | int, crop: tuple[int, int] | int | None = None,
        preprocessing: Preprocessing | None = None,
    ) -> Compose:
        """The training augmentation at ``size`` (optionally cropped), ending with normalisation."""
        size = size_pair(size)
        steps = self.augmentation(size, None if crop is None else size_pair(crop, "crop"))
        return Compose([*steps, ToModelInput.from_preprocessing(preprocessing or Preprocessing())])

    def meters(self, tasks: Sequence[Task]) -> dict[str, Meter]:
        """One fresh meter per task, with this dataset's conventions."""
        return {task.name: task.meter(**self.meter_options.get(task.kind, {})) for task in tasks}


DATASETS: Registry[DatasetSpec] = Registry("dataset", UnknownNameError)


def dataset_spec(name: str) -> DatasetSpec:
    """The registry row of ``name``; an unknown name raises :class:`DatasetError` with the known ones."""
    try:
        return DATASETS.get(name)
    except UnknownNameError as unknown:
        raise DatasetError(str(unknown)) from None


def train_transforms(
    dataset: str,
    size: tuple[int, int] | int,
    *,
    crop: tuple[int, int] | int | None = None,
    preprocessing: Preprocessing | None = None,
) -> Compose:
    """The training augmentation of ``dataset`` at ``size``, ending with :class:`ToModelInput`.

    * ``"nyud"`` (paper: 480×640): flip, zoom by 1, 1.2 or 1.5 about the centre, resize to ``size``.
    * ``"pascal_context"`` (paper: 512×512): flip, scale uniform in [0.75, 1.25] and rotate
      uniform in [-20°, 20°] about the centre, resize to ``size``.
    * ``"synthrooms"``: resize to ``size``, flip, scale uniform in [1, 1.25], random crop of
      ``crop`` (default ``size``), light colour jitter.

    The NYUD and PASCAL pipelines follow the MTI-Net reference code and take no ``crop``.
    ``preprocessing`` supplies mean / std (default ImageNet). Each dataset's row
    (:data:`DATASETS`) owns its augmentation.
    """
    return dataset_spec(dataset).train_transforms(size, crop, preprocessing)


def folder_builder(cls: type[torch.utils.data.Dataset], title: str) -> Builder:
    """The builder of a dataset read from a folder (NYUD-v2, PASCAL-Context): needs ``root``."""

    def build(split: str, tasks: Sequence[str], images: int | None, *, root: str | None = None) -> torch.utils.data.Dataset:
        if root is None:
            raise DatasetError(
                f"{title} needs its folder: set data.root in the recipe or pass --data-root PATH "
                "(the dataset cannot be downloaded by medusa_zoo)"
            )
        return cls(root, split=split, tasks=tasks)

    return build


DATASETS.register("synthrooms", DatasetSpec(
    "synthrooms", "SynthRooms", synthrooms.TASKS, synthrooms.synthrooms_tasks, synthrooms.from_options,
    synthrooms.augmentation, description="procedurally ray-cast rooms with exact labels (ours, generated on the fly)",
))  # fmt: skip
DATASETS.register("nyud", DatasetSpec(
    "nyud", "NYUD-v2", nyud.TASKS, nyud.nyud_tasks, folder_builder(nyud.NYUDv2, "nyud"), nyud.augmentation,
    description="NYUD-v2 in the NYUD_MT layout of the multi-task learning reference code",
))  # fmt: skip
DATASETS.register("pascal_context", DatasetSpec(
    "pascal_context", "PASCAL-Context", pascal.TASKS, pascal.pascal_tasks,
    folder_builder(pascal.PascalContext, "pascal_context"), pascal.augmentation,
    meter_options={"edge": {"tolerance": PASCAL_TOLERANCE}},
    description="PASCAL-Context in the PASCAL_MT layout of the multi-task learning reference code",
))  # fmt: skip
