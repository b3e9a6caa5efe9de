"""The files of a saved network: ``config.json`` + ``model.safetensors`` (no pickle) + a card.

These functions work on configs and tensors, not on the network, so the network (which saves
itself through them) and the loaders (:mod:`.loading`) both sit above this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch

from ..errors import CheckpointError, StateDictMismatchError
from ..files import atomic_write
from .config import ModelConfig

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
_LISTED = 8  # keys named per category in a mismatch message


def write_pretrained(directory: str | Path, config: ModelConfig, state: Mapping[str, torch.Tensor], card: str) -> Path:
    """Write ``config.json``, ``model.safetensors`` (``state``) and ``README.md`` (``card``) into ``directory``.

    The folder is created if needed. Each file is written to a temporary name and renamed, so
    an interrupted save never leaves a truncated file under the final name.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    atomic_write(directory / WEIGHTS_NAME, lambda path: save_file(tensors, path, metadata={"format": "pt"}))
    config_text = json.dumps(config.to_dict(), indent=2) + "\n"
    atomic_write(directory / CONFIG_NAME, lambda path: Path(path).write_text(config_text))
    atomic_write(directory / CARD_NAME, lambda path: Path(path).write_text(card))
    return directory


def read_config(directory: Path) -> ModelConfig:
    """Parse and validate ``directory/config.json``."""
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(
            f"{path} does not exist; a model folder needs {CONFIG_NAME} and {WEIGHTS_NAME} "
            "as written by model.save_pretrained()"
        )
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as bad:
        raise CheckpointError(f"{path} is not valid JSON ({bad}); re-save the model with save_pretrained()") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path} must hold a JSON object, got {type(raw).__name__}")
    return ModelConfig.from_dict(raw)


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

    if not path.is_file():
        raise CheckpointError(f"{path} does not exist; save the model with save_pretrained() first")
    try:
        with safe_open(path, "pt") as handle:
            metadata = handle.metadata() or {}
        state = load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError) as bad:
        raise CheckpointError(f"{path} is not a readable safetensors file ({bad}); re-download or re-save it") from None
    scheme = metadata.get(QUANTIZATION_KEY)
    if scheme is None:
        return state
    if scheme != INT8:
        raise CheckpointError(f"{path} uses the quantization {scheme!r}, which this version cannot read; upgrade medusa-zoo")
    return dequantize_int8(state)


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


def dequantize_int8(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`quantize_int8` (float32 weights; float16 tensors are widened)."""
    out = {}
    for key, value in state.items():
        if key.endswith(SCALE_SUFFIX):
            continue
        scale = state.get(key + SCALE_SUFFIX)
        if scale is not None:
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
