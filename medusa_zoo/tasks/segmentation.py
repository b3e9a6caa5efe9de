"""Dense classification tasks: semantic segmentation and human parts."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import IncompatibleConfigError
from .base import BUILTIN_TASKS, IGNORE_INDEX, Task, register_kind, squeeze_channel
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
    """Per-pixel classification into ``out_channels`` classes; label 255 is ignored.

    Loss: cross-entropy. Prediction: (H, W) int64 class indices.
    """

    kind = "segmentation"

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
        if not (target != IGNORE_INDEX).any():
            return logits.sum() * 0.0  # cross-entropy would average over no pixels: NaN
        return F.cross_entropy(logits.float(), target, ignore_index=IGNORE_INDEX)

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.argmax(dim=1)

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        palette = label_palette(256)
        return palette[prediction.cpu().numpy().astype(np.uint8)]

    def with_classes(self, num_classes: int, labels: tuple[str, ...] | None = None) -> Task:
        if labels is None:
            keep = self.labels if len(self.labels) == num_classes else ()
            labels = keep or tuple(f"class_{i}" for i in range(num_classes))
        return replace(self, out_channels=num_classes, labels=labels)


BUILTIN_TASKS.register("semseg", SegmentationTask("semseg", len(NYUD_LABELS), NYUD_LABELS))
BUILTIN_TASKS.register("human_parts", SegmentationTask("human_parts", len(HUMAN_PART_LABELS), HUMAN_PART_LABELS))
