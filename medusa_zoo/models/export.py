"""Exporting a network: ``torch.export`` programs and ONNX files with dynamic batch, height and width.

``torch.export.export(model, (x,))`` works on any network as it is (its output type is a
registered pytree node). For deployment the functions here export a :class:`TaskLogits` view:
an image batch in, one logits tensor per task out (at the input's size, in task order), which
is what ONNX consumers expect. Height and width are dynamic in multiples of the backbone's
largest stride (inputs of other sizes are padded by ``predict``, not by the exported graph).

TensorFlow "same" padding (timm's ``Conv2dSame``, used by the EfficientNet-Lite trunks) computes its
padding from the input size with ``math.ceil`` on symbolic sizes, which ``torch.export`` traces but
cannot serialise. On inputs that are multiples of the largest stride every such convolution sees
sizes divisible by its own stride, where that padding is a constant: the exported copy uses it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ExportError

MAX_SIDE = 8192  # largest exported height / width, in pixels


class TaskLogits(nn.Module):
    """``model`` as a plain function: (B, 3, H, W) normalised images -> a tuple of (B, K_t, H, W) logits."""

    def __init__(self, model: nn.Module, tasks: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.tasks = list(tasks)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits = self.model(images, self.tasks).logits
        return tuple(logits[t] for t in self.tasks)


class FixedSamePadConv(nn.Module):
    """A ``Conv2dSame`` with its padding fixed for inputs whose sizes are multiples of its stride."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv
        pads = [max((k - 1) * d + 1 - s, 0) for k, d, s in zip(conv.kernel_size, conv.dilation, conv.stride)]
        (ph, pw) = pads  # F.pad order: left, right, top, bottom; the extra pixel goes after, as in TensorFlow
        self.pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        return F.conv2d(F.pad(x, self.pad), c.weight, c.bias, c.stride, 0, c.dilation, c.groups)


def fixed_padding(model: nn.Module) -> nn.Module:
    """``model`` itself, or a copy with every ``Conv2dSame`` padded by constants (see the module docstring)."""
    from timm.layers import Conv2dSame

    if not any(isinstance(m, Conv2dSame) for m in model.modules()):
        return model
    model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        if isinstance(module, Conv2dSame):
            parent, _, leaf = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, leaf, FixedSamePadConv(module))
    return model


def _example(model: Any, size: tuple[int, int] | None) -> torch.Tensor:
    stride = model.feature_info.max_stride
    h, w = size or tuple(model.config.preprocessing.input_size)
    h, w = -(-h // stride) * stride, -(-w // stride) * stride  # up to a multiple of the stride
    generator = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, h, w, generator=generator).to(model.device, model.dtype)


def _dynamic(model: Any) -> dict[str, dict[int, Any]]:
    stride = model.feature_info.max_stride
    batch = torch.export.Dim("batch", min=1, max=1024)
    height = torch.export.Dim("height", min=1, max=MAX_SIDE // stride)
    width = torch.export.Dim("width", min=1, max=MAX_SIDE // stride)
    return {"images": {0: batch, 2: stride * height, 3: stride * width}}


def export_program(
    model: Any, tasks: Sequence[str] | None = None, size: tuple[int, int] | None = None, dynamic: bool = True
) -> torch.export.ExportedProgram:
    """A ``torch.export`` program of ``model``'s :class:`TaskLogits` (eval mode), traced at ``size``
    (default: the design input size) with dynamic batch, height and width unless ``dynamic=False``."""
    view = TaskLogits(fixed_padding(model), tasks if tasks is not None else list(model.tasks)).eval()
    try:
        return torch.export.export(view, (_example(model, size),), dynamic_shapes=_dynamic(model) if dynamic else None)
    except Exception as failure:  # torch.export raises many types; all mean "this graph did not export"
        raise ExportError(f"torch.export could not export {model.config.arch or model.config.head}: "
                          f"{type(failure).__name__}: {str(failure)[:500]}") from failure


def export_onnx(
    model: Any,
    path: str | Path,
    tasks: Sequence[str] | None = None,
    size: tuple[int, int] | None = None,
    dynamic: bool = True,
) -> Path:
    """Write ``model`` as an ONNX file: input ``image`` (B, 3, H, W, normalised), one output per task.

    Uses ``torch.onnx.export`` (the ``torch.export``-based exporter; it needs the ``onnx`` and
    ``onnxscript`` packages: ``pip install "medusa-zoo[onnx]"``). Batch, height and width are
    dynamic unless ``dynamic=False``; height and width must be multiples of the backbone's
    largest stride.
    """
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as missing:
        raise ExportError(f"ONNX export needs {missing.name!r}: pip install \"medusa-zoo[onnx]\"") from None
    chosen = list(tasks if tasks is not None else model.tasks)
    view = TaskLogits(fixed_padding(model), chosen).eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.onnx.export(view, (_example(model, size),), str(path), dynamo=True, input_names=["image"],
                          output_names=chosen, dynamic_shapes=_dynamic(model) if dynamic else None, verbose=False)
    except Exception as failure:
        raise ExportError(f"ONNX export of {model.config.arch or model.config.head} failed: "
                          f"{type(failure).__name__}: {str(failure)[:500]}") from failure
    return path
