"""Head-only files: one task's head weights, shipped as a small file that attaches only to its trunk.

What makes features universal in practice: a new task gets a fresh head of the model's own
type on top of a frozen trunk, trained alone, and saved on its own. The *trunk* of a head is
everything it reads and nothing it owns: the backbone, plus for MTI-Net / PAD-Net the jointly
trained decoder modules. A head folder holds ``head.safetensors`` and ``head.json`` (the task,
the head type and options, the backbone, the sha256 of the trunk it was trained on, and the sha256
of ``head.safetensors``). The same record is stored inside ``head.safetensors``' metadata, so that
sha256 covers ``head.json`` too: an edited task kind or trunk is refused, not silently used.

These functions work on configs and tensors; :meth:`MultiTaskNet.save_head` and
:meth:`MultiTaskNet.load_head` gather them from the network.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError, HeadMismatchError, IncompatibleConfigError, IntegrityError
from ..files import read_json, require_regular_file, sha256_of
from ..tasks import Task, task_from_config
from .config import ModelConfig
from .serialization import write_together

HEAD_FORMAT = "medusa_zoo.head/2"
OLD_HEAD_FORMATS = ("medusa_zoo.head/1",)  # head.json not yet covered by the weights' hash
HEAD_CONFIG = "head.json"
HEAD_WEIGHTS = "head.safetensors"
RECORD_KEY = "medusa_zoo.head"  # head.json's content, inside the weights file the hash covers
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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
    The record of ``head.json`` is also stored in the weights file's metadata, so the
    ``weights_sha256`` in ``head.json`` covers the task, head type and trunk it names.
    """
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().float().contiguous() if v.is_floating_point() else v.detach().cpu().contiguous()
               for k, v in state.items()}  # fmt: skip
    directory = Path(directory)
    record = {
        "format": HEAD_FORMAT,
        "task": task.to_config(),
        "head": config.head,
        "head_options": dict(head_options),
        "backbone": config.backbone.to_config(),
        "arch": config.arch,
        "parameters": parameters,
        "trunk": dict(trunk),
    }
    data = save(tensors, metadata={"format": "pt", RECORD_KEY: json.dumps(record, sort_keys=True)})  # a head is small
    text = json.dumps({**record, "weights_sha256": hashlib.sha256(data).hexdigest()}, indent=2) + "\n"
    write_together(directory, [
        (HEAD_WEIGHTS, lambda path: Path(path).write_bytes(data)),
        (HEAD_CONFIG, lambda path: Path(path).write_text(text)),
    ])  # fmt: skip
    return directory


def read_head(directory: str | Path) -> tuple[dict[str, Any], Path]:
    """Parse and validate ``head.json`` of a head folder and check it and the weights against the hash.

    Raises :class:`CheckpointError` for a missing or foreign file, :class:`IntegrityError` when
    the weights or ``head.json`` were changed after saving, and :class:`IncompatibleConfigError`
    for a malformed field; returns (record, weights path).
    """
    directory = Path(directory)
    path = directory / HEAD_CONFIG
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; a head folder holds {HEAD_CONFIG} and {HEAD_WEIGHTS} "
                              "as written by model.save_head(name, folder)")
    record = read_json(path, CheckpointError, "head file")
    kind = record.get("format") if isinstance(record, dict) else None
    if kind in OLD_HEAD_FORMATS:
        raise CheckpointError(
            f"{path} was written by an older medusa_zoo (format {kind!r}) whose head.json is not covered by the "
            "weights' hash, so it cannot be trusted; save the head again with this version (train it again, or "
            "save it from the model it is attached to with an older medusa_zoo and then model.save_head here)"
        )
    if kind != HEAD_FORMAT:
        raise CheckpointError(f"{path} is not a medusa_zoo head file (format {HEAD_FORMAT!r})")
    check_record(record, path)
    weights = directory / HEAD_WEIGHTS
    if not weights.exists():
        raise CheckpointError(f"{weights} is missing; save the head again with model.save_head")
    actual = sha256_of(require_regular_file(weights, CheckpointError, "head weights"))
    if actual != record["weights_sha256"]:
        raise IntegrityError(f"{weights} does not match the sha256 in {path} (file changed or truncated); save it again",
                             str(weights), record["weights_sha256"], actual)  # fmt: skip
    _check_record_matches_weights(record, weights, path)
    return record, weights


