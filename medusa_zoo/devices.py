"""Resolving the ``device`` and ``dtype`` arguments users pass to :func:`medusa_zoo.load`."""

from __future__ import annotations

import torch

from .errors import IncompatibleConfigError

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else the CPU; others are checked to exist."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as bad:
        raise IncompatibleConfigError(f"device {device!r} is not a torch device ({bad}); use 'auto', 'cpu' or 'cuda'") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise IncompatibleConfigError(f"device {device!r} asks for CUDA, which is not available here; use 'auto' or 'cpu'")
    return resolved


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """``None`` -> float32; float16 is allowed on CUDA only (CPU kernels are slow or missing)."""
    if dtype is None:
        return torch.float32
    resolved = _DTYPES.get(dtype) if isinstance(dtype, str) else dtype
    if resolved not in _DTYPES.values():
        raise IncompatibleConfigError(f"dtype {dtype!r} is not supported; use one of {sorted(_DTYPES)}")
    if resolved == torch.float16 and device.type != "cuda":
        raise IncompatibleConfigError("float16 needs a CUDA device; on the CPU use 'bfloat16' or 'float32'")
    return resolved  # type: ignore[return-value]
