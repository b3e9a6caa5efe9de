"""Dense regression of scene geometry: depth in metres and surface normals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .base import BUILTIN_TASKS, IGNORE_INDEX, Task, register_kind, squeeze_channel
from .colour import apply_colormap


@register_kind
@dataclass(frozen=True)
class DepthTask(Task):
    """Depth along the optical axis in metres.

    Loss: L1 over valid pixels (finite, > 0 and not the ignore value 255). Prediction:
    (H, W) float32 metres, clamped at 0.
    """

    kind = "depth"
    fixed_channels = 1
    lower_is_better = True

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = squeeze_channel(target).float()
        valid = torch.isfinite(target) & (target > 0) & (target != IGNORE_INDEX)
        if not valid.any():
            return logits.sum() * 0.0  # keeps the graph (and DDP) intact on label-free batches
        return F.l1_loss(logits[:, 0].float()[valid], target[valid])

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return logits[:, 0].float().clamp(min=0)

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        depth = prediction.cpu().float().numpy()
        valid = depth[depth > 0]
        top = float(np.percentile(valid, 99)) if valid.size else 1.0
        return apply_colormap(depth / max(top, 1e-6))


@register_kind
@dataclass(frozen=True)
class NormalsTask(Task):
    """Unit surface normals in the camera frame (x, y, z channels).

    Loss: L1 between the L2-normalised output and the target over valid pixels (target
    not all zero and not 255). Prediction: (3, H, W) float32 unit vectors.
    """

    kind = "normals"
    fixed_channels = 3
    lower_is_better = True

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.float()
        valid = (target.abs().sum(dim=1) > 0) & (target != IGNORE_INDEX).all(dim=1) & torch.isfinite(target).all(dim=1)
        if not valid.any():
            return logits.sum() * 0.0
        pred = F.normalize(logits.float(), dim=1)
        return (pred - target).abs().sum(dim=1)[valid].mean()

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return F.normalize(logits.float(), dim=1)

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        rgb = (prediction.cpu().float().permute(1, 2, 0).numpy() + 1.0) * 127.5
        return rgb.clip(0, 255).astype(np.uint8)


BUILTIN_TASKS.register("depth", DepthTask("depth", 1))
BUILTIN_TASKS.register("normals", NormalsTask("normals", 3))
