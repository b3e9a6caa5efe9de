"""Angular error of surface normals, pooled over every valid pixel of the dataset."""

from __future__ import annotations

import math

import torch

from ..errors import DatasetError, IncompatibleConfigError
from ..labels import valid_normals
from .base import Meter, as_tensor, check_same_shape, safe_div, to_float64

WITHIN_DEGREES = (11.25, 22.5, 30.0)


class NormalsMeter(Meter):
    """Angle between prediction and target in degrees: ``mean``, ``median``, ``rmse``, ``within_*``.

    Both vectors are L2-normalised; the angle is ``atan2(|a × b|, a · b)`` in float64
    (stable near 0°, unlike ``acos``). A target pixel is valid unless it is all zero, has a
    255 or a non-finite component. All statistics pool every valid pixel of the dataset, as
    the MTI-Net reference ``eval_normals``; ``within_11.25`` / ``within_22.5`` / ``within_30``
    are the percent (0–100) of pixels with an angle strictly below the bound.

    The median: storing every angle of a dataset is large (NYUD val: 2·10⁸ pixels), so by
    default angles go into a histogram of ``bin_degrees`` (0.01°) bins and the median is
    interpolated inside its bin — within ``bin_degrees`` of the exact value. With
    ``exact_median=True`` the angles are kept (float64, CPU) and the median is exact
    (numpy's definition: mean of the two middle values for an even count).
    """

    primary = "mean"
    lower_is_better = True

    def __init__(self, exact_median: bool = False, bin_degrees: float = 0.01) -> None:
        if not bin_degrees > 0:
            raise IncompatibleConfigError(f"bin_degrees must be positive, got {bin_degrees}")
        self.exact_median = exact_median
        self.bin_degrees = bin_degrees
        self.num_bins = math.ceil(180.0 / bin_degrees)
        super().__init__()

    def reset(self) -> None:
        """Forget everything accumulated so far."""
        self.count = 0
        self.sum = 0.0
        self.sum_sq = 0.0
        self.within = [0] * len(WITHIN_DEGREES)
        self.histogram = torch.zeros(self.num_bins, dtype=torch.int64)
        self.angles: list[torch.Tensor] = []

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add (B, 3, H, W) predicted normals against (B, 3, H, W) target normals."""
        prediction = as_tensor(prediction, "normals prediction")
        target = as_tensor(target, "target")
        if target.dim() != 4 or target.shape[1] != 3:
            raise DatasetError(f"normals target must have shape (B, 3, H, W), got {tuple(target.shape)}")
        check_same_shape(prediction, target, "normals")
        angles = _angles_degrees(to_float64(prediction), to_float64(target)).cpu()
        self.count += angles.numel()
        self.sum += float(angles.sum())
        self.sum_sq += float((angles**2).sum())
        for i, bound in enumerate(WITHIN_DEGREES):
            self.within[i] += int((angles < bound).sum())
        bins = (angles / self.bin_degrees).long().clamp(0, self.num_bins - 1)
        self.histogram += torch.bincount(bins, minlength=self.num_bins)
        if self.exact_median:
            self.angles.append(angles)

    def compute(self) -> dict[str, float]:
        """Mean/median/RMSE angle in degrees and ``within_*`` in percent (NaN before any pixel)."""
        result = {
            "mean": safe_div(self.sum, self.count),
            "median": self._median(),
            "rmse": math.sqrt(safe_div(self.sum_sq, self.count)),
        }
        for bound, hits in zip(WITHIN_DEGREES, self.within):
            result[f"within_{bound:g}"] = safe_div(hits, self.count) * 100.0
        return result

    def _median(self) -> float:
        if self.count == 0:
            return math.nan
        if self.exact_median:
            angles = torch.cat(self.angles).sort().values
            n = angles.numel()
            return float((angles[(n - 1) // 2] + angles[n // 2]) / 2)
        n = self.count
        return (self._order_statistic((n - 1) // 2) + self._order_statistic(n // 2)) / 2

    def _order_statistic(self, k: int) -> float:
        """Approximate k-th smallest angle (0-based): uniform spread inside its histogram bin."""
        cumulative = self.histogram.cumsum(0)
        b = int(torch.searchsorted(cumulative, torch.tensor(k), right=True))
        before = int(cumulative[b - 1]) if b > 0 else 0
        inside = int(self.histogram[b])
        return (b + (k - before + 0.5) / inside) * self.bin_degrees


def _angles_degrees(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Angles in degrees at the valid target pixels, as a flat tensor."""
    valid = valid_normals(target)
    pred = prediction.movedim(1, -1)[valid]
    true = torch.nn.functional.normalize(target.movedim(1, -1)[valid], dim=-1)
    length = pred.norm(dim=-1, keepdim=True)
    pred = pred / length
    cross = torch.linalg.cross(pred, true, dim=-1).norm(dim=-1)
    dot = (pred * true).sum(dim=-1)
    angles = torch.rad2deg(torch.atan2(cross, dot))
    # a zero prediction points nowhere: 90° from everything, as acos(0) in the reference
    return torch.where(length[:, 0] == 0, torch.full_like(angles, 90.0), angles)
