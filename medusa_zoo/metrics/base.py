"""The meter contract, input checks shared by every meter, and the multi-task score Δm.

A meter accumulates *sufficient statistics* (counts, sums, histograms) batch by batch, so
``compute()`` after any split of a dataset into batches equals one pass over the whole
dataset at once (as the MTI-Net reference evaluation code pools pixels over the dataset).
Every percent-style metric (IoU, F-measures, ``within_*``) is reported on a 0–100 scale;
errors (RMSE, angles) are in their natural units.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

import torch

from ..errors import DatasetError, IncompatibleConfigError
from ..labels import IGNORE_INDEX, squeeze_channel

IGNORE_VALUE = IGNORE_INDEX
"""Target value meaning "no label here": :data:`medusa_zoo.labels.IGNORE_INDEX` under its older name."""


class Meter(ABC):
    """Accumulates one task's metric over a dataset: ``update`` per batch, then ``compute``.

    ``primary`` names the key of :meth:`compute` used for Δm and model selection, and
    ``lower_is_better`` says which direction of that key is an improvement. A fresh meter
    (or one just :meth:`reset`) reports NaN for every key.
    """

    primary: ClassVar[str]
    lower_is_better: ClassVar[bool]

    def __init__(self) -> None:
        self.reset()

    @abstractmethod
    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add one batch: post-processed ``prediction`` against the dataset's ``target``."""

    @abstractmethod
    def compute(self) -> dict[str, float]:
        """The metrics over everything added since the last reset, as plain floats."""

    @abstractmethod
    def reset(self) -> None:
        """Forget everything accumulated so far."""


def as_tensor(x: torch.Tensor, name: str) -> torch.Tensor:
    """``x`` as a detached tensor (numpy arrays are accepted too)."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as bad:
            raise DatasetError(f"{name} must be a tensor, got {type(x).__name__}: {bad}") from None
    return x.detach()


def squeeze_target(target: torch.Tensor, name: str = "target") -> torch.Tensor:
    """A (B, H, W) target from (B, H, W) or (B, 1, H, W); anything else is an error."""
    target = squeeze_channel(as_tensor(target, name))
    if target.dim() != 3:
        raise DatasetError(
            f"{name} must have shape (B, H, W) or (B, 1, H, W), got {tuple(target.shape)}"
        )
    return target


def check_same_shape(prediction: torch.Tensor, target: torch.Tensor, task: str) -> None:
    """Raise :class:`DatasetError` unless prediction and target shapes agree."""
    if prediction.shape != target.shape:
        raise DatasetError(
            f"{task}: prediction shape {tuple(prediction.shape)} does not match target shape "
            f"{tuple(target.shape)}; resize the prediction to the label size before evaluating"
        )


def to_float64(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float64, on its own device when that device supports float64, else on CPU."""
    if x.device.type == "mps":
        x = x.cpu()
    return x.to(torch.float64)


def safe_div(num: float, den: float) -> float:
    """``num / den``, or NaN when ``den`` is zero (no data to average over)."""
    return num / den if den else math.nan


def delta_m(
    multi: Mapping[str, Mapping[str, float]],
    single: Mapping[str, Mapping[str, float]],
    primary: Mapping[str, tuple[str, bool]],
) -> float:
    """Multi-task performance Δm in percent (Maninis et al. 2019; MTI-Net).

    ``Δm = mean_t (-1)^{l_t} (M_mt,t - M_st,t) / M_st,t × 100`` over the tasks of
    ``primary``, which maps a task name to ``(metric_name, lower_is_better)``; ``l_t`` is 1
    when lower is better. ``multi`` and ``single`` map task name -> metric name -> value
    (e.g. ``meter.compute()``). Positive Δm means the multi-task model is better.
    """
    if not primary:
        raise IncompatibleConfigError("delta_m needs at least one task in `primary`")
    terms = []
    for task, (metric, lower_is_better) in primary.items():
        m_mt = _lookup(multi, task, metric, "multi-task")
        m_st = _lookup(single, task, metric, "single-task")
        if m_st == 0 or not math.isfinite(m_st):
            raise IncompatibleConfigError(
                f"single-task {metric!r} of task {task!r} is {m_st}; Δm divides by it, so it must be "
                "finite and non-zero"
            )
        sign = -1.0 if lower_is_better else 1.0
        terms.append(sign * (m_mt - m_st) / m_st * 100.0)
    return sum(terms) / len(terms)


def delta_m_from_meters(
    meters: Mapping[str, Meter], single: Mapping[str, Mapping[str, float]]
) -> float:
    """Δm of the multi-task results held by ``meters`` (task name -> meter) against ``single``.

    Each meter's ``primary`` key and ``lower_is_better`` select the metric and its sign.
    """
    multi = {task: meter.compute() for task, meter in meters.items()}
    primary = {task: (meter.primary, meter.lower_is_better) for task, meter in meters.items()}
    return delta_m(multi, single, primary)


def _lookup(results: Mapping[str, Mapping[str, float]], task: str, metric: str, which: str) -> float:
    if task not in results:
        raise IncompatibleConfigError(
            f"task {task!r} is missing from the {which} results (have: {', '.join(sorted(results)) or 'none'}); "
            f"Δm needs a {which} result for every task"
        )
    if metric not in results[task]:
        raise IncompatibleConfigError(
            f"the {which} results of task {task!r} lack the metric {metric!r} "
            f"(have: {', '.join(sorted(results[task])) or 'none'})"
        )
    return float(results[task][metric])
