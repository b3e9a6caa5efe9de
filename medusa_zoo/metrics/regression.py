"""Errors of a user-defined dense regression task, pooled over the dataset's labelled pixels."""

from __future__ import annotations

import math

import torch

from ..errors import IncompatibleConfigError
from ..labels import valid_values
from .base import Meter, check_same_shape, safe_div, to_float64


def as_channels(target: torch.Tensor, channels: int) -> torch.Tensor:
    """A (B, H, W) target of a one-channel task as (B, 1, H, W); check the channel count."""
    if target.dim() == 3 and channels == 1:
        target = target[:, None]
    if target.dim() != 4 or target.shape[1] != channels:
        raise IncompatibleConfigError(
            f"dense_regression targets must be (B, {channels}, H, W), got {tuple(target.shape)}"
        )
    return target


class RegressionMeter(Meter):
    """``rmse`` and ``mae`` over every valid pixel and channel (a NaN target channel voids the pixel)."""

    primary = "rmse"
    lower_is_better = True

    def __init__(self, channels: int) -> None:
        self.channels = channels
        super().__init__()

    def reset(self) -> None:
        """Forget everything accumulated so far."""
        self.sq_err = 0.0
        self.abs_err = 0.0
        self.count = 0

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add post-processed predictions against targets, both (B, C, H, W) or (B, H, W) for one channel."""
        prediction = as_channels(to_float64(prediction), self.channels)
        target = as_channels(to_float64(target), self.channels)
        check_same_shape(prediction, target, "dense_regression")
        valid = valid_values(target)
        error = (prediction - target).permute(0, 2, 3, 1)[valid]
        self.sq_err += float((error**2).sum())
        self.abs_err += float(error.abs().sum())
        self.count += int(error.numel())

    def compute(self) -> dict[str, float]:
        """``rmse`` and ``mae`` (NaN before any valid pixel)."""
        return {"rmse": math.sqrt(safe_div(self.sq_err, self.count)), "mae": safe_div(self.abs_err, self.count)}
