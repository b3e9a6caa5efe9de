"""Inference-only rewrites of a network (BatchNorm folded into the convolution before it), and
the checks of ``predict``'s arguments.

Each rewrite leaves the outputs equal to the eager network's up to float rounding, and
:func:`fold_batchnorm` checks that on a probe input before it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import torch
from torch import nn

from ..errors import IncompatibleConfigError, InvalidImageError, UnknownTaskError


def conv_bn_pairs(model: nn.Module, run: Callable[[], object]) -> list[tuple[str, str]]:
    """(convolution, BatchNorm) module names where the BatchNorm's input is exactly that convolution's output.

    Found by running ``run()`` once with hooks (so control flow of any kind is followed); only
    eval-mode ``BatchNorm2d`` modules (timm's ``BatchNormAct2d`` included) after a plain
    ``Conv2d`` (any groups, no padding mode tricks) or timm's ``Conv2dSame`` (TensorFlow "same"
    padding: zeros added to the input, so scaling the weights and adding a bias still folds) qualify.
    Other subclasses may transform their weights in ``forward`` (weight standardisation) and are left alone.
    """
    from timm.layers import Conv2dSame

    foldable = (nn.Conv2d, Conv2dSame)
    outputs: dict[int, str] = {}
    keep: list[torch.Tensor] = []  # keeps tensors alive so their ids stay unique during the probe
    pairs: dict[str, str] = {}
    seen_bn: dict[str, int] = {}
    handles = []
    names = {module: name for name, module in model.named_modules()}

    def after_conv(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        keep.append(output)
        outputs[id(output)] = names[module]

    def before_bn(module: nn.Module, args: tuple) -> None:
        keep.append(args[0])
        name = names[module]
        seen_bn[name] = seen_bn.get(name, 0) + 1
        conv = outputs.get(id(args[0]))
        if conv is not None:
            pairs.setdefault(name, conv)

    for module in model.modules():
        if type(module) in foldable and module.padding_mode == "zeros":
            handles.append(module.register_forward_hook(after_conv))
        elif isinstance(module, nn.BatchNorm2d) and module.track_running_stats and not module.training:
            handles.append(module.register_forward_pre_hook(before_bn))
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    convs = list(pairs.values())
    # a BatchNorm called more than once, or a convolution feeding two BatchNorms, is left alone
    return [(conv, bn) for bn, conv in pairs.items() if seen_bn[bn] == 1 and convs.count(conv) == 1]


@torch.no_grad()
def fold_into(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Scale ``conv``'s weights and set its bias so that ``conv`` alone computes ``bn(conv(x))`` (eval mode)."""
    scale = (bn.weight if bn.affine else torch.ones_like(bn.running_var)) / torch.sqrt(bn.running_var + bn.eps)
    shift = (bn.bias if bn.affine else torch.zeros_like(bn.running_mean)) - bn.running_mean * scale
    weight = conv.weight.double() * scale.double().view(-1, 1, 1, 1)
    bias = (conv.bias.double() * scale.double() if conv.bias is not None else 0) + shift.double()
    conv.weight.copy_(weight.to(conv.weight.dtype))
    if conv.bias is None:
        conv.bias = nn.Parameter(bias.to(conv.weight.dtype), requires_grad=False)
    else:
        conv.bias.copy_(bias.to(conv.bias.dtype))


def _after_normalisation(bn: nn.BatchNorm2d) -> nn.Module:
    """What replaces a folded BatchNorm: nothing, or the activation of timm's ``BatchNormAct2d``."""
    act = getattr(bn, "act", None)
    drop = getattr(bn, "drop", None)
    if act is None and drop is None:
        return nn.Identity()
    return nn.Sequential(drop if drop is not None else nn.Identity(), act if act is not None else nn.Identity())


def fold_batchnorm(model: nn.Module, probe: torch.Tensor, tolerance: float = 1e-4) -> int:
    """Fold every foldable BatchNorm of ``model`` (in eval mode) into its convolution; the number folded.

    The model's outputs on ``probe`` are compared before and after: any difference beyond
    ``tolerance`` (relative to the output's scale) raises :class:`IncompatibleConfigError`. That
    check guards against a convolution whose output is also read by something other than its
    BatchNorm; when it fires the model has already been rewritten and must be loaded again.
    """
    if model.training:
        raise IncompatibleConfigError("fold BatchNorm only in eval mode (its running statistics are what is folded)")
    with torch.no_grad():
        before = _flat(model(probe))
    pairs = conv_bn_pairs(model, lambda: model(probe))
    modules = dict(model.named_modules())
    for conv_name, bn_name in pairs:
        fold_into(modules[conv_name], modules[bn_name])  # type: ignore[arg-type]
        parent_name, _, child = bn_name.rpartition(".")
        parent = modules[parent_name] if parent_name else model
        replacement = _after_normalisation(modules[bn_name])  # type: ignore[arg-type]
        if isinstance(parent, (nn.Sequential, nn.ModuleList)) or isinstance(parent, nn.ModuleDict):
            parent[child if isinstance(parent, nn.ModuleDict) else int(child)] = replacement  # type: ignore[index]
        else:
            setattr(parent, child, replacement)
    with torch.no_grad():
        after = _flat(model(probe))
    scale = max(float(before.abs().max()), 1e-6)
    error = float((after - before).abs().max()) / scale
    if error > tolerance:
        raise IncompatibleConfigError(
            f"folding BatchNorm changed the outputs by {error:.2e} (relative); this network has a convolution "
            "whose output is read twice. This copy is now unusable: load the model again and use it without "
            "optimize_for_inference(), and report it"
        )
    return len(pairs)


def _flat(output: object) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output.detach().float().flatten()
    if isinstance(output, dict):
        return torch.cat([_flat(v) for _, v in sorted(output.items())])
    if isinstance(output, (list, tuple)):
        return torch.cat([_flat(v) for v in output]) if output else torch.zeros(0)
    if hasattr(output, "__dataclass_fields__"):
        return torch.cat([_flat(getattr(output, f)) for f in output.__dataclass_fields__])
    raise TypeError(f"cannot compare outputs of type {type(output).__name__}")


# ------------------------------------------------------------ the arguments of predict()
def check_batch_size(batch_size: object) -> int:
    """``batch_size`` if it is a positive int; else :class:`InvalidImageError` (as for predict's other arguments)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidImageError(f"batch_size must be a positive int (images run at once), got {batch_size!r}")
    return batch_size


def requested_tasks(tasks: object, known: Collection[str]) -> list[str]:
    """The task names ``predict(tasks=...)`` asks for, in order, without repeats (``None``: all of ``known``).

    ``tasks`` is one name or a non-empty list/tuple of names: anything else raises
    :class:`InvalidImageError`, a name the model lacks :class:`UnknownTaskError` (listing its tasks).
    """
    if tasks is None:
        return list(known)
    names = [tasks] if isinstance(tasks, str) else tasks
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
        raise InvalidImageError(
            f"tasks must be a task name or a non-empty list of task names (or None for all: {list(known)}), "
            f"got {tasks!r}")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UnknownTaskError(f"this model has no task(s) {unknown}; its tasks are {list(known)}")
    return list(dict.fromkeys(names))
