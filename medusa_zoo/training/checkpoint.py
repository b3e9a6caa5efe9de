"""Resume state on disk: one folder per saved step, written whole or not at all, read back checked.

``<run>/checkpoints/step_0000100/`` holds ``model.safetensors`` (the weights), ``state.pt``
(optimiser, LR schedule, grad scaler and RNG states: tensors and plain containers only, read
back with ``torch.load(weights_only=True)``) and ``trainer.json`` (step, recipe). Each folder
is written under a temporary name, flushed to disk and renamed, so a run killed at any moment
(or stopped by a full disk) leaves only complete checkpoints; older ones are pruned only after
the new one is in place. Reading one checks every file and field and raises
:class:`~medusa_zoo.errors.TrainingError` naming the damaged file and what to do.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import TrainingError
from ..files import read_json, require_regular_file

STATE_FORMAT = "medusa_zoo.train_state/1"
KEEP = 2
NAME = re.compile(r"step_(\d{7})")
FILES = ("model.safetensors", "state.pt", "trainer.json")
_FULL = ("no space left", "storagefull", "unexpected pos", "disk quota")  # how writers say "disk full"


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    """Folder of the checkpoint taken after ``step`` optimiser steps."""
    return run_dir / "checkpoints" / f"step_{step:07d}"


def save_checkpoint(run_dir: Path, step: int, weights: dict[str, torch.Tensor], state: dict[str, Any], info: dict) -> Path:
    """Write one checkpoint atomically, then prune all but the newest :data:`KEEP`.

    A failed write (a full disk above all) removes only its own staging folder and raises
    :class:`TrainingError`; every checkpoint written before stays intact.
    """
    final = checkpoint_dir(run_dir, step)
    previous = list_checkpoints(run_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(".step_*"):  # staging folders of a process killed mid-write
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        _write_weights(weights, staging / "model.safetensors")
        _write_state(state, staging / "state.pt")
        _write_info({"format": STATE_FORMAT, "step": step, **info}, staging / "trainer.json")
        _sync(staging)
        _swap(staging, final)
    except Exception as failure:  # the writers raise OSError, SafetensorError or RuntimeError
        raise _write_error(final, failure, previous) from failure
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    for old in list_checkpoints(run_dir)[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _write_weights(weights: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, path)


def _write_state(state: dict[str, Any], path: Path) -> None:
    torch.save(state, path)


def _write_info(info: dict, path: Path) -> None:
    path.write_text(json.dumps(info, indent=2))


def _sync(folder: Path) -> None:
    """Flush every file of ``folder`` to disk, so a disk that fills on flush fails here, before the swap."""
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def _swap(staging: Path, final: Path) -> None:
    """Rename ``staging`` to ``final``; an older folder of the same step is moved aside first, deleted last."""
    if not final.exists():
        os.replace(staging, final)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=final.parent))
    os.replace(final, aside / final.name)
    os.replace(staging, final)
    shutil.rmtree(aside, ignore_errors=True)


def _write_error(final: Path, failure: Exception, previous: list[Path]) -> TrainingError:
    if isinstance(failure, TrainingError):
        return failure
    intact = (f"the last good checkpoint {previous[-1]} (step {_step_of(previous[-1])}) is intact"
              if previous else "no earlier checkpoint exists, so the run will start again from step 0")
    text = str(failure)
    full = getattr(failure, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or any(s in text.lower() for s in _FULL)
    if full:
        return TrainingError(f"no space left on device while writing checkpoint {final}; free space and resume with "
                             f"the same command: {intact}")
    return TrainingError(f"could not write checkpoint {final} ({type(failure).__name__}: {text[:300]}); fix the cause "
                         f"and resume with the same command: {intact}")


def _step_of(folder: Path) -> int:
    return int(folder.name.removeprefix("step_"))


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint folders of a run, oldest first; an entry of the wrong kind raises :class:`TrainingError`."""
    folder = run_dir / "checkpoints"
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise TrainingError(f"{folder} is a file where the run's checkpoint folder should be; "
                            "delete it, or choose another --out")
    found = sorted(p for p in folder.iterdir() if NAME.fullmatch(p.name))
    for path in found:
        if not path.is_dir():
            raise TrainingError(f"{path} is a file where a checkpoint folder should be; delete it to resume from "
                                "an older checkpoint (or delete the run folder to start again)")
    return found


def load_checkpoint(path: Path) -> tuple[int, dict[str, torch.Tensor], dict[str, Any], dict]:
    """(step, weights, state, info) of one checkpoint folder, every field checked; nothing is unpickled."""
    for name in FILES:
        require_regular_file(path / name, _Damaged, "checkpoint file")
    info = read_json(path / "trainer.json", _Damaged, "checkpoint file")
    step = _check_info(path, info)
    weights = _read(path / "model.safetensors", _read_weights)
    state = _read(path / "state.pt", _read_state)
    _check_state(path / "state.pt", state, step)
    return step, weights, state, info


class _Damaged(TrainingError):
    """A damaged checkpoint file; its message gains what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(f"checkpoint unreadable ({message}); delete it to resume from an older one "
                         "(or delete the run folder to start again)")


def _check_info(path: Path, info: Any) -> int:
    where = path / "trainer.json"
    if not isinstance(info, dict):
        raise _Damaged(f"{where} holds {type(info).__name__}, not an object")
    if info.get("format") != STATE_FORMAT:
        raise TrainingError(f"{path} was written by another version (format {info.get('format')!r}); "
                            "resume it with that version, or delete the run folder to start again")
    step = info.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step != _step_of(path):
        raise _Damaged(f"{where} says step {step!r}, but its folder is {path.name}")
    return step


def _read(path: Path, reader: Any) -> Any:
    try:
        return reader(path)
    except Exception as bad:  # noqa: BLE001 - safetensors and torch.load raise many types for damaged files
        raise _Damaged(f"{path} cannot be read ({type(bad).__name__}: {str(bad)[:200]})") from None


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(path, device="cpu")


def _read_state(path: Path) -> Any:
    return torch.load(path, map_location="cpu", weights_only=True)


def _check_state(path: Path, state: Any, step: int) -> None:
    """The optimiser state's shape: what :meth:`Optimization.load_state_dict` and the RNG need."""
    if not isinstance(state, dict):
        raise _Damaged(f"{path} holds {type(state).__name__}, not a state dict")
    missing = [k for k in ("optimizer", "scheduler", "scaler", "rng") if k not in state]
    if missing:
        raise _Damaged(f"{path} lacks {missing}")
    rng = state["rng"]
    expected = torch.get_rng_state()
    if not isinstance(rng, torch.Tensor) or rng.dtype != torch.uint8 or rng.shape != expected.shape:
        raise _Damaged(f"{path}: 'rng' is not a CPU random-generator state")
    scheduler = state["scheduler"]
    if not isinstance(scheduler, dict) or scheduler.get("last_epoch") != step:
        seen = scheduler.get("last_epoch") if isinstance(scheduler, dict) else scheduler
        raise _Damaged(f"{path}: the LR schedule is at step {seen!r}, the checkpoint at step {step}")
    if not isinstance(state["optimizer"], dict) or not isinstance(state["scaler"], dict):
        raise _Damaged(f"{path}: 'optimizer' and 'scaler' must be state dicts")
