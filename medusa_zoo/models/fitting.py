"""Fitting photos to a network's design size for ``predict``, and its outputs back to the photo.

A network trained at 192x256 sees objects at that scale; run on a 500x741 photo it sees them
2-3x larger than it ever did, and its maps degrade (a depth map's rank correlation with the truth
fell from about 0.5 to about 0.0 on one photo, ``shared/FINDINGS.md``). ``predict`` therefore
resizes each image to fit the design size with its aspect ratio kept, pads the rest, runs the
network, and resizes the logits of the image's region back to the image's own size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..errors import InvalidImageError
from ..inputs import check_image_pixels


def target_size(design: tuple[int, int], size: int | Sequence[int] | None, native: bool) -> tuple[int, int] | None:
    """The (H, W) canvas ``predict`` fits images into, or None to run them at their own size."""
    if native and size is not None:
        raise InvalidImageError("pass either native=True or size=, not both")
    if native:
        return None
    if size is None:
        return design
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if not (isinstance(size, Sequence) and len(size) == 2 and all(isinstance(s, int) and s > 0 for s in size)):
        raise InvalidImageError(f"size must be (height, width) in pixels or one int, got {size!r}")
    check_image_pixels(size[0], size[1], "size=")  # the canvas is allocated for every image
    return int(size[0]), int(size[1])


def fitted_size(size: tuple[int, int], canvas: tuple[int, int]) -> tuple[int, int]:
    """The largest (h, w) with ``size``'s aspect ratio that fits in ``canvas``."""
    scale = min(canvas[0] / size[0], canvas[1] / size[1])
    return max(1, min(canvas[0], round(size[0] * scale))), max(1, min(canvas[1], round(size[1] * scale)))


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (C, H, W) or (B, C, H, W), antialiased when shrinking; a no-op at the same size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    batch = x if x.dim() == 4 else x[None]
    shrinking = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    out = F.interpolate(batch.float(), size=size, mode="bilinear", align_corners=False, antialias=shrinking)
    return out if x.dim() == 4 else out[0]
