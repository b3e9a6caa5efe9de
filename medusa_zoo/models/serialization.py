"""The files of a saved network: ``config.json`` + ``model.safetensors`` (no pickle) + a card.

These functions work on configs and tensors, not on the network, so the network (which saves
itself through them) and the loaders (:mod:`.loading`) both sit above this module.
"""

from __future__ import annotations

import errno
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch

from ..errors import CheckpointError, IncompatibleConfigError, StateDictMismatchError
from ..files import atomic_write, read_json, require_regular_file
from ..limits import get_limits
from .config import ModelConfig

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
_LISTED = 8  # keys named per category in a mismatch message


def write_pretrained(
    directory: str | Path,
    config: ModelConfig,
    state: Mapping[str, torch.Tensor],
    card: str,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write ``config.json``, ``model.safetensors`` (``state``) and ``README.md`` (``card``) into ``directory``.

    ``metadata`` (strings) joins the safetensors header (the provenance record, see
    :mod:`.provenance`). The folder is created if needed. Each file is written to a temporary name and renamed, so
    an interrupted save never leaves a truncated file under the final name.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    config_text = json.dumps(config.to_dict(), indent=2) + "\n"
    write_together(directory, [
        (WEIGHTS_NAME, lambda path: save_file(tensors, path, metadata={**(metadata or {}), "format": "pt"})),
        (CONFIG_NAME, lambda path: Path(path).write_text(config_text)),
        (CARD_NAME, lambda path: Path(path).write_text(card)),
    ])  # fmt: skip
    return directory


def write_together(directory: Path, files: Sequence[tuple[str, Callable[[str], object]]]) -> None:
    """Write each ``(name, write)`` of ``files`` into ``directory``: all of them, or none.

    Every file is written to a temporary name first and only then are they renamed into place, so
    a failure while writing (a full disk, most often) leaves the previous files untouched and never
    mixes new weights with an old config. Failures raise :class:`CheckpointError` saying what to do.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write_nested(directory, list(files))
    except CheckpointError:
        raise
    except Exception as bad:  # safetensors reports a full disk as SafetensorError, not OSError
        if not isinstance(bad, OSError) and type(bad).__name__ != "SafetensorError":
            raise
        raise CheckpointError(_write_failure(directory, bad)) from None


def _write_nested(directory: Path, files: list[tuple[str, Callable[[str], object]]]) -> None:
    # atomic_write renames after its writer returns; nesting makes every rename wait for every write
    if files:
        (name, write), rest = files[0], files[1:]
        atomic_write(directory / name, lambda path: (write(path), _write_nested(directory, rest)))


def _write_failure(directory: Path, bad: Exception) -> str:
    text = str(bad)
    full = ("No space left", "os error 28", "code: 28,", "StorageFull", "QuotaExceeded")
    if getattr(bad, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or any(sign in text for sign in full):
        return (
            f"no space left on the device holding {directory} (or its quota is used up); nothing was replaced, the "
            "previous files there are intact. Free some space or save to another folder"
        )
    return f"could not write into {directory} ({type(bad).__name__}: {bad}); nothing was replaced"


def read_config(directory: Path) -> ModelConfig:
    """Parse and validate ``directory/config.json``."""
    path = directory / CONFIG_NAME
    if not path.exists():
        raise CheckpointError(
            f"{path} does not exist; a model folder needs {CONFIG_NAME} and {WEIGHTS_NAME} "
            "as written by model.save_pretrained()"
        )
    try:
        raw = read_json(path, CheckpointError, "model config")
    except CheckpointError:
        fields = _non_finite_fields(path)
        if fields:
            raise IncompatibleConfigError(
                f"{path} holds NaN or infinite numbers at {', '.join(fields[:_LISTED])}; every number in a config "
                "must be finite (std > 0, ...). Fix those fields or re-save the model with save_pretrained()"
            ) from None
        raise
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path} must hold a JSON object, got {type(raw).__name__}")
    return ModelConfig.from_dict(raw)


def _non_finite_fields(path: Path) -> list[str]:
    """Where a JSON file that ``read_json`` refused holds NaN / Infinity (empty if that was not the reason)."""
    try:
        if not path.is_file() or path.stat().st_size > get_limits().max_json_bytes:
            return []  # only a regular file is read again: a FIFO would block
        value = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return []
    found, stack = [], [("", value)]
    while stack:
        where, item = stack.pop()
        children = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        stack.extend((f"{where}.{k}" if isinstance(k, str) else f"{where}[{k}]", v) for k, v in children)
        if isinstance(item, float) and not math.isfinite(item):
            found.append(where.lstrip("."))
    return sorted(found)


QUANTIZATION_KEY = "medusa_zoo.quantization"
INT8 = "int8-per-channel"
SCALE_SUFFIX = ".__scale__"


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file onto the CPU, with an error naming the file if it is unusable.

    Files written by :func:`quantize_int8` (metadata ``medusa_zoo.quantization``) are
    dequantized here, so callers always get floating-point tensors.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    if not Path(path).exists():
        raise CheckpointError(f"{path} does not exist; save the model with save_pretrained() first")
    path = require_regular_file(path, CheckpointError, "weights file")
    try:
        with safe_open(path, "pt") as handle:
            metadata = handle.metadata() or {}
        state = load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError, KeyError) as bad:
        raise CheckpointError(f"{path} is not a readable safetensors file ({bad}); re-download or re-save it") from None
    scheme = metadata.get(QUANTIZATION_KEY)
    if scheme is None:
        return state
    if scheme != INT8:
        raise CheckpointError(f"{path} uses the quantization {scheme!r}, which this version cannot read; upgrade medusa-zoo")
    return dequantize_int8(state, str(path))


def read_weight_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file's header (no tensor is read)."""
    from safetensors import SafetensorError, safe_open

    path = require_regular_file(path, CheckpointError, "weights file")
    try:
        with safe_open(path, "pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError, KeyError) as bad:
        raise CheckpointError(f"{path} is not a readable safetensors file ({bad}); re-download or re-save it") from None


def quantize_int8(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Symmetric per-output-channel int8 for weight tensors with 2+ dims; other floats in float16.

    Returns the tensors and the safetensors metadata that tells :func:`read_weights` to
    dequantize. Each channel's error is at most half its scale (``max|w| / 254``).
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if value.is_floating_point() and value.dim() >= 2:
            flat = value.detach().float().reshape(value.shape[0], -1)
            scale = (flat.abs().amax(dim=1) / 127.0).clamp(min=1e-12)
            out[key] = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8).reshape(value.shape)
            out[key + SCALE_SUFFIX] = scale
        elif value.is_floating_point():
            out[key] = value.detach().half()
        else:
            out[key] = value.detach()
    return {k: v.contiguous() for k, v in out.items()}, {"format": "pt", QUANTIZATION_KEY: INT8}


def dequantize_int8(state: Mapping[str, torch.Tensor], source: str = "the weights") -> dict[str, torch.Tensor]:
    """Inverse of :func:`quantize_int8` (float32 weights; float16 tensors are widened)."""
    out = {}
    for key, value in state.items():
        if key.endswith(SCALE_SUFFIX):
            continue
        scale = state.get(key + SCALE_SUFFIX)
        if scale is not None:
            if value.dim() < 1 or scale.dim() != 1 or scale.numel() != value.shape[0]:
                raise CheckpointError(
                    f"{source}: the int8 tensor {key} {tuple(value.shape)} and its scale {tuple(scale.shape)} do not "
                    "fit (one scale per output channel); the file is damaged, re-download or re-quantize it"
                )
            shape = (value.shape[0],) + (1,) * (value.dim() - 1)
            out[key] = value.float() * scale.float().reshape(shape)
        else:
            out[key] = value.float() if value.is_floating_point() else value
    return out


def load_state_strict(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str, part: Mapping[str, torch.Tensor] | None = None
) -> None:
    """Copy ``state`` into ``model``, refusing any missing, unexpected or mis-shaped tensor.

    ``part`` (a subset of ``model.state_dict()``, e.g. one task head's entries) is what
    ``state`` must match exactly when only that part is loaded.
    """
    expected = model.state_dict() if part is None else part
    check_tensors(state, expected, source)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in set(expected) & set(state)
        if state[k].shape != expected[k].shape
    )
    if missing or unexpected or mismatched:
        parts = [
            f"{label} ({len(keys)}): {', '.join(keys[:_LISTED])}{', ...' if len(keys) > _LISTED else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mismatched))
            if keys
        ]
        raise StateDictMismatchError(
            f"weights in {source} do not fit this architecture; " + "; ".join(parts)
            + ". Load them with the config they were saved with.",
            missing,
            unexpected,
            mismatched,
        )
    model.load_state_dict(state, strict=part is None)


_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_tensors(state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor], source: str) -> None:
    """Refuse tensors that would load wrongly or not at all, naming the first bad key.

    Weights must be dense CPU-loadable tensors with data (not sparse, not ``meta``); where the
    model holds a floating-point tensor the file must too, in float16/bfloat16/float32/float64 (not
    an integer, complex or float8 type); and every floating-point value must be finite. One
    ``isfinite().all()`` per tensor keeps this cheap.
    """
    for key, value in state.items():
        problem = _tensor_problem(value, expected.get(key))
        if problem:
            raise StateDictMismatchError(
                f"weights in {source}: {key} {problem}; the file is damaged or was not written by save_pretrained(). "
                "Re-download it, or re-save the model from a good copy",
                mismatched=[key],
            )


def _tensor_problem(value: object, expected: torch.Tensor | None) -> str | None:
    if not isinstance(value, torch.Tensor):
        return f"is a {type(value).__name__}, not a tensor"
    if value.layout != torch.strided:
        return f"is a {value.layout} (sparse) tensor; dense tensors only"
    if value.is_meta:
        return "is a meta tensor (a shape without values)"
    if expected is not None and expected.is_floating_point() and value.dtype not in _FLOATS:
        return f"holds {value.dtype} values where the model has {expected.dtype} parameters"
    if value.is_floating_point() and value.dtype not in _FLOATS:
        return f"holds {value.dtype} values, which cannot be loaded"
    if value.is_floating_point() and value.numel() and not bool(torch.isfinite(value).all()):
        return "holds NaN or infinite values"
    return None
