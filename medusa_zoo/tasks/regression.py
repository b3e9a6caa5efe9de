"""User-defined dense regression: any number of real-valued channels per pixel.

The kind users pick with ``model.add_task(name, kind="dense_regression", out_channels=C)``
for a quantity the built-in tasks do not cover (albedo, optical flow, a heat map...).

A head regresses numbers of order one well, a disparity of 7..60 badly: so the task may carry
per-channel target statistics (``target_mean``, ``target_std``, set by ``medusa_zoo.finetune``
from the training targets). The head is then trained on ``(target - mean) / std`` and its
predictions come back as ``logits * std + mean``, in the user's units. The statistics are part
of the task, so ``head.json`` and ``config.json`` (``to_config``) carry them; without them
(the default) the task is the identity it always was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from ..errors import IncompatibleConfigError
from ..labels import valid_values
from ..metrics import RegressionMeter
from ..metrics.regression import as_channels
from .base import Baseline, Task, register_kind
from .colour_scale import NON_FINITE, colour_finite, finite_range


@register_kind
@dataclass(frozen=True)
class RegressionTask(Task):
    """``out_channels`` real values per pixel; a target pixel holding NaN in any channel is ignored.

    Targets are (B, C, H, W), or (B, H, W) for one channel. Loss: L1 over valid pixels, in
    standardised units when ``target_mean`` / ``target_std`` are set (one value per channel;
    empty: mean 0, std 1). Prediction: the output mapped back to the targets' units, float32,
    (H, W) for one channel and (C, H, W) otherwise. Meter: RMSE and MAE. Baseline: the
    per-channel train mean.
    """

    target_mean: tuple[float, ...] = field(default=())
    target_std: tuple[float, ...] = field(default=())

    kind = "dense_regression"
    lower_is_better = True
    config_fields = ("target_mean", "target_std")  # to_config's extra fields, read back by task_from_config

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.out_channels < 1:
            raise IncompatibleConfigError(f"task {self.name!r} needs at least 1 output channel, got {self.out_channels}")
        check_statistics(self.name, self.out_channels, self.target_mean, self.target_std)
        object.__setattr__(self, "target_mean", tuple(float(m) for m in self.target_mean))  # lists from JSON
        object.__setattr__(self, "target_std", tuple(float(s) for s in self.target_std))

    def with_target_statistics(self, mean: tuple[float, ...], std: tuple[float, ...]) -> RegressionTask:
        """A copy trained on ``(target - mean) / std`` and predicting in the targets' units."""
        return replace(self, target_mean=tuple(float(m) for m in mean), target_std=tuple(float(s) for s in std))

    @property
    def standardised(self) -> bool:
        """Whether the head works in standardised units (statistics set)."""
        return bool(self.target_mean)

    def _affine(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = torch.tensor(self.target_mean, dtype=torch.float32, device=like.device).view(1, -1, 1, 1)
        std = torch.tensor(self.target_std, dtype=torch.float32, device=like.device).view(1, -1, 1, 1)
        return mean, std

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = as_channels(target.float(), self.out_channels)
        if self.standardised:
            mean, std = self._affine(target)
            target = (target - mean) / std  # NaN (unlabelled) stays NaN
        valid = valid_values(target)
        count = valid.sum()
        if not count:
            return logits.sum() * 0.0  # keeps the graph (and DDP) intact on label-free batches
        error = (logits.float() - torch.where(valid[:, None], target, 0.0)).abs()
        return torch.where(valid[:, None], error, 0.0).sum() / (count * self.out_channels)

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        if self.standardised:
            mean, std = self._affine(logits)
            logits = logits * std + mean
        return logits[:, 0] if self.out_channels == 1 else logits

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        if self.standardised:  # only then: configs of unstandardised tasks stay as they were
            config.update(target_mean=list(self.target_mean), target_std=list(self.target_std))
        return config

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        """One channel: dark blue (low) -> yellow (high) over the finite values; three channels: RGB, each
        stretched over its finite values. NaN / ±inf pixels are grey in both."""
        values = prediction.cpu().float().numpy()
        if values.ndim == 3 and values.shape[0] == 3:
            finite = np.isfinite(values).all(axis=0)
            channels = []
            for channel in values:
                low, high = finite_range(channel)
                channels.append(np.clip((np.where(finite, channel, low) - low) / max(high - low, 1e-6), 0, 1))
            picture = (np.stack(channels, axis=-1) * 255).round().astype(np.uint8)
            picture[~finite] = NON_FINITE
            return picture
        return colour_finite(values if values.ndim == 2 else values[0])

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


def check_statistics(name: str, channels: int, mean: Any, std: Any) -> None:
    """Target statistics are both empty, or ``channels`` finite means and finite positive stds."""
    values = (*mean, *std) if isinstance(mean, (tuple, list)) and isinstance(std, (tuple, list)) else None
    if values is not None and not values:
        return
    ok = (
        values is not None and len(mean) == len(std) == channels
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
        and all(s > 0 for s in std)
    )  # fmt: skip
    if not ok:
        raise IncompatibleConfigError(
            f"task {name!r} target_mean / target_std must be {channels} finite mean(s) and {channels} finite "
            f"positive std(s) (or both empty), got {mean!r} / {std!r}"
        )


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
