"""Task definitions: each task kind owns its loss, post-processing, colouring, validity mask,
meter, constant baseline and example targets (one file per task family).

Built-in tasks (``semseg``, ``human_parts``, ``depth``, ``normals``, ``edge``,
``saliency``) are available by name through :func:`get_task`; every registered kind
(``segmentation`` alias ``dense_classification``, ``depth``, ``normals``, ``edge``,
``saliency``, ``dense_regression``, and any kind a user registers with :func:`register_kind`)
through :func:`make_task`.
"""

from ..labels import IGNORE_INDEX
from .base import (
    BUILTIN_TASKS,
    MAX_CLASSES,
    TASK_KINDS,
    Baseline,
    Task,
    check_labels,
    check_task_name,
    get_task,
    make_task,
    register_kind,
    resize_logits,
    task_from_config,
    unregister_kind,
)
from .binary import AllPositiveMap, BinaryTask, EdgeTask, SaliencyTask
from .geometry import DepthTask, MeanDepth, MeanDirection, NormalsTask
from .regression import ChannelMean, RegressionTask
from .segmentation import HUMAN_PART_LABELS, NYUD_LABELS, PASCAL_LABELS, MajorityClass, SegmentationTask

__all__ = [
    "BUILTIN_TASKS",
    "HUMAN_PART_LABELS",
    "IGNORE_INDEX",
    "MAX_CLASSES",
    "NYUD_LABELS",
    "PASCAL_LABELS",
    "TASK_KINDS",
    "AllPositiveMap",
    "Baseline",
    "BinaryTask",
    "ChannelMean",
    "DepthTask",
    "EdgeTask",
    "MajorityClass",
    "MeanDepth",
    "MeanDirection",
    "NormalsTask",
    "RegressionTask",
    "SaliencyTask",
    "SegmentationTask",
    "Task",
    "check_labels",
    "check_task_name",
    "get_task",
    "make_task",
    "register_kind",
    "resize_logits",
    "task_from_config",
    "unregister_kind",
]