def _check_record_matches_weights(record: Mapping[str, Any], weights: Path, path: Path) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(weights, "pt") as handle:
            stored = (handle.metadata() or {}).get(RECORD_KEY)
        saved = json.loads(stored) if stored is not None else None
    except (SafetensorError, OSError, ValueError) as bad:
        raise CheckpointError(f"{weights} is not a readable safetensors file ({bad}); save the head again") from None
    if saved != {k: v for k, v in record.items() if k != "weights_sha256"}:
        raise IntegrityError(
            f"{path} differs from the record saved inside {weights} (covered by its sha256): head.json was edited "
            "after saving; restore it or save the head again with model.save_head",
            str(path), "", "",
        )


def check_record(record: Mapping[str, Any], path: Path) -> None:
    """Refuse a ``head.json`` whose fields have the wrong type, naming the field."""
    trunk = record.get("trunk")
    backbone = record.get("backbone")
    checks = {
        "task": isinstance(record.get("task"), dict),
        "head": isinstance(record.get("head"), str),
        "head_options": isinstance(record.get("head_options"), dict),
        "backbone": isinstance(backbone, dict) and isinstance(backbone.get("timm_name"), str),
        "arch": record.get("arch") is None or isinstance(record.get("arch"), str),
        "parameters": type(record.get("parameters")) is int and record["parameters"] >= 0,
        "weights_sha256": isinstance(record.get("weights_sha256"), str) and bool(_SHA256.match(record["weights_sha256"])),
        "trunk": isinstance(trunk, dict),
        "trunk.sha256": isinstance(trunk, dict) and isinstance(trunk.get("sha256"), str),
        "trunk.source": isinstance(trunk, dict) and (trunk.get("source") is None or isinstance(trunk["source"], str)),
        "trunk.other_tasks": isinstance(trunk, dict)
        and isinstance(trunk.get("other_tasks", []), list)
        and all(isinstance(t, str) for t in trunk.get("other_tasks", [])),
    }
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise IncompatibleConfigError(
            f"{path} has missing or malformed fields {bad}; it is damaged, save the head again with model.save_head"
        )


def check_head_fits(
    record: Mapping[str, Any], config: ModelConfig, head_options: Mapping[str, Any], trunk_sha256: str, where: Path
) -> Task:
    """Refuse a head of another head type, backbone, head options or trunk; the head's task otherwise."""
    check_record({"weights_sha256": "0" * 64, "parameters": 0, **record}, where / HEAD_CONFIG)
    if record["head"] != config.head or record["backbone"] != config.backbone.to_config():
        raise HeadMismatchError(
            f"the head in {where} is a {record['head']!r} head on a {record['backbone']['timm_name']!r} "
            f"backbone; this model is {config.head!r} on {config.backbone.timm_name!r}"
        )
    if record["head_options"] != dict(head_options):
        raise HeadMismatchError(f"the head in {where} was built with head options {record['head_options']}, "
                                f"this model with {dict(head_options)}")
    trunk = record["trunk"]
    if trunk["sha256"] != trunk_sha256:
        source = f" (it was trained on {trunk['source']})" if trunk.get("source") else ""
        raise HeadMismatchError(
            f"the head in {where} was trained on a different trunk{source}: its trunk sha256 is "
            f"{trunk['sha256'][:16]}..., this model's is {trunk_sha256[:16]}...; a head only works on the "
            "exact features it was trained on, so load it onto that model"
        )
    return task_from_config(record["task"])
