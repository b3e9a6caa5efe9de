"""Per-task metrics that accumulate sufficient statistics over a dataset.

    meter = meter_for(task)                   # SegmentationMeter, DepthMeter, ...
    for batch in loader:
        meter.update(task.postprocess(logits), batch[task.name])
    meter.compute()                           # {"mIoU": 41.2, "pixel_acc": 70.3}

Results do not depend on how the dataset is split into batches. Percent-style metrics
(IoU, F-measures, ``within_*``) are on a 0–100 scale; errors are in metres or degrees.
:func:`delta_m` compares multi-task results with single-task ones (in percent).
"""

from .base import IGNORE_VALUE, Meter, delta_m, delta_m_from_meters
from .depth import DepthMeter
from .edge import BSDS_TOLERANCE, DEFAULT_EDGE_THRESHOLDS, PASCAL_TOLERANCE, EdgeMeter
from .factory import meter_for
from .normals import NormalsMeter
from .regression import RegressionMeter
from .saliency import DEFAULT_SALIENCY_THRESHOLDS, REFERENCE_SALIENCY_THRESHOLDS, SALIENCY_PROTOCOLS, SaliencyMeter
from .segmentation import SegmentationMeter

__all__ = [
    "BSDS_TOLERANCE",
    "DEFAULT_EDGE_THRESHOLDS",
    "DEFAULT_SALIENCY_THRESHOLDS",
    "IGNORE_VALUE",
    "PASCAL_TOLERANCE",
    "REFERENCE_SALIENCY_THRESHOLDS",
    "SALIENCY_PROTOCOLS",
    "DepthMeter",
    "EdgeMeter",
    "Meter",
    "NormalsMeter",
    "RegressionMeter",
    "SaliencyMeter",
    "SegmentationMeter",
    "delta_m",
    "delta_m_from_meters",
    "meter_for",
]
