"""Task definitions: output size, label names, loss, post-processing and colouring per task.

Built-in tasks (``semseg``, ``human_parts``, ``depth``, ``normals``, ``edge``,
``saliency``) are available by name through :func:`get_task`, and user-defined
``dense_regression`` tasks by kind; every task kind lives in one
file of this package.
"""

from .base import BUILTIN_TASKS, IGNORE_INDEX, TASK_KINDS, Task, get_task, resize_logits, task_from_config
from .binary import BinaryTask, EdgeTask, SaliencyTask
from .geometry import DepthTask, NormalsTask
from .regression import RegressionTask
from .segmentation import HUMAN_PART_LABELS, NYUD_LABELS, PASCAL_LABELS, SegmentationTask

__all__ = [
    "BUILTIN_TASKS",
    "IGNORE_INDEX",
    "TASK_KINDS",
    "Task",
    "get_task",
    "resize_logits",
    "task_from_config",
    "BinaryTask",
    "EdgeTask",
    "SaliencyTask",
    "DepthTask",
    "NormalsTask",
    "RegressionTask",
    "SegmentationTask",
    "NYUD_LABELS",
    "PASCAL_LABELS",
    "HUMAN_PART_LABELS",
]
