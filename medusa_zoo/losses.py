"""The multi-task training objective: each task's loss on its final output plus deep supervision."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .errors import TrainingError
from .models.outputs import MultiTaskOutput
from .tasks import Task, resize_logits


def task_losses(
    output: MultiTaskOutput,
    targets: Mapping[str, torch.Tensor],
    tasks: Mapping[str, Task],
    weights: Mapping[str, float] | None = None,
    deep_supervision: bool = True,
) -> dict[str, torch.Tensor]:
    """Weighted loss per task present in ``targets``.

    Each intermediate (deep-supervision) prediction is resized to the label and trained with
    the same loss and weight as the final output, as in MTI-Net (``deep_supervision=False``
    trains the final output only). A task with deep-supervision predictions but no final output
    (an MTI-Net auxiliary task) is trained through those alone; ``tasks`` then holds its
    definition too. Sum the values to train.
    """
    losses = {}
    for name, target in targets.items():
        task = tasks[name]
        size = tuple(target.shape[-2:])
        deep = output.deep_supervision.get(name, []) if deep_supervision else []
        final = [output.logits[name]] if name in output.logits else []
        predictions = [*final, *deep]
        if not predictions:
            raise TrainingError(
                f"task {name!r} has a target but the network gives it nothing to train: it has no final output "
                "(an auxiliary task is trained through its deep supervision only, so keep deep_supervision on)"
            )
        total = sum(task.loss(resize_logits(p, size), target) for p in predictions)
        losses[name] = total * (weights or {}).get(name, 1.0)
    return losses
