"""Per-pixel binary tasks: edge detection and saliency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from .base import BUILTIN_TASKS, IGNORE_INDEX, Task, register_kind, squeeze_channel


@dataclass(frozen=True)
class BinaryTask(Task):
    """A foreground probability per pixel, trained with class-balanced cross-entropy.

    The positive pixels' loss is weighted by ``w`` and the negatives' by ``1 - w``, where
    ``w`` is ``pos_weight`` when set, else the fraction of negative labels in the batch
    (HED-style balancing, as in the MTI-Net reference code). Pixels labelled 255 are
    ignored. Prediction: (H, W) float32 probabilities.
    """

    fixed_channels = 1
    pos_weight: ClassVar[float | None] = None

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = squeeze_channel(target).float()
        valid = target != IGNORE_INDEX
        positive = (target >= 0.5) & valid
        negative = ~positive & valid
        if self.pos_weight is not None:
            w = torch.tensor(self.pos_weight, device=logits.device)
        else:
            w = negative.sum() / valid.sum().clamp(min=1)
        per_pixel = F.binary_cross_entropy_with_logits(logits[:, 0].float(), positive.float(), reduction="none")
        total = w * per_pixel[positive].sum() + (1 - w) * per_pixel[negative].sum()
        return total / valid.sum().clamp(min=1)

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits[:, 0].float())

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        grey = (prediction.cpu().float().numpy() * 255).clip(0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)


@register_kind
@dataclass(frozen=True)
class EdgeTask(BinaryTask):
    """Object and semantic boundaries; positives weighted 0.95 as in the MTI-Net code."""

    kind = "edge"
    pos_weight = 0.95


@register_kind
@dataclass(frozen=True)
class SaliencyTask(BinaryTask):
    """Salient objects versus background, with per-batch class balancing."""

    kind = "saliency"


BUILTIN_TASKS.register("edge", EdgeTask("edge", 1))
BUILTIN_TASKS.register("saliency", SaliencyTask("saliency", 1))
