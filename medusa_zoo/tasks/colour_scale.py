"""Colouring of real-valued maps that may hold ±inf or NaN, and the ranges their legends show.

A colour map needs a range, and one infinite or NaN pixel must not decide it: a depth map with
one ``inf`` stretched over ``[0, inf]`` would be one flat colour. Ranges here come from the
finite values only; the non-finite pixels get :data:`NON_FINITE` (a neutral grey, off the
dark-blue -> yellow colour map). A legend that draws a colour bar asks the same functions for
its ends, so the numbers it prints are the ones the picture was coloured with.
"""

from __future__ import annotations

import numpy as np

from .colour import apply_colormap

NON_FINITE = np.array([128, 128, 128], dtype=np.uint8)
"""The colour of a pixel whose value is NaN or ±inf (neither end of the colour map)."""


def finite_range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values; (0, 1) when there are none."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def depth_range(depth: np.ndarray) -> tuple[float, float]:
    """(0, the 99th percentile of the finite positive depths): a few far outliers do not wash out the map.

    (0, 1) when no depth is finite and positive.
    """
    valid = depth[np.isfinite(depth) & (depth > 0)]
    top = float(np.percentile(valid, 99)) if valid.size else 1.0
    return 0.0, max(top, 1e-6)


def colour_scalar(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """(H, W, 3) uint8: ``low`` dark blue -> ``high`` yellow (viridis-like, clipped), non-finite grey."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    scaled = (np.where(finite, values, low) - low) / max(high - low, 1e-6)
    picture = apply_colormap(scaled)
    picture[~finite] = NON_FINITE
    return picture


def colour_finite(values: np.ndarray) -> np.ndarray:
    """:func:`colour_scalar` over the range of the finite values (:func:`finite_range`)."""
    return colour_scalar(values, *finite_range(np.asarray(values, dtype=np.float64)))
