"""Dense classification tasks: semantic segmentation and human parts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..bounds import bounded_int
from ..errors import DatasetError, IncompatibleConfigError
from ..labels import IGNORE_INDEX, labelled, squeeze_channel
from ..metrics import SegmentationMeter
from .base import BUILTIN_TASKS, MAX_CLASSES, Baseline, Task, register_kind
from .colour import label_palette

NYUD_LABELS = (
    "wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf",
    "picture", "counter", "blinds", "desk", "shelves", "curtain", "dresser", "pillow", "mirror",
    "floor mat", "clothes", "ceiling", "books", "refrigerator", "television", "paper", "towel",
    "shower curtain", "box", "whiteboard", "person", "night stand", "toilet", "sink", "lamp",
    "bathtub", "bag", "otherstructure", "otherfurniture", "otherprop",
)  # fmt: skip
PASCAL_LABELS = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip
HUMAN_PART_LABELS = ("background", "head", "torso", "upper arm", "lower arm", "upper leg", "lower leg")


@register_kind
@dataclass(frozen=True)
class SegmentationTask(Task):
    """Per-pixel classification into ``out_channels`` classes; the ignore label (255) is skipped.

    Loss: cross-entropy. Prediction: (H, W) int64 class indices. Meter: mIoU. Baseline: the
    majority class. ``model.add_task`` also knows this kind as ``"dense_classification"``.
    """

    kind = "segmentation"
    aliases = ("dense_classification",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.out_channels < 2:
            raise IncompatibleConfigError(f"task {self.name!r} needs at least 2 classes, got {self.out_channels}")
        if self.labels and len(self.labels) != self.out_channels:
            raise IncompatibleConfigError(
                f"task {self.name!r} has {self.out_channels} classes but {len(self.labels)} label names; "
                "give one name per class"
            )

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = squeeze_channel(target).long()
        if not labelled(target).any():
            return logits.sum() * 0.0  # cross-entropy would average over no pixels: NaN
        return F.cross_entropy(logits.float(), target, ignore_index=IGNORE_INDEX)

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.argmax(dim=1)

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        """Class ``k`` in the PASCAL VOC palette colour ``label_palette(256)[k]``: class 0 black, 1 dark red,
        2 dark green, 3 olive...; ``medusa_zoo.pictures`` draws the legend of class names and colours."""
        palette = label_palette(256)
        return palette[prediction.cpu().numpy().astype(np.uint8)]

    def valid_mask(self, target: torch.Tensor) -> torch.Tensor:
        return labelled(squeeze_channel(target))

    def meter(self, **options: Any) -> SegmentationMeter:
        return SegmentationMeter(self.out_channels, **options)

    def baseline(self, statistic: Mapping[str, Any] | None = None) -> MajorityClass:
        return MajorityClass(self, statistic)

    def example_target(self, batch: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        target = torch.randint(0, self.out_channels, (batch, *size), generator=generator)
        target[:, 0, 0] = IGNORE_INDEX
        return target

    @classmethod
    def create(cls, name: str, out_channels: int | None = None, labels: Sequence[str] | None = None) -> Task:
        if out_channels is None and not labels:
            raise IncompatibleConfigError(f"kind={cls.kind!r} needs out_channels=K (the number of classes) or labels=[...]")
        count = out_channels if out_channels is not None else len(labels or ())
        bounded_int(count, f"task {name!r} out_channels", 2, MAX_CLASSES)  # before naming that many classes
        names = tuple(labels) if labels else tuple(f"class_{i}" for i in range(count))
        return cls(name, count, names)

    def with_classes(self, num_classes: int, labels: tuple[str, ...] | None = None) -> Task:
        bounded_int(num_classes, f"task {self.name!r} num_classes", 2, MAX_CLASSES)
        if labels is None:
            keep = self.labels if len(self.labels) == num_classes else ()
            labels = keep or tuple(f"class_{i}" for i in range(num_classes))
        return replace(self, out_channels=num_classes, labels=labels)


class MajorityClass(Baseline):
    """The most frequent class among labelled train pixels (the ignore label is not a class).

    The majority class maximises pixel accuracy among constant predictions. Ties go to the
    lowest class index. ``fraction`` is the majority's share of labelled train pixels.
    """

    def __init__(self, task: Task, statistic: Mapping[str, Any] | None = None) -> None:
        super().__init__(task, statistic)
        self.counts = torch.zeros(task.out_channels, dtype=torch.int64)

    def add(self, target: torch.Tensor) -> None:
        labels = torch.as_tensor(target).long().flatten()
        labels = labels[labelled(labels)]
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.task.out_channels):
            raise DatasetError(
                f"{self.task.name}: labels span {int(labels.min())}..{int(labels.max())} but the task has "
                f"{self.task.out_channels} classes"
            )
        self.counts += torch.bincount(labels, minlength=self.task.out_channels)

    def statistic(self) -> dict[str, Any]:
        total = int(self.counts.sum())
        self._require(total, "labelled train pixel")
        k = int(torch.argmax(self.counts))  # first maximum: lowest index on ties
        label = self.task.labels[k] if self.task.labels else f"class_{k}"
        return {"class": k, "label": label, "fraction": float(self.counts[k]) / total, "pixels": total}

    def constant(self, batch: int, size: tuple[int, int]) -> torch.Tensor:
        return torch.full((batch, *size), int(self.fitted["class"]), dtype=torch.int64)  # type: ignore[index]

    def describe(self) -> str:
        stat = self.fitted or {}
        return f"majority class {stat['class']} ({stat['label']}, {100 * stat['fraction']:.1f}% of labelled pixels)"


BUILTIN_TASKS.register("semseg", SegmentationTask("semseg", len(NYUD_LABELS), NYUD_LABELS))
BUILTIN_TASKS.register("human_parts", SegmentationTask("human_parts", len(HUMAN_PART_LABELS), HUMAN_PART_LABELS))
