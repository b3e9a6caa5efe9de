"""Mean intersection-over-union for dense classification (semseg, parts, human parts)."""

from __future__ import annotations

import math
from typing import Literal

import torch

from ..errors import DatasetError, IncompatibleConfigError
from ..labels import IGNORE_INDEX, labelled
from .base import Meter, check_same_shape, safe_div, squeeze_target


class SegmentationMeter(Meter):
    """Confusion matrix over the dataset; reports ``mIoU`` and ``pixel_acc`` in percent.

    Per class c, over all non-ignored pixels of the dataset: ``IoU_c = tp / (tp + fp + fn)``
    — the statistics of the MTI-Net reference ``eval_semseg``. A class that never occurs
    in target or prediction (``tp + fp + fn = 0``) has no IoU: with ``absent="exclude"``
    (default) it is left out of the mean, so a class missing from a small evaluation set
    does not drag mIoU down; ``absent="zero"`` counts it as 0, exactly as the reference
    averages over all classes (the two agree whenever every class appears). A class that
    is absent from the target but predicted somewhere has IoU 0 either way.
    ``pixel_acc`` is correct pixels / labelled pixels. :meth:`per_class` gives the IoUs.
    """

    primary = "mIoU"
    lower_is_better = False

    def __init__(self, num_classes: int, absent: Literal["exclude", "zero"] = "exclude") -> None:
        if num_classes < 1:
            raise IncompatibleConfigError(f"num_classes must be positive, got {num_classes}")
        if absent not in ("exclude", "zero"):
            raise IncompatibleConfigError(f"absent must be 'exclude' or 'zero', got {absent!r}")
        self.num_classes = num_classes
        self.absent = absent
        super().__init__()

    def reset(self) -> None:
        """Forget everything accumulated so far."""
        self.confusion = torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of (B, H, W) class indices against (B, H, W) / (B, 1, H, W) labels."""
        prediction = squeeze_target(prediction, "segmentation prediction").long()
        target = squeeze_target(target).long()
        check_same_shape(prediction, target, "segmentation")
        valid = labelled(target)
        pred, true = prediction[valid], target[valid]
        c = self.num_classes
        self._check_range(true, "target labels", allow_ignore=True)
        self._check_range(pred, "predicted labels", allow_ignore=False)
        counts = torch.bincount(true * c + pred, minlength=c * c)
        self.confusion += counts.cpu().reshape(c, c)

    def per_class(self) -> list[float]:
        """IoU of each class in percent; NaN for a class absent from target and prediction."""
        conf = self.confusion.to(torch.float64)
        tp = conf.diagonal()
        union = conf.sum(0) + conf.sum(1) - tp
        iou = torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, math.nan))
        return (iou * 100.0).tolist()

    def compute(self) -> dict[str, float]:
        """``mIoU`` and ``pixel_acc`` in percent (NaN before any labelled pixel)."""
        iou = torch.tensor(self.per_class(), dtype=torch.float64)
        total = int(self.confusion.sum())
        if total == 0:
            return {"mIoU": math.nan, "pixel_acc": math.nan}
        miou = iou.nan_to_num(0.0).mean() if self.absent == "zero" else iou.nanmean()
        acc = safe_div(float(self.confusion.diagonal().sum()), total) * 100.0
        return {"mIoU": float(miou), "pixel_acc": acc}

    def _check_range(self, labels: torch.Tensor, what: str, allow_ignore: bool) -> None:
        if labels.numel() == 0:
            return
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= self.num_classes:
            extra = f" (or {IGNORE_INDEX} = ignore)" if allow_ignore else ""
            raise DatasetError(
                f"segmentation {what} span {low}..{high} but the meter has {self.num_classes} classes: "
                f"values must lie in 0..{self.num_classes - 1}{extra}"
            )

