"""Adding, removing, freezing, saving and loading task heads on a trained network.

What makes features universal in practice: a new task gets a fresh head of the model's
own type on top of a frozen trunk, trained alone, and shipped as a small file that only
attaches to the trunk it was trained on. The *trunk* of a head is everything it reads and
nothing it owns: the backbone, plus for MTI-Net / PAD-Net the jointly trained decoder
modules (see :class:`~medusa_zoo.heads.decoder.CoupledDecoder`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import CheckpointError, DuplicateNameError, HeadMismatchError, IncompatibleConfigError, UnknownTaskError
from ..heads import HEADS
from ..tasks import BUILTIN_TASKS, RegressionTask, SegmentationTask, Task, get_task, task_from_config
from .serialization import atomic_write, load_state_strict, read_weights

if TYPE_CHECKING:
    from .network import MultiTaskNet

HEAD_FORMAT = "medusa_zoo.head/1"
HEAD_CONFIG = "head.json"
HEAD_WEIGHTS = "head.safetensors"
USER_KINDS = ("dense_classification", "dense_regression")


def make_task(name: str, kind: str | None, out_channels: int | None, labels: Sequence[str] | None) -> Task:
    """The :class:`Task` that ``model.add_task(name, kind=..., out_channels=..., labels=...)`` means."""
    kind = kind or name
    if kind in BUILTIN_TASKS:
        base = get_task(kind, num_classes=out_channels, labels=labels) if (out_channels or labels) else get_task(kind)
        return base.renamed(name)
    if kind in ("dense_classification", "segmentation"):
        if out_channels is None and not labels:
            raise IncompatibleConfigError(f"kind={kind!r} needs out_channels=K (the number of classes) or labels=[...]")
        count = out_channels if out_channels is not None else len(labels or ())
        names = tuple(labels) if labels else tuple(f"class_{i}" for i in range(count))
        return SegmentationTask(name, count, names)
    if kind == "dense_regression":
        if out_channels is None:
            raise IncompatibleConfigError("kind='dense_regression' needs out_channels=C (values per pixel)")
        return RegressionTask(name, out_channels)
    raise UnknownTaskError(
        f"unknown task kind {kind!r}; use a built-in task ({', '.join(BUILTIN_TASKS.names())}) or one of "
        f"{', '.join(USER_KINDS)} with out_channels"
    )


def check_addable(model: MultiTaskNet, task: Task) -> None:
    """Refuse a task the model cannot take, before anything changes."""
    if task.name in model.tasks:
        raise DuplicateNameError(
            f"this model already has a task {task.name!r}; remove_task({task.name!r}) first or choose another name"
        )
    head = HEADS.get(model.config.head)
    if head.max_tasks is not None and len(model.tasks) >= head.max_tasks:
        raise IncompatibleConfigError(
            f"a {head.name!r} model holds {head.max_tasks} task(s); a new task needs a multi-task head "
            "(e.g. 'mtl' or 'medusa')"
        )
    if not hasattr(model.decoder, "add_task"):
        raise IncompatibleConfigError(f"the {head.name!r} decoder cannot take new tasks")


def own_options(model: MultiTaskNet) -> dict[str, Any]:
    """The head options that define the head type's modules (without the attached-task list)."""
    return {k: v for k, v in model.config.head_options.items() if k != "attached"}


def attached_options(model: MultiTaskNet) -> dict[str, Any]:
    """Head options with the decoder's attached tasks recorded (absent when there are none)."""
    options = own_options(model)
    attached = list(getattr(model.decoder, "attached", []))
    if attached:
        options["attached"] = attached
    return options


def with_tasks(model: MultiTaskNet, tasks: Sequence[Task]) -> Any:
    """The model's config with ``tasks`` and the decoder's current attached tasks."""
    return dataclasses.replace(model.config, tasks=tuple(tasks), head_options=attached_options(model))


# ---------------------------------------------------------------- freezing
@dataclass(frozen=True)
class FreezeSummary:
    """What :meth:`MultiTaskNet.freeze` left trainable."""

    tasks: tuple[str, ...]
    trainable: int
    frozen: int

    def __str__(self) -> str:
        total = self.trainable + self.frozen
        return (
            f"training {self.trainable:,} of {total:,} parameters ({100 * self.trainable / max(total, 1):.1f}%: "
            f"the head(s) of {', '.join(self.tasks)}); everything else is frozen, BatchNorm statistics included"
        )


