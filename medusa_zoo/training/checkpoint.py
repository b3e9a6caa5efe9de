"""Resume state on disk: one folder per saved step, written whole or not at all.

``<run>/checkpoints/step_0000100/`` holds ``model.safetensors`` (the weights), ``state.pt``
(optimiser, LR schedule, grad scaler and RNG states: tensors and plain containers only, read
back with ``torch.load(weights_only=True)``) and ``trainer.json`` (step, recipe). Each folder
is written under a temporary name and renamed, so a run killed at any moment leaves only
complete checkpoints; the newest one is resumed.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import TrainingError

STATE_FORMAT = "medusa_zoo.train_state/1"
KEEP = 2


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    """Folder of the checkpoint taken after ``step`` optimiser steps."""
    return run_dir / "checkpoints" / f"step_{step:07d}"


def save_checkpoint(run_dir: Path, step: int, weights: dict[str, torch.Tensor], state: dict[str, Any], info: dict) -> Path:
    """Write one checkpoint atomically and prune all but the newest :data:`KEEP`."""
    from safetensors.torch import save_file

    final = checkpoint_dir(run_dir, step)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(".step_*"):  # staging folders of a process killed mid-write
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, staging / "model.safetensors")
        torch.save(state, staging / "state.pt")
        (staging / "trainer.json").write_text(json.dumps({"format": STATE_FORMAT, "step": step, **info}, indent=2))
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    for old in list_checkpoints(run_dir)[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoint folders of a run, oldest first."""
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("step_*") if p.is_dir() and (p / "trainer.json").is_file())


def load_checkpoint(path: Path) -> tuple[int, dict[str, torch.Tensor], dict[str, Any], dict]:
    """(step, weights, state, info) of one checkpoint folder; nothing is unpickled."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        info = json.loads((path / "trainer.json").read_text())
        if info.get("format") != STATE_FORMAT:
            raise TrainingError(f"{path} was written by another version (format {info.get('format')!r})")
        weights = load_file(path / "model.safetensors", device="cpu")
        state = torch.load(path / "state.pt", map_location="cpu", weights_only=True)
    except (OSError, ValueError, RuntimeError, SafetensorError, pickle.UnpicklingError, EOFError) as bad:
        if isinstance(bad, TrainingError):
            raise
        raise TrainingError(f"checkpoint {path} is unreadable ({bad}); delete it to resume from an older one") from None
    return int(info["step"]), weights, state, info
