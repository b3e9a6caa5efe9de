"""The task definitions a network trained on SynthRooms needs: class counts and label names."""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import DatasetError
from ...tasks import Task, get_task
from .labels import PART_CLASSES, SEMSEG_CLASSES, TASKS


def synthrooms_tasks(names: Sequence[str] | None = None) -> tuple[Task, ...]:
    """Task definitions for SynthRooms labels (default: all six), in the order given.

    ``semseg`` has the 12 SynthRooms classes and ``parts`` the 7 part labels (a
    ``human_parts``-style segmentation task); the others are the built-in tasks.
    """
    chosen = list(TASKS if names is None else names)
    unknown = [n for n in chosen if n not in TASKS]
    if unknown:
        raise DatasetError(f"SynthRooms has no task(s) {unknown}; its tasks are {list(TASKS)}")
    special = {
        "semseg": get_task("semseg", num_classes=len(SEMSEG_CLASSES), labels=SEMSEG_CLASSES),
        "parts": get_task("human_parts", num_classes=len(PART_CLASSES), labels=PART_CLASSES).renamed("parts"),
    }
    return tuple(special[n] if n in special else get_task(n) for n in chosen)
