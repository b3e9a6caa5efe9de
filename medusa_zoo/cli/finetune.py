"""Fit a head for a new task on frozen features, from a folder of images and a folder of PNG masks.

    medusa-zoo finetune --task floor --kind dense_classification --labels other floor \\
        --images photos/ --masks masks/ --out floor_head/
    medusa-zoo finetune --task normals --images rooms/ --masks normals/ --val-images val/ --val-masks val_normals/ \\
        --steps 300 --out normals_head/

Loads ``--model`` (default ``medusa_efficientnet_lite0.synthrooms-no-normals``, the trunk published
for new heads), attaches a fresh head for ``--task`` (``model.add_task``: ``--kind`` is a built-in
task such as ``normals`` or ``edge``, default the task's name, or ``dense_classification`` /
``dense_regression`` with ``--out-channels C`` or ``--labels``), trains only that head with
``medusa_zoo.finetune`` and saves it with ``model.save_head`` into ``--out`` (``head.json`` and
``head.safetensors``; a head already there is replaced). Images and masks are matched by file
name without extension (``a.jpg`` with ``a.png``); each mask holds class indices (255: unlabelled)
or values, at its image's height and width. Load the head later with
``model = medusa_zoo.load(MODEL); model.load_head(OUT)``.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import DatasetError
from .args import (
    add_device,
    add_progress,
    add_threads,
    existing_dir,
    non_negative_int,
    output_dir,
    positive_float,
    positive_int,
)

HELP = "train a head for a new task on frozen features from folders of images and PNG masks; saves the head"
DEFAULT_TRUNK = "medusa_efficientnet_lite0.synthrooms-no-normals"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=DEFAULT_TRUNK,
                   help="arch.tag, hf-hub:org/name or local-dir:PATH to fit the head on (default %(default)s)")
    p.add_argument("--task", required=True, help="name of the new task (must not be one of the model's)")
    p.add_argument("--kind", help="built-in task (normals, edge, semseg, ...) or dense_classification / "
                                  "dense_regression (default: the task's name)")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--out-channels", type=positive_int, metavar="C", help="classes or values per pixel")
    shape.add_argument("--labels", nargs="+", metavar="NAME", help="class names (index 0 first)")
    p.add_argument("--images", type=existing_dir, required=True, help="folder of training images")
    p.add_argument("--masks", type=existing_dir, required=True, help="folder of their PNG masks, matched by name")
    p.add_argument("--val-images", type=existing_dir, help="folder of validation images (with --val-masks)")
    p.add_argument("--val-masks", type=existing_dir, help="folder of validation PNG masks (with --val-images)")
    p.add_argument("--steps", type=positive_int, default=300, help="training batches (default %(default)s)")
    p.add_argument("--lr", type=positive_float, default=1e-3, help="peak learning rate (default %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=8, help="images per batch (default %(default)s)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="head initialisation and sample order")
    p.add_argument("--out", type=output_dir, required=True, help="folder to write head.json and head.safetensors")
    add_threads(p)
    add_device(p)
    add_progress(p)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..api import load
    from ..training.finetune import finetune

    validation = _validation_folders(args)
    model = load(args.model, device=args.device)
    torch.manual_seed(args.seed)
    task = model.add_task(args.task, kind=args.kind, out_channels=args.out_channels, labels=args.labels)
    result = finetune(model, task.name, (args.images, args.masks), validation, steps=args.steps, lr=args.lr,
                      batch_size=args.batch_size, seed=args.seed, threads=args.threads, device=args.device,
                      progress=not args.no_progress)  # fmt: skip
    out = model.save_head(task.name, args.out)
    print(report(args.model, task.to_config(), result, out))
    return 0


def _validation_folders(args: argparse.Namespace) -> tuple[Any, Any] | None:
    """``(val_images, val_masks)``, None without them; one without the other is an error."""
    if (args.val_images is None) != (args.val_masks is None):
        raise DatasetError("--val-images and --val-masks go together: give both folders, or neither")
    return None if args.val_images is None else (args.val_images, args.val_masks)


def report(model: str, task: dict[str, Any], result: Any, out: Any) -> str:
    """What ``finetune`` prints: the files, the parameter counts, the loss and the validation metrics."""
    trained, total = result.trainable.trainable, result.trainable.trainable + result.trainable.frozen
    loss = result.history[-1]["loss"] if result.history else float("nan")
    lines = [
        f"wrote {out.resolve()}/head.json and head.safetensors: task {task['name']!r} ({task['kind']}) on {model}",
        (f"  trained {trained:,} of {total:,} parameters ({100 * trained / max(total, 1):.1f}%, the new head); "
         f"{result.steps} steps in {result.wall_s:.1f} s, last loss {loss:.4g}"),
    ]
    if result.metrics:
        lines.append("  validation: " + ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items()))
    lines.append(f"  load it with: model = medusa_zoo.load({model!r}); model.load_head({str(out.resolve())!r})")
    return "\n".join(lines)
