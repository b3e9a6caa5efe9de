"""Salient-object metrics over a grid of thresholds: max F-beta and max IoU."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ..errors import IncompatibleConfigError
from ..labels import labelled
from .base import Meter, check_same_shape, squeeze_target, to_float64

DEFAULT_SALIENCY_THRESHOLDS = tuple(np.round(np.arange(1, 100) * 0.01, 2).tolist())
"""0.01, 0.02, ..., 0.99."""

REFERENCE_SALIENCY_THRESHOLDS = tuple(np.linspace(0.2, 0.9, 15).tolist())
"""The ASTMT / MTI-Net reference ``eval_sal`` grid: 15 thresholds from 0.2 to 0.9."""

SALIENCY_PROTOCOLS = {
    "pooled": "pooled over the dataset, 99 thresholds 0.01..0.99, maxF with beta^2 = 0.3 (this package's default)",
    "reference": "per image then averaged, 15 thresholds 0.2..0.9, maxF with beta = 1 (the MTI-Net reference eval_sal)",
}
"""The saliency protocols :meth:`SaliencyMeter.protocol` builds, by name, with one line each."""


def check_thresholds(thresholds: Sequence[float], what: str) -> torch.Tensor:
    """Strictly increasing thresholds in (0, 1] as a float64 tensor, else a typed error."""
    values = torch.tensor([float(t) for t in thresholds], dtype=torch.float64)
    if values.numel() == 0 or not bool((values > 0).all() & (values <= 1).all()):
        raise IncompatibleConfigError(f"{what} thresholds must be non-empty and lie in (0, 1], got {list(thresholds)}")
    if values.numel() > 1 and not bool((values.diff() > 0).all()):
        raise IncompatibleConfigError(f"{what} thresholds must be strictly increasing, got {list(thresholds)}")
    return values


def f_beta(precision: torch.Tensor, recall: torch.Tensor, beta_sq: float) -> torch.Tensor:
    """``(1 + β²) P R / (β² P + R)``, 0 where both are 0."""
    den = beta_sq * precision + recall
    return torch.where(den > 0, (1 + beta_sq) * precision * recall / den.clamp(min=1e-300), 0.0)


class SaliencyMeter(Meter):
    """``maxF`` and ``max_mIoU`` in percent, both maxima over a fixed threshold grid.

    At threshold t a pixel is salient when its probability is ``> t`` (as in the ASTMT /
    MTI-Net reference ``eval_sal``); targets are salient where ``>= 0.5``, and 255 is ignored.
    Per threshold the meter accumulates tp / fp / fn / tn.

    - ``maxF``: max over t of F-beta with ``beta_sq = 0.3`` (the salient-object standard of
      Achanta et al. 2009, used by MTI-Net's successors' ``SaliencyMeterWithBeta``; the
      original MTI-Net ``eval_sal`` used F1).
    - ``max_mIoU``: max over t of the foreground IoU ``tp / (tp + fp + fn)`` — the quantity
      the MTI-Net reference reports as saliency "mIoU" (``jaccard`` of the salient mask).

    With ``per_image=False`` (default) the counts are pooled over the dataset, like every
    other meter here. ``per_image=True`` reproduces the reference exactly in its averaging:
    IoU, precision and recall are computed per image (IoU 1 when target and prediction are
    both empty; precision/recall 0 when undefined) and averaged over images before the max
    (and before F for ``maxF``). The reference used 15 thresholds ``linspace(0.2, 0.9)``;
    pass ``thresholds`` to match it.
    """

    primary = "max_mIoU"
    lower_is_better = False

    def __init__(
        self,
        thresholds: Sequence[float] = DEFAULT_SALIENCY_THRESHOLDS,
        beta_sq: float = 0.3,
        per_image: bool = False,
    ) -> None:
        self.thresholds = check_thresholds(thresholds, "saliency")
        self.beta_sq = beta_sq
        self.per_image = per_image
        super().__init__()

    @classmethod
    def protocol(cls, name: str) -> SaliencyMeter:
        """A fresh meter of a named protocol (:data:`SALIENCY_PROTOCOLS`): ``"pooled"`` or ``"reference"``."""
        if name == "pooled":
            return cls()
        if name == "reference":
            return cls(REFERENCE_SALIENCY_THRESHOLDS, beta_sq=1.0, per_image=True)
        raise IncompatibleConfigError(f"unknown saliency protocol {name!r}; choose one of {sorted(SALIENCY_PROTOCOLS)}")

    def reset(self) -> None:
        """Forget everything accumulated so far."""
        t = self.thresholds.numel()
        self.tp = torch.zeros(t, dtype=torch.int64)
        self.fp = torch.zeros(t, dtype=torch.int64)
        self.fn = torch.zeros(t, dtype=torch.int64)
        self.tn = torch.zeros(t, dtype=torch.int64)
        self.image_sums = torch.zeros(3, t, dtype=torch.float64)  # IoU, precision, recall
        self.images = 0

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add (B, H, W) probabilities against (B, H, W) / (B, 1, H, W) {0, 1, 255} labels."""
        prediction = squeeze_target(prediction, "saliency prediction")
        target = squeeze_target(target)
        check_same_shape(prediction, target, "saliency")
        tp, fp, fn, tn = self._counts(to_float64(prediction), target)
        self.tp += tp.sum(0)
        self.fp += fp.sum(0)
        self.fn += fn.sum(0)
        self.tn += tn.sum(0)
        self.images += tp.shape[0]
        if self.per_image:
            tp, fp, fn = tp.double(), fp.double(), fn.double()
            both_empty = (tp + fp + fn) == 0
            iou = torch.where(both_empty, 1.0, tp / (tp + fp + fn).clamp(min=1))
            precision = tp / (tp + fp).clamp(min=1)
            recall = tp / (tp + fn).clamp(min=1)
            self.image_sums += torch.stack([iou, precision, recall]).sum(1)

    def _counts(self, prediction: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per image and threshold (B, T) int64 tp, fp, fn, tn."""
        b, t = prediction.shape[0], self.thresholds.numel()
        valid = labelled(target)
        positive = (target >= 0.5) & valid
        # bucket k = number of thresholds strictly below p, so p > t_j exactly when k > j
        bucket = torch.bucketize(prediction, self.thresholds.to(prediction.device), right=False)
        image = torch.arange(b, device=bucket.device).view(b, 1, 1).expand_as(bucket)
        flat = (image * (t + 1) + bucket)
        pos_hist = torch.bincount(flat[positive], minlength=b * (t + 1)).view(b, t + 1).cpu()
        neg_hist = torch.bincount(flat[valid & ~positive], minlength=b * (t + 1)).view(b, t + 1).cpu()
        above_pos = pos_hist.flip(1).cumsum(1).flip(1)[:, 1:]  # count with bucket > j
        above_neg = neg_hist.flip(1).cumsum(1).flip(1)[:, 1:]
        pos_total, neg_total = pos_hist.sum(1, keepdim=True), neg_hist.sum(1, keepdim=True)
        return above_pos, above_neg, pos_total - above_pos, neg_total - above_neg

    def curve(self) -> dict[str, list[float]]:
        """Per threshold: ``thresholds``, ``precision``, ``recall``, ``F``, ``IoU`` (last three in percent)."""
        if self.per_image:
            n = max(self.images, 1)
            iou, precision, recall = (self.image_sums / n).unbind(0)
        else:
            tp, fp, fn = (x.to(torch.float64) for x in (self.tp, self.fp, self.fn))
            iou = tp / (tp + fp + fn).clamp(min=1)
            precision = tp / (tp + fp).clamp(min=1)
            recall = tp / (tp + fn).clamp(min=1)
        return {
            "thresholds": self.thresholds.tolist(),
            "precision": (precision * 100).tolist(),
            "recall": (recall * 100).tolist(),
            "F": (f_beta(precision, recall, self.beta_sq) * 100).tolist(),
            "IoU": (iou * 100).tolist(),
        }

    def compute(self) -> dict[str, float]:
        """``maxF`` and ``max_mIoU`` in percent (NaN before any labelled pixel or image)."""
        labelled = int(self.tp[0] + self.fp[0] + self.fn[0] + self.tn[0])
        if labelled == 0 and not (self.per_image and self.images):
            return {"maxF": math.nan, "max_mIoU": math.nan}
        curve = self.curve()
        return {"maxF": max(curve["F"]), "max_mIoU": max(curve["IoU"])}
