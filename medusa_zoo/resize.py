"""Bilinear resizing of logits (``align_corners=False``), fast to train through on CPU.

Every network resizes its logits to the input size, and the loss resizes every deep-supervision
prediction to the label size. ``F.interpolate(..., mode="bilinear")``'s CPU backward scatters
one pixel at a time: it was the largest single cost of a training step after the convolutions,
and is 4-7x slower than the same resize written as two small matrix products. When a gradient
may flow (autograd is recording), :func:`bilinear` computes the identical interpolation as ``A_h @ x @ A_w^T`` with
the interpolation matrices (same weights; results equal up to float rounding, ~1e-7 relative);
otherwise, and while ``torch.export`` / ``torch.compile`` trace, it calls ``F.interpolate``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

import torch
import torch.nn.functional as F

_MATRIX = ContextVar("medusa_zoo_matrix_resize", default=True)


@contextmanager
def matrix_resize(enabled: bool) -> Iterator[None]:
    """Within the block, :func:`bilinear` uses matrix products (``True``, the default) or always
    ``F.interpolate`` (``False``; what the training benchmark compares against)."""
    token = _MATRIX.set(enabled)
    try:
        yield
    finally:
        _MATRIX.reset(token)


def bilinear(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """``F.interpolate(x, size, mode="bilinear", align_corners=False)`` for a (B, C, H, W) tensor."""
    if torch.compiler.is_compiling():  # traced sizes may be symbolic: nothing here may turn them into ints
        return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)
    size = (int(size[0]), int(size[1]))
    if tuple(x.shape[-2:]) == size:
        return x
    # decided by the grad mode alone (not by whether ``x`` needs a gradient), so one network gives one
    # result for one input whether or not its parameters are frozen
    if not (torch.is_grad_enabled() and x.is_floating_point() and _MATRIX.get()):
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    rows = _matrix(int(x.shape[-2]), size[0], x.dtype, x.device)
    cols = _matrix(int(x.shape[-1]), size[1], x.dtype, x.device)
    out = torch.matmul(rows, torch.matmul(x, cols.t()))
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        out = out.contiguous(memory_format=torch.channels_last)  # keep the layout the convolutions expect
    return out


@lru_cache(maxsize=64)
def _matrix(n_in: int, n_out: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(n_out, n_in) weights of 1-D linear interpolation as ``F.interpolate`` computes them:
    source ``(i + 0.5) * n_in / n_out - 0.5`` clamped at 0, two taps, the last index repeated at the edge."""
    target = torch.arange(n_out, dtype=torch.float64)
    source = ((target + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
    low = source.floor().long().clamp(max=n_in - 1)
    high = (low + 1).clamp(max=n_in - 1)
    fraction = source - low
    matrix = torch.zeros(n_out, n_in, dtype=torch.float64)
    matrix.index_put_((target.long(), low), 1 - fraction, accumulate=True)
    matrix.index_put_((target.long(), high), fraction, accumulate=True)
    return matrix.to(dtype=dtype, device=device)
