"""Colour maps for visualising predictions (no matplotlib needed)."""

from __future__ import annotations

import numpy as np

# Anchor colours of a perceptually ordered dark-blue -> yellow map (viridis-like).
_ANCHORS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float32
)


def label_palette(n: int) -> np.ndarray:
    """The PASCAL VOC bit-interleaved palette: ``n`` distinct RGB colours, (n, 3) uint8."""
    palette = np.zeros((n, 3), dtype=np.uint8)
    for index in range(n):
        value, r, g, b = index, 0, 0, 0
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        palette[index] = (r, g, b)
    return palette


def apply_colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (clipped) to (H, W, 3) uint8 colours."""
    scaled = np.clip(np.nan_to_num(values), 0.0, 1.0) * (len(_ANCHORS) - 1)
    low = np.floor(scaled).astype(np.int64).clip(0, len(_ANCHORS) - 2)
    frac = (scaled - low)[..., None]
    rgb = _ANCHORS[low] * (1 - frac) + _ANCHORS[low + 1] * frac
    return rgb.round().astype(np.uint8)
