"""User-defined dense regression: any number of real-valued channels per pixel.

The kind users pick with ``model.add_task(name, kind="dense_regression", out_channels=C)``
for a quantity the built-in tasks do not cover (albedo, optical flow, a heat map...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import IncompatibleConfigError
from ..labels import valid_values
from ..metrics import RegressionMeter
from ..metrics.regression import as_channels
from .base import Baseline, Task, register_kind
from .colour import apply_colormap


@register_kind
@dataclass(frozen=True)
class RegressionTask(Task):
    """``out_channels`` real values per pixel; a target pixel holding NaN in any channel is ignored.

    Targets are (B, C, H, W), or (B, H, W) for one channel. Loss: L1 over valid pixels.
    Prediction: the raw output as float32, (H, W) for one channel and (C, H, W) otherwise.
    Meter: RMSE and MAE. Baseline: the per-channel train mean.
    """

    kind = "dense_regression"
    lower_is_better = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.out_channels < 1:
            raise IncompatibleConfigError(f"task {self.name!r} needs at least 1 output channel, got {self.out_channels}")

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = as_channels(target.float(), self.out_channels)
        valid = valid_values(target)
        count = valid.sum()
        if not count:
            return logits.sum() * 0.0  # keeps the graph (and DDP) intact on label-free batches
        error = (logits.float() - torch.where(valid[:, None], target, 0.0)).abs()
        return torch.where(valid[:, None], error, 0.0).sum() / (count * self.out_channels)

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

    def valid_mask(self, target: torch.Tensor) -> torch.Tensor:
        return valid_values(as_channels(target, self.out_channels))

    def meter(self, **options: Any) -> RegressionMeter:
        return RegressionMeter(self.out_channels, **options)

    def baseline(self, statistic: Mapping[str, Any] | None = None) -> ChannelMean:
        return ChannelMean(self, statistic)

    def example_target(self, batch: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        target = torch.randn(batch, self.out_channels, *size, generator=generator)
        target[:, :, 0, 0] = float("nan")
        return target


class ChannelMean(Baseline):
    """The mean of each channel over the valid train pixels (the constant with the least RMSE)."""

    def __init__(self, task: Task, statistic: Mapping[str, Any] | None = None) -> None:
        super().__init__(task, statistic)
        self.total = torch.zeros(task.out_channels, dtype=torch.float64)
        self.count = 0

    def add(self, target: torch.Tensor) -> None:
        values = as_channels(torch.as_tensor(target).to(torch.float64)[None], self.task.out_channels)
        valid = valid_values(values)
        self.total += values.permute(0, 2, 3, 1)[valid].sum(0)
        self.count += int(valid.sum())

    def statistic(self) -> dict[str, Any]:
        self._require(self.count, "valid train pixel")
        return {"mean": (self.total / self.count).tolist(), "pixels": self.count}

    def constant(self, batch: int, size: tuple[int, int]) -> torch.Tensor:
        mean = torch.tensor(self.fitted["mean"], dtype=torch.float32)  # type: ignore[index]
        values = mean.view(1, -1, 1, 1).expand(batch, self.task.out_channels, *size).contiguous()
        return values[:, 0] if self.task.out_channels == 1 else values

    def describe(self) -> str:
        return "per-channel mean " + ", ".join(f"{v:.4g}" for v in (self.fitted or {})["mean"])
