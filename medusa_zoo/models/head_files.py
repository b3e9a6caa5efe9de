"""Head-only files: one task's head weights, shipped as a small file that attaches only to its trunk.

What makes features universal in practice: a new task gets a fresh head of the model's own
type on top of a frozen trunk, trained alone, and saved on its own. The *trunk* of a head is
everything it reads and nothing it owns: the backbone, plus for MTI-Net / PAD-Net the jointly
trained decoder modules. A head folder holds ``head.safetensors`` and ``head.json`` (the task,
the head type and options, the backbone, and the sha256 of the trunk it was trained on).

These functions work on configs and tensors; :meth:`MultiTaskNet.save_head` and
:meth:`MultiTaskNet.load_head` gather them from the network.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError, HeadMismatchError
from ..files import atomic_write
from ..tasks import Task, task_from_config
from .config import ModelConfig

HEAD_FORMAT = "medusa_zoo.head/1"
HEAD_CONFIG = "head.json"
HEAD_WEIGHTS = "head.safetensors"


def write_head(
    directory: str | Path,
    task: Task,
    config: ModelConfig,
    head_options: Mapping[str, Any],
    state: Mapping[str, torch.Tensor],
    parameters: int,
    trunk: Mapping[str, Any],
) -> Path:
    """Write ``head.safetensors`` (``state``, float32) and ``head.json`` into ``directory``.

    ``head_options`` are the head type's own options (without task-state options);
    ``parameters`` counts the head's parameters; ``trunk`` is ``{"sha256", "source", "other_tasks"}``.
    """
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().float().contiguous() if v.is_floating_point() else v.detach().cpu().contiguous()
               for k, v in state.items()}  # fmt: skip
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(directory / HEAD_WEIGHTS, lambda path: save_file(tensors, path, metadata={"format": "pt"}))
    record = {
        "format": HEAD_FORMAT,
        "task": task.to_config(),
        "head": config.head,
        "head_options": dict(head_options),
        "backbone": config.backbone.to_config(),
        "arch": config.arch,
        "parameters": parameters,
        "weights_sha256": hashlib.sha256((directory / HEAD_WEIGHTS).read_bytes()).hexdigest(),
        "trunk": dict(trunk),
    }
    text = json.dumps(record, indent=2) + "\n"
    atomic_write(directory / HEAD_CONFIG, lambda path: Path(path).write_text(text))
    return directory


def read_head(directory: str | Path) -> tuple[dict[str, Any], Path]:
    """Parse ``head.json`` of a head folder and check the weights' hash; (record, weights path)."""
    directory = Path(directory)
    path = directory / HEAD_CONFIG
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist; a head folder holds {HEAD_CONFIG} and {HEAD_WEIGHTS} "
                              "as written by model.save_head(name, folder)")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as bad:
        raise CheckpointError(f"{path} is not valid JSON ({bad})") from None
    if not isinstance(record, dict) or record.get("format") != HEAD_FORMAT:
        raise CheckpointError(f"{path} is not a medusa_zoo head file (format {HEAD_FORMAT!r})")
    weights = directory / HEAD_WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{weights} is missing; save the head again with model.save_head")
    actual = hashlib.sha256(weights.read_bytes()).hexdigest()
    if actual != record.get("weights_sha256"):
        raise CheckpointError(f"{weights} does not match the sha256 in {path} (file changed or truncated); save it again")
    return record, weights


def check_head_fits(
    record: Mapping[str, Any], config: ModelConfig, head_options: Mapping[str, Any], trunk_sha256: str, where: Path
) -> Task:
    """Refuse a head of another head type, backbone, head options or trunk; the head's task otherwise."""
    if record.get("head") != config.head or record.get("backbone") != config.backbone.to_config():
        raise HeadMismatchError(
            f"the head in {where} is a {record.get('head')!r} head on a {record.get('backbone', {}).get('timm_name')!r} "
            f"backbone; this model is {config.head!r} on {config.backbone.timm_name!r}"
        )
    if record.get("head_options", {}) != dict(head_options):
        raise HeadMismatchError(f"the head in {where} was built with head options {record.get('head_options')}, "
                                f"this model with {dict(head_options)}")
    trunk = record.get("trunk", {})
    if trunk.get("sha256") != trunk_sha256:
        source = f" (it was trained on {trunk['source']})" if trunk.get("source") else ""
        raise HeadMismatchError(
            f"the head in {where} was trained on a different trunk{source}: its trunk sha256 is "
            f"{str(trunk.get('sha256'))[:16]}..., this model's is {trunk_sha256[:16]}...; a head only works on the "
            "exact features it was trained on, so load it onto that model"
        )
    try:
        return task_from_config(record["task"])
    except KeyError:
        raise CheckpointError(f"{where} lacks the task's config") from None
