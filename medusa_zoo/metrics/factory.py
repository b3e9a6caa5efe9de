"""Pick the meter that evaluates a task: each task kind owns its meter (``task.meter()``)."""

from __future__ import annotations

from typing import Any

from ..errors import UnknownTaskError
from .base import Meter


def meter_for(task: Any, **kwargs: Any) -> Meter:
    """A fresh meter for ``task`` (``task.meter(**kwargs)``); ``kwargs`` go to its constructor.

    Segmentation meters get ``task.out_channels`` classes, e.g.
    ``meter_for(get_task("edge"), tolerance=PASCAL_TOLERANCE)``.
    """
    try:
        build = task.meter
    except AttributeError:
        raise UnknownTaskError(f"{task!r} is not a medusa_zoo task (it has no meter); pass a Task") from None
    try:
        return build(**kwargs)
    except NotImplementedError:
        raise UnknownTaskError(
            f"task {getattr(task, 'name', task)!r} of kind {getattr(task, 'kind', '?')!r} defines no meter; "
            "give its Task subclass a meter() method"
        ) from None
