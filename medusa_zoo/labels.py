"""Label conventions shared by datasets, task definitions and metrics.

Every dense target in medusa_zoo marks "no label here" the same way, and every consumer (the
datasets that write labels, the losses that train on them, the meters that score them, the
trivial baselines fitted on them) reads validity through the functions below, so there is one
definition of each rule.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = 255
"""Label value meaning "no label here" in every dense target (as in the NYUD / PASCAL MTL code)."""


def squeeze_channel(target: torch.Tensor) -> torch.Tensor:
    """Accept (B, H, W) or (B, 1, H, W) targets; return (B, H, W)."""
    return target[:, 0] if target.dim() == 4 and target.shape[1] == 1 else target


def labelled(target: torch.Tensor) -> torch.Tensor:
    """Pixels of a class or binary map that carry a label (not :data:`IGNORE_INDEX`)."""
    return target != IGNORE_INDEX


def valid_depth(target: torch.Tensor) -> torch.Tensor:
    """Depth pixels with a measurement: finite, > 0 and not :data:`IGNORE_INDEX`."""
    return torch.isfinite(target) & (target > 0) & (target != IGNORE_INDEX)


def valid_normals(target: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Normal-map pixels holding a vector: finite, not all zero, no component :data:`IGNORE_INDEX`.

    ``dim`` is the channel dimension (1 for a (B, 3, H, W) batch, 0 for one (3, H, W) map).
    """
    return (target.abs().sum(dim=dim) > 0) & (target != IGNORE_INDEX).all(dim=dim) & torch.isfinite(target).all(dim=dim)


def valid_values(target: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Regression pixels whose every channel is finite (NaN marks "no label")."""
    return torch.isfinite(target).all(dim=dim)
