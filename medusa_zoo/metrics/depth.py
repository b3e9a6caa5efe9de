"""Depth errors in metres, pooled over every valid pixel of the dataset."""

from __future__ import annotations

import math

import torch

from ..labels import valid_depth
from .base import Meter, check_same_shape, safe_div, squeeze_target, to_float64


class DepthMeter(Meter):
    """``rmse`` (metres) and ``log_rmse`` (natural log) over the dataset's valid pixels.

    A target pixel is valid when it is finite, > 0 and not the ignore value (:func:`~medusa_zoo.labels.valid_depth`).
    ``rmse = sqrt(Σ (pred - gt)² / N)`` with the sum and N over *all* valid pixels of the
    dataset, as in the MTI-Net reference NYUD evaluation (``eval_depth`` pools squared errors
    and pixel counts over the loader, it does not average per-image RMSEs; per-image averaging
    weights small or sparsely labelled images more). For ``log_rmse`` predictions are clamped
    at ``eps`` (1e-9 as in the reference) before the log.
    """

    primary = "rmse"
    lower_is_better = True

    def __init__(self, eps: float = 1e-9) -> None:
        self.eps = eps
        super().__init__()

    def reset(self) -> None:
        """Forget everything accumulated so far."""
        self.sq_err = 0.0
        self.sq_log_err = 0.0
        self.count = 0

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add (B, H, W) / (B, 1, H, W) depths in metres against targets of either shape."""
        prediction = to_float64(squeeze_target(prediction, "depth prediction"))
        target = to_float64(squeeze_target(target))
        check_same_shape(prediction, target, "depth")
        valid = valid_depth(target)
        pred, true = prediction[valid], target[valid]
        self.sq_err += float(((pred - true) ** 2).sum())
        log_diff = torch.log(pred.clamp(min=self.eps)) - torch.log(true)
        self.sq_log_err += float((log_diff**2).sum())
        self.count += int(valid.sum())

    def compute(self) -> dict[str, float]:
        """``rmse`` and ``log_rmse`` (NaN before any valid pixel)."""
        return {
            "rmse": math.sqrt(safe_div(self.sq_err, self.count)),
            "log_rmse": math.sqrt(safe_div(self.sq_log_err, self.count)),
        }
