"""Per-pixel binary tasks: edge detection and saliency."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..labels import labelled, squeeze_channel
from ..metrics import EdgeMeter, Meter, SaliencyMeter
from .base import BUILTIN_TASKS, Baseline, Task, register_kind


@dataclass(frozen=True)
class BinaryTask(Task):
    """A foreground probability per pixel, trained with class-balanced cross-entropy.

    The positive pixels' loss is weighted by ``w`` and the negatives' by ``1 - w``, where
    ``w`` is ``pos_weight`` when set, else the fraction of negative labels in the batch
    (HED-style balancing, as in the MTI-Net reference code). Pixels holding the ignore label
    are skipped. Prediction: (H, W) float32 probabilities. Baseline: the all-positive map.
    """

    fixed_channels = 1
    pos_weight: ClassVar[float | None] = None

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = squeeze_channel(target).float()
        valid = labelled(target)
        positive = (target >= 0.5) & valid
        negative = ~positive & valid
        if self.pos_weight is not None:
            w = torch.tensor(self.pos_weight, device=logits.device)
        else:
            w = negative.sum() / valid.sum().clamp(min=1)
        per_pixel = F.binary_cross_entropy_with_logits(logits[:, 0].float(), positive.float(), reduction="none")
        weights = torch.where(positive, w, torch.where(negative, 1 - w, 0.0))  # no boolean indexing: no nonzero()
        return (per_pixel * weights).sum() / valid.sum().clamp(min=1)

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits[:, 0].float())

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        """Probability 0 is black, 1 is white, linearly in between; NaN pixels are mid grey (±inf clip)."""
        probability = prediction.cpu().float().numpy()
        grey = (np.nan_to_num(probability, nan=0.5) * 255).clip(0, 255).round().astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)

    def valid_mask(self, target: torch.Tensor) -> torch.Tensor:
        return labelled(squeeze_channel(target))

    def meter(self, **options: Any) -> Meter:
        raise NotImplementedError

    def baseline(self, statistic: Mapping[str, Any] | None = None) -> AllPositiveMap:
        return AllPositiveMap(self, statistic)

    def example_target(self, batch: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        return (torch.rand(batch, *size, generator=generator) > 0.8).float()


@register_kind
@dataclass(frozen=True)
class EdgeTask(BinaryTask):
    """Object and semantic boundaries; positives weighted 0.95 as in the MTI-Net code. Meter: odsF."""

    kind = "edge"
    pos_weight = 0.95

    def meter(self, **options: Any) -> EdgeMeter:
        return EdgeMeter(**options)


@register_kind
@dataclass(frozen=True)
class SaliencyTask(BinaryTask):
    """Salient objects versus background, with per-batch class balancing. Meter: maxF and max IoU."""

    kind = "saliency"

    def meter(self, **options: Any) -> SaliencyMeter:
        return SaliencyMeter(**options)


class AllPositiveMap(Baseline):
    """Probability 1 everywhere: the best constant map for maxF, max IoU and odsF.

    Every metric of these tasks takes its maximum over thresholds, so a constant map is either
    all positive or all negative at each threshold: its best score is that of the all-positive
    map (everything is an edge, everything is salient), which is never below the empty map's 0.
    Nothing is fitted for the prediction itself; the train ``positive_fraction`` (target >= 0.5
    among labelled pixels) is recorded for reference.
    """

    def __init__(self, task: Task, statistic: Mapping[str, Any] | None = None) -> None:
        super().__init__(task, statistic)
        self.positive, self.labelled = 0, 0

    def add(self, target: torch.Tensor) -> None:
        target = torch.as_tensor(target)
        valid = labelled(target)
        self.positive += int(((target >= 0.5) & valid).sum())
        self.labelled += int(valid.sum())

    def statistic(self) -> dict[str, Any]:
        fraction = self.positive / self.labelled if self.labelled else math.nan
        return {"probability": 1.0, "positive_fraction": fraction, "pixels": self.labelled}

    def constant(self, batch: int, size: tuple[int, int]) -> torch.Tensor:
        return torch.full((batch, *size), float(self.fitted["probability"]), dtype=torch.float32)  # type: ignore[index]

    def describe(self) -> str:
        stat = self.fitted or {}
        return f"all positive (p = {stat['probability']:g}; train positives {100 * stat['positive_fraction']:.2f}%)"


BUILTIN_TASKS.register("edge", EdgeTask("edge", 1))
BUILTIN_TASKS.register("saliency", SaliencyTask("saliency", 1))
