"""The multi-task training objective: each task's loss on its final output plus deep supervision."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .models.outputs import MultiTaskOutput
from .tasks import Task, resize_logits


def task_losses(
    output: MultiTaskOutput,
    targets: Mapping[str, torch.Tensor],
    tasks: Mapping[str, Task],
    weights: Mapping[str, float] | None = None,
) -> dict[str, torch.Tensor]:
    """Weighted loss per task present in ``targets``.

    Each intermediate (deep-supervision) prediction is resized to the label and trained with
    the same loss and weight as the final output, as in MTI-Net. Sum the values to train.
    """
    losses = {}
    for name, target in targets.items():
        task = tasks[name]
        size = tuple(target.shape[-2:])
        predictions = [output.logits[name], *output.deep_supervision.get(name, [])]
        total = sum(task.loss(resize_logits(p, size), target) for p in predictions)
        losses[name] = total * (weights or {}).get(name, 1.0)
    return losses
