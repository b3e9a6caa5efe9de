"""Dataset-level evaluation of a network on every one of its tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data import dataset_spec
from ..metrics import Meter
from ..models.zoo import ARCHITECTURES
from ..tasks import Task
from .data import evaluation_loader
from .results import delta_m_against, read_results, results_path

Results = dict[str, dict[str, float]]


def task_meters(tasks: Sequence[Task], dataset: str | None) -> dict[str, Meter]:
    """One fresh meter per task, with the conventions of ``dataset``'s registry row (e.g. PASCAL's
    edge tolerance); ``dataset=None`` (data of your own) uses each meter's defaults."""
    if dataset is None:
        return {task.name: task.meter() for task in tasks}
    return dataset_spec(dataset).meters(tasks)


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module,
    loader: torch.utils.data.DataLoader,
    dataset: str | None,
    tasks: Sequence[str] | None = None,
    progress: bool = False,
    amp: torch.dtype | None = None,
    meters: Mapping[str, Meter] | None = None,
) -> Results:
    """Metrics of ``model`` (a :class:`~medusa_zoo.MultiTaskNet`) per task over ``loader``.

    ``loader`` yields normalised batches (``eval_transforms``). Images are padded to the
    backbone's stride and predictions cropped back, so any size works. Returns
    ``{task: {metric: value}}`` with each meter's dataset-level statistics. ``meters`` (fresh
    ones, keyed by task) replace the dataset's conventions for those tasks, e.g.
    ``{"saliency": SaliencyMeter.reference()}``.
    """
    chosen = [model.tasks[name] for name in (tasks or list(model.tasks))]
    meters = {**task_meters(chosen, dataset), **(meters or {})}
    stride = model.feature_info.max_stride
    was_training = model.training
    model.eval()
    try:
        for batch in tqdm(loader, desc="evaluate", disable=not progress, leave=False):
            images = batch["image"].to(model.device, model.dtype)
            h, w = images.shape[-2:]
            images = F.pad(images, (0, -w % stride, 0, -h % stride))
            with torch.autocast(model.device.type, dtype=amp, enabled=amp is not None):
                logits = model(images).logits
            for task in chosen:
                prediction = task.postprocess(logits[task.name][..., :h, :w].float()).cpu()
                meters[task.name].update(prediction, batch[task.name])
    finally:
        model.train(was_training)
    return {name: meter.compute() for name, meter in meters.items()}


def primary_metrics(tasks: Sequence[Task], dataset: str) -> dict[str, tuple[str, bool]]:
    """Task -> (primary metric, lower is better), as Δm uses them."""
    return {name: (m.primary, m.lower_is_better) for name, m in task_meters(tasks, dataset).items()}


def evaluate_model(
    model: Any,
    dataset: str,
    split: str,
    images: int | None = None,
    options: dict[str, Any] | None = None,
    size: tuple[int, int] | None = None,
    batch_size: int = 8,
    num_workers: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``dataset:split`` (first ``images`` samples) -> results document.

    The document has ``dataset``, ``split``, ``images``, ``values``, ``parameters`` (``total`` and
    ``backbone``) and ``delta_m`` (None with ``delta_m_note`` saying why when no matching
    single-task reference ships).
    """
    loader = evaluation_loader(dataset, split, list(model.tasks), options, images, size, model.config.preprocessing,
                               batch_size, num_workers)
    values = evaluate(model, loader, dataset, progress=progress)
    count = len(loader.dataset)  # type: ignore[arg-type]
    result: dict[str, Any] = {"dataset": dataset, "split": split, "images": count, "values": values}
    result["parameters"] = {"total": sum(p.numel() for p in model.parameters()),
                            "backbone": sum(p.numel() for p in model.backbone.parameters())}
    arch = model.config.arch
    result["delta_m"], result["delta_m_note"] = None, "the model is not a registered architecture"
    if arch in ARCHITECTURES:
        reference = results_path(dataset, ARCHITECTURES.get(arch).backbone, "stl")
        if reference.is_file():
            tasks = [model.tasks[n] for n in values]
            result["delta_m"], result["delta_m_note"] = delta_m_against(
                values, read_results(reference), primary_metrics(tasks, dataset), dataset, split, count
            )
            result["delta_m_reference"] = reference.name
        else:
            result["delta_m_note"] = f"no single-task results ship for this family ({reference.name})"
    return result
