"""What geometric transforms must do to surface normals besides moving pixels.

Normals are vectors in the camera frame (x right, y up, z towards the camera). Moving the
pixels of a normal map is not enough: a mirrored or rotated image shows surfaces that face other
directions, so the vectors themselves are mirrored or rotated too. Invalid pixels (all zero, or
255 in a channel: the fill of exposed pixels) are left exactly as they are, so they stay
recognisable to the loss and the metric.
"""

from __future__ import annotations

import math

import torch
from torchvision import tv_tensors

from .. import labels
from ..errors import DatasetError

__all__ = ["valid_normals", "flip_normals_x", "rotate_normals"]


def _check(normals: torch.Tensor) -> torch.Tensor:
    if normals.ndim != 3 or normals.shape[0] != 3 or not normals.is_floating_point():
        raise DatasetError(
            f"normals must be a float (3, H, W) tensor, got {normals.dtype} {tuple(normals.shape)}"
        )
    return normals.as_subclass(torch.Tensor)


def valid_normals(normals: torch.Tensor) -> torch.Tensor:
    """(H, W) bool: pixels holding a vector (finite, not all zero, no channel equal to 255)."""
    return labels.valid_normals(_check(normals), dim=0)


def flip_normals_x(normals: torch.Tensor) -> tv_tensors.Mask:
    """Negate the x component of every valid normal (what a horizontal mirror does to them).

    Call it after flipping the pixels; y and z, and invalid pixels, are unchanged.
    """
    n = _check(normals)
    out = n.clone()
    out[0] = torch.where(valid_normals(n), -n[0], n[0])
    return tv_tensors.Mask(out)


def rotate_normals(normals: torch.Tensor, angle: float) -> tv_tensors.Mask:
    """Rotate the (x, y) components of every valid normal by ``angle`` degrees counter-clockwise.

    This matches an image rotated counter-clockwise (as displayed) by the same angle about the
    optical axis: with y up, a normal pointing right, (1, 0, 0), becomes
    ``(cos a, sin a, 0)``, so +90° turns it to point up. z and invalid pixels are unchanged.
    """
    n = _check(normals)
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    valid = valid_normals(n)
    out = n.clone()
    out[0] = torch.where(valid, c * n[0] - s * n[1], n[0])
    out[1] = torch.where(valid, s * n[0] + c * n[1], n[1])
    return tv_tensors.Mask(out)