def count_parameters(model: MultiTaskNet) -> tuple[int, int]:
    """(trainable, frozen) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters()) - trainable


# ---------------------------------------------------------------- the trunk and head-only files
def _module_prefixes(model: MultiTaskNet, modules: Sequence[torch.nn.Module]) -> list[str]:
    names = {id(module): name for name, module in model.named_modules()}
    return [names[id(m)] + "." for m in modules]


def head_module_names(model: MultiTaskNet, name: str) -> list[str]:
    """Qualified names of the modules that belong to task ``name`` alone (what fine-tuning it trains)."""
    return [prefix[:-1] for prefix in _module_prefixes(model, model.decoder.task_modules(name))]


def head_state(model: MultiTaskNet, name: str) -> dict[str, torch.Tensor]:
    """The state-dict entries (parameters and BatchNorm buffers) that belong to task ``name`` alone."""
    prefixes = tuple(_module_prefixes(model, model.decoder.task_modules(name)))
    return {k: v for k, v in model.state_dict().items() if k.startswith(prefixes)}


def removable_tasks(model: MultiTaskNet) -> list[str]:
    """Tasks whose head nothing else reads: every task of per-task heads, attached ones of coupled decoders."""
    return list(getattr(model.decoder, "attached", model.tasks))


def trunk_fingerprint(model: MultiTaskNet) -> str:
    """sha256 of the trunk's tensors (names, shapes, float32 values): what a head was trained on.

    The same for any dtype or device the weights are held in, and unchanged by adding,
    removing or training heads; any change to the backbone (or a coupled decoder's joint
    modules) changes it.
    """
    owned = tuple(p for t in removable_tasks(model) for p in _module_prefixes(model, model.decoder.task_modules(t)))
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        if key.startswith(owned):
            continue
        tensor = value.detach().cpu()
        tensor = tensor.float() if tensor.is_floating_point() else tensor.long()
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}\n".encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def save_head(model: MultiTaskNet, name: str, directory: str | Path) -> Path:
    """Write ``head.safetensors`` (task ``name``'s weights) and ``head.json`` (its config and trunk)."""
    from safetensors.torch import save_file

    task = model.tasks[name]
    state = {k: v.detach().cpu().float().contiguous() if v.is_floating_point() else v.detach().cpu().contiguous()
             for k, v in head_state(model, name).items()}
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(directory / HEAD_WEIGHTS, lambda path: save_file(state, path, metadata={"format": "pt"}))
    record = {
        "format": HEAD_FORMAT,
        "task": task.to_config(),
        "head": model.config.head,
        "head_options": own_options(model),
        "backbone": model.config.backbone.to_config(),
        "arch": model.config.arch,
        "parameters": sum(p.numel() for m in model.decoder.task_modules(name) for p in m.parameters()),
        "weights_sha256": hashlib.sha256((directory / HEAD_WEIGHTS).read_bytes()).hexdigest(),
        "trunk": {"sha256": trunk_fingerprint(model), "source": getattr(model, "source", None),
                  "other_tasks": [t for t in model.tasks if t != name]},
    }
    text = json.dumps(record, indent=2) + "\n"
    atomic_write(directory / HEAD_CONFIG, lambda path: Path(path).write_text(text))
    return directory


def read_head(directory: str | Path) -> tuple[dict[str, Any], Path]:
    """Parse ``head.json`` of a head folder; (record, weights path)."""
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


def check_head_fits(model: MultiTaskNet, record: dict[str, Any], where: Path) -> Task:
    """Refuse a head of another head type, backbone or trunk; the head's task otherwise."""
    if record.get("head") != model.config.head or record.get("backbone") != model.config.backbone.to_config():
        raise HeadMismatchError(
            f"the head in {where} is a {record.get('head')!r} head on a {record.get('backbone', {}).get('timm_name')!r} "
            f"backbone; this model is {model.config.head!r} on {model.config.backbone.timm_name!r}"
        )
    options = own_options(model)
    if record.get("head_options", {}) != options:
        raise HeadMismatchError(f"the head in {where} was built with head options {record.get('head_options')}, "
                                f"this model with {options}")
    trunk = record.get("trunk", {})
    mine = trunk_fingerprint(model)
    if trunk.get("sha256") != mine:
        source = f" (it was trained on {trunk['source']})" if trunk.get("source") else ""
        raise HeadMismatchError(
            f"the head in {where} was trained on a different trunk{source}: its trunk sha256 is "
            f"{str(trunk.get('sha256'))[:16]}..., this model's is {mine[:16]}...; a head only works on the exact "
            "features it was trained on, so load it onto that model"
        )
    try:
        return task_from_config(record["task"])
    except KeyError:
        raise CheckpointError(f"{where} lacks the task's config") from None


def load_head_weights(model: MultiTaskNet, name: str, weights: Path) -> None:
    """Copy a head file's tensors into task ``name``'s freshly built modules (exact key match)."""
    part = head_state(model, name)
    load_state_strict(model, read_weights(weights), str(weights), part=part)
