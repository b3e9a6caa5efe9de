"""Dense regression of scene geometry: depth in metres and surface normals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DatasetError
from ..labels import squeeze_channel, valid_depth, valid_normals
from ..metrics import DepthMeter, NormalsMeter
from .base import BUILTIN_TASKS, Baseline, Task, register_kind
from .colour_scale import NON_FINITE, colour_scalar, depth_range


@register_kind
@dataclass(frozen=True)
class DepthTask(Task):
    """Depth along the optical axis in metres.

    Loss: L1 over valid pixels (finite, > 0 and not the ignore value). Prediction: (H, W)
    float32 metres, clamped at 0. Meter: RMSE. Baseline: the mean train depth.
    """

    kind = "depth"
    fixed_channels = 1
    lower_is_better = True

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = squeeze_channel(target).float()
        valid = valid_depth(target)
        count = valid.sum()
        if not count:
            return logits.sum() * 0.0  # keeps the graph (and DDP) intact on label-free batches
        # masked by multiplication, not boolean indexing (which costs a nonzero() per call on CPU)
        error = (logits[:, 0].float() - torch.where(valid, target, 0.0)).abs()
        return torch.where(valid, error, 0.0).sum() / count

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return logits[:, 0].float().clamp(min=0)

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        """Near is dark blue, far is yellow (viridis-like), from 0 m to the 99th percentile of the finite
        depths (``colour_scale.depth_range``; farther is clipped to yellow); NaN / ±inf pixels are grey."""
        depth = prediction.cpu().float().numpy()
        return colour_scalar(depth, *depth_range(depth))

    def valid_mask(self, target: torch.Tensor) -> torch.Tensor:
        return valid_depth(squeeze_channel(target))

    def meter(self, **options: Any) -> DepthMeter:
        return DepthMeter(**options)

    def baseline(self, statistic: Mapping[str, Any] | None = None) -> MeanDepth:
        return MeanDepth(self, statistic)

    def example_target(self, batch: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        return torch.rand(batch, *size, generator=generator) * 5 + 0.5


@register_kind
@dataclass(frozen=True)
class NormalsTask(Task):
    """Unit surface normals in the camera frame (x, y, z channels).

    Loss: L1 between the L2-normalised output and the target over valid pixels (target not
    all zero and no component the ignore value). Prediction: (3, H, W) float32 unit vectors.
    Meter: angular errors. Baseline: the mean train direction.
    """

    kind = "normals"
    fixed_channels = 3
    lower_is_better = True

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.float()
        valid = valid_normals(target)
        count = valid.sum()
        if not count:
            return logits.sum() * 0.0
        pred = F.normalize(logits.float(), dim=1)
        error = (pred - torch.where(valid[:, None], target, 0.0)).abs().sum(dim=1)
        return torch.where(valid, error, 0.0).sum() / count

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return F.normalize(logits.float(), dim=1)

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        """Each component in [-1, 1] to a channel in [0, 255]: red = x (right), green = y (up), blue = z
        (towards the camera). A wall facing the camera is lavender (128, 128, 255), a floor light green
        (128, 255, 128); a pixel with a NaN / ±inf component is grey."""
        normals = prediction.cpu().float().permute(1, 2, 0).numpy()
        finite = np.isfinite(normals).all(axis=2)
        rgb = (np.where(finite[..., None], normals, 0.0) + 1.0) * 127.5
        picture = rgb.clip(0, 255).round().astype(np.uint8)
        picture[~finite] = NON_FINITE
        return picture

    def valid_mask(self, target: torch.Tensor) -> torch.Tensor:
        return valid_normals(target)

    def meter(self, **options: Any) -> NormalsMeter:
        return NormalsMeter(**options)

    def baseline(self, statistic: Mapping[str, Any] | None = None) -> MeanDirection:
        return MeanDirection(self, statistic)

    def example_target(self, batch: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        return F.normalize(torch.randn(batch, 3, *size, generator=generator), dim=1)


class MeanDepth(Baseline):
    """The mean depth over valid train pixels, pooled over all pixels (float64 sums).

    Valid as :func:`~medusa_zoo.labels.valid_depth` says (what the loss and meter use). The
    mean is the constant with the least RMSE, the depth meter's primary metric.
    """

    def __init__(self, task: Task, statistic: Mapping[str, Any] | None = None) -> None:
        super().__init__(task, statistic)
        self.total, self.count = 0.0, 0

    def add(self, target: torch.Tensor) -> None:
        depth = torch.as_tensor(target).to(torch.float64)
        valid = valid_depth(depth)
        self.total += float(depth[valid].sum())
        self.count += int(valid.sum())

    def statistic(self) -> dict[str, Any]:
        self._require(self.count, "valid train depth pixel")
        return {"mean": self.total / self.count, "pixels": self.count}

    def constant(self, batch: int, size: tuple[int, int]) -> torch.Tensor:
        return torch.full((batch, *size), float(self.fitted["mean"]), dtype=torch.float32)  # type: ignore[index]

    def describe(self) -> str:
        return f"mean depth {(self.fitted or {})['mean']:.4f} m"


class MeanDirection(Baseline):
    """The mean direction of the valid train normals: their sum, normalised.

    Each valid target (as :func:`~medusa_zoo.labels.valid_normals` says) is normalised before
    summing. The mean direction minimises the summed squared chord distance (equivalently
    maximises the summed cosine) to the targets; it is the standard constant, not the exact
    minimiser of the mean angle (that would be the spherical median). ``resultant_length``
    (|sum| / count, in [0, 1]) says how concentrated the train normals are.
    """

    def __init__(self, task: Task, statistic: Mapping[str, Any] | None = None) -> None:
        super().__init__(task, statistic)
        self.total = torch.zeros(3, dtype=torch.float64)
        self.count = 0

    def add(self, target: torch.Tensor) -> None:
        normals = torch.as_tensor(target).to(torch.float64)
        if normals.dim() != 3 or normals.shape[0] != 3:
            raise DatasetError(f"{self.task.name}: normal targets must be (3, H, W), got {tuple(normals.shape)}")
        valid = valid_normals(normals, dim=0)
        vectors = torch.nn.functional.normalize(normals.movedim(0, -1)[valid], dim=-1)
        self.total += vectors.sum(0)
        self.count += int(valid.sum())

    def statistic(self) -> dict[str, Any]:
        length = float(self.total.norm())
        if self.count == 0 or length == 0:
            raise DatasetError(f"{self.task.name}: the train normals have no mean direction")
        return {"direction": (self.total / length).tolist(), "resultant_length": length / self.count, "pixels": self.count}

    def constant(self, batch: int, size: tuple[int, int]) -> torch.Tensor:
        direction = torch.tensor(self.fitted["direction"], dtype=torch.float32)  # type: ignore[index]
        return direction.view(1, 3, 1, 1).expand(batch, 3, *size).contiguous()

    def describe(self) -> str:
        stat = self.fitted or {}
        x, y, z = stat["direction"]
        return f"mean normal ({x:+.4f}, {y:+.4f}, {z:+.4f}), resultant length {stat['resultant_length']:.3f}"


BUILTIN_TASKS.register("depth", DepthTask("depth", 1))
BUILTIN_TASKS.register("normals", NormalsTask("normals", 3))
