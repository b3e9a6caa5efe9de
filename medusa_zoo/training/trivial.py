"""Trivial predictors: the floor every trained network's metrics are read against.

    python -m medusa_zoo trivial --recipe synthrooms_regnetx002 --fit-images 500 \\
        --out medusa_zoo/results/synthrooms_regnetx002.trivial.json

Each task gets the best *constant* prediction of its kind, estimated on the TRAIN split only
(never on the split it is evaluated on). The task kind owns its constant
(``task.baseline()``): segmentation the majority class, depth the mean depth, normals the mean
direction, edge and saliency the all-positive map (the best constant: their metrics maximise over thresholds), dense regression the per-channel mean. The
predictions are scored by exactly the meters networks are scored by
(:func:`~medusa_zoo.training.evaluation.task_meters`), at each target's own size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from ..data import eval_transforms
from ..errors import DatasetError, UnknownTaskError
from ..tasks import Baseline, Task
from .data import Transformed, build_dataset, collate, dataset_tasks
from .evaluation import Results, task_meters
from .recipe import load_recipe

FIT_SPLIT = "train"
"""The only split trivial statistics are estimated on."""


def _baseline(task: Task, statistic: Mapping[str, Any] | None = None) -> Baseline:
    try:
        return task.baseline(statistic)
    except NotImplementedError:
        raise UnknownTaskError(
            f"no trivial predictor for task {task.name!r} of kind {task.kind!r}; give its Task subclass a "
            "baseline() method"
        ) from None


# ------------------------------------------------------------------ the predictor
@dataclass(frozen=True)
class TrivialPredictor:
    """Per task, the constant fitted on ``fit_images`` samples of the ``split`` split of ``dataset``.

    ``statistics[task]`` holds the constant (``class``, ``mean``, ``direction`` or
    ``probability``) with what it was estimated from; :meth:`predict` turns it into a batch.
    """

    dataset: str
    tasks: tuple[Task, ...]
    statistics: Mapping[str, Mapping[str, Any]]
    fit_images: int
    split: str = FIT_SPLIT
    options: Mapping[str, Any] = field(default_factory=dict)

    def task(self, name: str) -> Task:
        """The task called ``name``."""
        for task in self.tasks:
            if task.name == name:
                return task
        raise UnknownTaskError(f"the trivial predictor has no task {name!r}; it has {[t.name for t in self.tasks]}")

    def predict(self, name: str, target: torch.Tensor) -> torch.Tensor:
        """Task ``name``'s constant prediction for a batch of targets, at their (B, H, W) size.

        Shapes follow the meters' prediction convention: segmentation (B, H, W) int64, depth
        and edge / saliency (B, H, W) float32, normals (B, 3, H, W) float32 unit vectors.
        """
        return _baseline(self.task(name), self.statistics[name]).predict(target)


def fit_from_samples(
    samples: Iterable[Mapping[str, Any]],
    tasks: Sequence[Task],
    dataset: str = "custom",
    split: str = FIT_SPLIT,
    options: Mapping[str, Any] | None = None,
) -> TrivialPredictor:
    """Fit the constants of ``tasks`` on ``samples`` (dicts of one image's targets, unbatched).

    Targets are as in the dataset samples (see :mod:`medusa_zoo.data`). Every statistic is
    pooled over all pixels of all samples, not averaged per image.
    """
    baselines = {task.name: _baseline(task) for task in tasks}
    count = 0
    for sample in samples:
        for name, baseline in baselines.items():
            if name not in sample:
                raise DatasetError(f"a fitting sample lacks the target {name!r}; it has {sorted(sample)}")
            baseline.add(torch.as_tensor(sample[name]))
        count += 1
    if count == 0:
        raise DatasetError("no sample to fit trivial predictors on")
    statistics = {name: {"kind": b.task.kind, **b.statistic()} for name, b in baselines.items()}
    return TrivialPredictor(dataset, tuple(tasks), statistics, count, split, dict(options or {}))


def fit_trivial(
    dataset: str,
    tasks: Sequence[str | Task],
    options: Mapping[str, Any] | None = None,
    images: int | None = 500,
    progress: bool = False,
) -> TrivialPredictor:
    """Fit trivial predictors on the first ``images`` samples of ``dataset``'s TRAIN split.

    ``tasks`` are task names (resolved with :func:`~.data.dataset_tasks`) or :class:`Task`
    objects; ``options`` are a recipe's ``data`` field (as :func:`~.data.build_dataset`).
    Targets are read at the dataset's own resolution, untransformed.
    """
    resolved = tuple(t if isinstance(t, Task) else dataset_tasks(dataset, [t])[0] for t in tasks)
    data = build_dataset(dataset, FIT_SPLIT, [t.name for t in resolved], dict(options or {}), images)
    samples = (data[i] for i in range(len(data)))  # type: ignore[arg-type]
    samples = tqdm(samples, total=len(data), desc="fit trivial", disable=not progress, leave=False)  # type: ignore[arg-type]
    return fit_from_samples(samples, resolved, dataset, FIT_SPLIT, options)


def evaluate_trivial(
    predictor: TrivialPredictor,
    loader_or_dataset: Iterable[Mapping[str, Any]],
    dataset_name: str,
    batch_size: int = 8,
    progress: bool = False,
) -> Results:
    """``{task: {metric: value}}`` of ``predictor`` with the meters networks are scored by.

    ``loader_or_dataset`` is a ``DataLoader`` yielding collated batches, or a map-style
    dataset of samples (batched here with :func:`~.data.collate`). ``dataset_name`` selects
    the dataset's metric conventions (e.g. PASCAL's edge tolerance), as in :func:`~.evaluation.evaluate`.
    """
    if isinstance(loader_or_dataset, torch.utils.data.DataLoader):
        loader: Iterable[Mapping[str, Any]] = loader_or_dataset
    else:
        loader = torch.utils.data.DataLoader(loader_or_dataset, batch_size=batch_size, collate_fn=collate)  # type: ignore[arg-type]
    meters = task_meters(predictor.tasks, dataset_name)
    for batch in tqdm(loader, desc="evaluate trivial", disable=not progress, leave=False):
        for task in predictor.tasks:
            if task.name not in batch:
                raise DatasetError(f"the evaluation batch lacks the target {task.name!r}")
            target = torch.as_tensor(batch[task.name])
            meters[task.name].update(predictor.predict(task.name, target), target)
    return {name: meter.compute() for name, meter in meters.items()}


# ------------------------------------------------------------------ reporting
def format_table(result: Mapping[str, Any]) -> str:
    """The trivial results as an aligned text table."""
    lines = [
        f"trivial predictors on {result['dataset']}:{result['split']} ({result['images']} images), "
        f"fitted on {result['fit_images']} {FIT_SPLIT} images"
    ]
    for task, metrics in result["values"].items():
        cells = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        lines.append(f"  {task:>10}: {cells}")
        if task in result.get("constants", {}):
            lines.append(f"  {'':>10}  [{result['constants'][task]}]")
    return "\n".join(lines)


def run(recipe_name: str, fit_images: int = 500, images: int | None = None, progress: bool = False) -> dict[str, Any]:
    """Fit on the recipe's train split, evaluate on its eval split -> results document (no ``format``)."""
    recipe = load_recipe(recipe_name)
    tasks = dataset_tasks(recipe.dataset, list(recipe.tasks))
    predictor = fit_trivial(recipe.dataset, tasks, dict(recipe.data), fit_images, progress=progress)
    count = images if images is not None else recipe.eval_images
    data = build_dataset(recipe.dataset, recipe.eval_split, list(recipe.tasks), dict(recipe.data), count)
    # the same label pipeline as network evaluation (eval_loader): resize to eval_size
    evaluated = Transformed(data, eval_transforms(recipe.eval_size))
    values = evaluate_trivial(predictor, evaluated, recipe.dataset, progress=progress)
    return {
        "kind": "trivial",
        "recipe": recipe.name,
        "dataset": recipe.dataset,
        "split": recipe.eval_split,
        "images": len(data),  # type: ignore[arg-type]
        "fit_split": FIT_SPLIT,
        "fit_images": predictor.fit_images,
        "statistics": {name: dict(stat) for name, stat in predictor.statistics.items()},
        "constants": {t.name: _baseline(t, predictor.statistics[t.name]).describe() for t in tasks},
        "values": values,
    }


if __name__ == "__main__":  # the older entry point of ``python -m medusa_zoo trivial``
    import sys

    from ..cli import main

    sys.exit(main(["trivial", *sys.argv[1:]], legacy="medusa_zoo.training.trivial"))
