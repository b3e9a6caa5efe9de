"""User-defined dense regression: any number of real-valued channels per pixel.

The kind users pick with ``model.add_task(name, kind="dense_regression", out_channels=C)``
for a quantity the built-in tasks do not cover (albedo, optical flow, a heat map...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import IncompatibleConfigError
from .base import Task, register_kind
from .colour import apply_colormap


def valid_pixels(target: torch.Tensor) -> torch.Tensor:
    """(B, H, W) mask of pixels whose every target channel is finite (NaN marks "no label")."""
    return torch.isfinite(target).all(dim=1)


@register_kind
@dataclass(frozen=True)
class RegressionTask(Task):
    """``out_channels`` real values per pixel; a target pixel holding NaN in any channel is ignored.

    Targets are (B, C, H, W), or (B, H, W) for one channel. Loss: L1 over valid pixels.
    Prediction: the raw output as float32, (H, W) for one channel and (C, H, W) otherwise.
    """

    kind = "dense_regression"
    lower_is_better = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.out_channels < 1:
            raise IncompatibleConfigError(f"task {self.name!r} needs at least 1 output channel, got {self.out_channels}")

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = as_channels(target.float(), self.out_channels)
        valid = valid_pixels(target)
        if not valid.any():
            return logits.sum() * 0.0  # keeps the graph (and DDP) intact on label-free batches
        return F.l1_loss(logits.float().permute(0, 2, 3, 1)[valid], target.permute(0, 2, 3, 1)[valid])

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        return logits[:, 0] if self.out_channels == 1 else logits

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        values = prediction.cpu().float().numpy()
        if values.ndim == 3 and values.shape[0] == 3:  # three channels: shown as RGB, each stretched
            low = values.min(axis=(1, 2), keepdims=True)
            span = np.maximum(values.max(axis=(1, 2), keepdims=True) - low, 1e-6)
            return ((values - low) / span * 255).round().astype(np.uint8).transpose(1, 2, 0)
        first = values if values.ndim == 2 else values[0]
        low, high = np.nanmin(first), np.nanmax(first)
        return apply_colormap((first - low) / max(float(high - low), 1e-6))


def as_channels(target: torch.Tensor, channels: int) -> torch.Tensor:
    """A (B, H, W) target of a one-channel task as (B, 1, H, W); check the channel count."""
    if target.dim() == 3 and channels == 1:
        target = target[:, None]
    if target.dim() != 4 or target.shape[1] != channels:
        raise IncompatibleConfigError(
            f"dense_regression targets must be (B, {channels}, H, W), got {tuple(target.shape)}"
        )
    return target
