"""Pick the meter that evaluates a task, from the task's kind."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from ..errors import UnknownTaskError
from ..tasks import Task
from .base import Meter
from .depth import DepthMeter
from .edge import EdgeMeter
from .normals import NormalsMeter
from .regression import RegressionMeter
from .saliency import SaliencyMeter
from .segmentation import SegmentationMeter

_BUILDERS: dict[str, Callable[..., Meter]] = {
    "segmentation": lambda task, **kw: SegmentationMeter(task.out_channels, **kw),
    "depth": lambda task, **kw: DepthMeter(**kw),
    "normals": lambda task, **kw: NormalsMeter(**kw),
    "edge": lambda task, **kw: EdgeMeter(**kw),
    "saliency": lambda task, **kw: SaliencyMeter(**kw),
    "dense_regression": lambda task, **kw: RegressionMeter(task.out_channels, **kw),
}


def meter_for(task: Task, **kwargs: Any) -> Meter:
    """A fresh meter for ``task``, chosen by ``task.kind``; ``kwargs`` go to its constructor.

    Segmentation meters get ``task.out_channels`` classes, e.g.
    ``meter_for(get_task("edge"), tolerance=PASCAL_TOLERANCE)``.
    """
    kind = getattr(task, "kind", None)
    if kind not in _BUILDERS:
        close = difflib.get_close_matches(str(kind), list(_BUILDERS), n=3, cutoff=0.5)
        raise UnknownTaskError(
            f"no meter for task kind {kind!r} (task {getattr(task, 'name', task)!r}); "
            f"known kinds: {', '.join(sorted(_BUILDERS))}",
            suggestions=close,
        )
    return _BUILDERS[kind](task, **kwargs)
