"""Trivial predictors: the floor every trained network's metrics are read against.

    python -m medusa_zoo.training.trivial --recipe synthrooms_regnetx002 --fit-images 500 \\
        --out medusa_zoo/results/synthrooms_regnetx002.trivial.json

Each task gets the best *constant* prediction of its kind, estimated on the TRAIN split only
(never on the split it is evaluated on):

=============== ============================================================================
task kind       constant predicted at every pixel of every image
=============== ============================================================================
segmentation    the majority class over labelled (non-255) train pixels
depth           the mean depth over valid train pixels (finite, > 0, not 255), in metres
normals         the normalised mean of the valid unit train normals (mean direction)
edge, saliency  probability 0 everywhere ("empty"): no edge, nothing salient
=============== ============================================================================

The predictions are scored by exactly the meters networks are scored by
(:func:`~medusa_zoo.training.evaluation.task_meters`), at each target's own size.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from ..errors import DatasetError, MedusaZooError, UnknownTaskError
from ..metrics import IGNORE_VALUE
from ..tasks import Task
from ..tasks.base import squeeze_channel
from .data import build_dataset, collate, dataset_tasks
from .evaluation import Results, task_meters

FIT_SPLIT = "train"
"""The only split trivial statistics are estimated on."""

KINDS = ("segmentation", "depth", "normals", "edge", "saliency")
"""Task kinds with a trivial predictor."""


# ------------------------------------------------------------------ accumulators (fitting)
class _Accumulator:
    """Sufficient statistics of one task's train targets; ``statistic()`` gives the constant."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def add(self, target: torch.Tensor) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def statistic(self) -> dict[str, Any]:  # pragma: no cover - interface
        raise NotImplementedError


class _Majority(_Accumulator):
    """Segmentation: the most frequent class among labelled pixels (255 is not a class).

    The majority class maximises pixel accuracy among constant predictions. Ties go to the
    lowest class index. ``fraction`` is the majority's share of labelled train pixels.
    """

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.counts = torch.zeros(task.out_channels, dtype=torch.int64)

    def add(self, target: torch.Tensor) -> None:
        labels = target.long().flatten()
        labels = labels[labels != IGNORE_VALUE]
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.task.out_channels):
            raise DatasetError(
                f"{self.task.name}: labels span {int(labels.min())}..{int(labels.max())} but the task has "
                f"{self.task.out_channels} classes"
            )
        self.counts += torch.bincount(labels, minlength=self.task.out_channels)

    def statistic(self) -> dict[str, Any]:
        total = int(self.counts.sum())
        if total == 0:
            raise DatasetError(f"{self.task.name}: no labelled train pixel to find a majority class in")
        k = int(torch.argmax(self.counts))  # first maximum: lowest index on ties
        label = self.task.labels[k] if self.task.labels else f"class_{k}"
        return {"class": k, "label": label, "fraction": float(self.counts[k]) / total, "pixels": total}


class _MeanDepth(_Accumulator):
    """Depth: the mean over valid pixels, pooled over all train pixels (float64 sums).

    Valid means finite, > 0 and not 255, as :class:`~medusa_zoo.metrics.DepthMeter` uses.
    The mean is the constant with the least RMSE, the depth meter's primary metric.
    """

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.total, self.count = 0.0, 0

    def add(self, target: torch.Tensor) -> None:
        depth = target.to(torch.float64)
        valid = torch.isfinite(depth) & (depth > 0) & (depth != IGNORE_VALUE)
        self.total += float(depth[valid].sum())
        self.count += int(valid.sum())

    def statistic(self) -> dict[str, Any]:
        if self.count == 0:
            raise DatasetError(f"{self.task.name}: no valid train depth pixel to average")
        return {"mean": self.total / self.count, "pixels": self.count}


class _MeanDirection(_Accumulator):
    """Normals: the mean direction, i.e. the sum of the valid unit normals, normalised.

    Valid pixels are those :class:`~medusa_zoo.metrics.NormalsMeter` scores (not all zero, no
    255, finite); each target is normalised before summing. The mean direction minimises the
    summed squared chord distance (equivalently maximises the summed cosine) to the targets;
    it is the standard constant, not the exact minimiser of the mean angle (that would be the
    spherical median). ``resultant_length`` (|sum| / count, in [0, 1]) says how concentrated
    the train normals are: 1 = all equal, 0 = no preferred direction.
    """

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.total = torch.zeros(3, dtype=torch.float64)
        self.count = 0

    def add(self, target: torch.Tensor) -> None:
        normals = target.to(torch.float64)
        if normals.dim() != 3 or normals.shape[0] != 3:
            raise DatasetError(f"{self.task.name}: normal targets must be (3, H, W), got {tuple(normals.shape)}")
        valid = (normals.abs().sum(0) > 0) & (normals != IGNORE_VALUE).all(0) & torch.isfinite(normals).all(0)
        vectors = torch.nn.functional.normalize(normals.movedim(0, -1)[valid], dim=-1)
        self.total += vectors.sum(0)
        self.count += int(valid.sum())

    def statistic(self) -> dict[str, Any]:
        length = float(self.total.norm())
        if self.count == 0 or length == 0:
            raise DatasetError(f"{self.task.name}: the train normals have no mean direction")
        return {
            "direction": (self.total / length).tolist(),
            "resultant_length": length / self.count,
            "pixels": self.count,
        }


class _Empty(_Accumulator):
    """Edge / saliency: predict probability 0 everywhere, the "empty" map.

    Nothing is fitted for the prediction itself: an empty map is the natural trivial answer
    for sparse binary maps, and a constant probability cannot rank pixels anyway. The train
    ``positive_fraction`` (target >= 0.5 among non-255 pixels) is recorded for reference only.
    """

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.positive, self.labelled = 0, 0

    def add(self, target: torch.Tensor) -> None:
        valid = target != IGNORE_VALUE
        self.positive += int(((target >= 0.5) & valid).sum())
        self.labelled += int(valid.sum())

    def statistic(self) -> dict[str, Any]:
        fraction = self.positive / self.labelled if self.labelled else math.nan
        return {"probability": 0.0, "positive_fraction": fraction, "pixels": self.labelled}


_ACCUMULATORS: dict[str, type[_Accumulator]] = {
    "segmentation": _Majority,
    "depth": _MeanDepth,
    "normals": _MeanDirection,
    "edge": _Empty,
    "saliency": _Empty,
}


def _accumulator(task: Task) -> _Accumulator:
    if task.kind not in _ACCUMULATORS:
        raise UnknownTaskError(
            f"no trivial predictor for task {task.name!r} of kind {task.kind!r}; known kinds: {', '.join(KINDS)}"
        )
    return _ACCUMULATORS[task.kind](task)


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
        task, stat = self.task(name), self.statistics[name]
        target = squeeze_channel(torch.as_tensor(target))
        b, h, w = target.shape[0], *target.shape[-2:]
        if task.kind == "segmentation":
            return torch.full((b, h, w), int(stat["class"]), dtype=torch.int64)
        if task.kind == "depth":
            return torch.full((b, h, w), float(stat["mean"]), dtype=torch.float32)
        if task.kind == "normals":
            direction = torch.tensor(stat["direction"], dtype=torch.float32)
            return direction.view(1, 3, 1, 1).expand(b, 3, h, w).contiguous()
        if task.kind in ("edge", "saliency"):
            return torch.full((b, h, w), float(stat["probability"]), dtype=torch.float32)
        raise UnknownTaskError(f"no trivial predictor for task kind {task.kind!r}")


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
    accumulators = {task.name: _accumulator(task) for task in tasks}
    count = 0
    for sample in samples:
        for name, accumulator in accumulators.items():
            if name not in sample:
                raise DatasetError(f"a fitting sample lacks the target {name!r}; it has {sorted(sample)}")
            target = torch.as_tensor(sample[name])
            accumulator.add(target if accumulator.task.kind == "normals" else squeeze_channel(target[None])[0])
        count += 1
    if count == 0:
        raise DatasetError("no sample to fit trivial predictors on")
    statistics = {name: {"kind": acc.task.kind, **acc.statistic()} for name, acc in accumulators.items()}
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


# ------------------------------------------------------------------ command line
class _Transformed(torch.utils.data.Dataset):
    def __init__(self, data: torch.utils.data.Dataset, transform: Any) -> None:
        self.data, self.transform = data, transform

    def __len__(self) -> int:
        return len(self.data)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict:
        return self.transform(self.data[index])


def _describe(stat: Mapping[str, Any]) -> str:
    kind = stat["kind"]
    if kind == "segmentation":
        return f"majority class {stat['class']} ({stat['label']}, {100 * stat['fraction']:.1f}% of labelled pixels)"
    if kind == "depth":
        return f"mean depth {stat['mean']:.4f} m"
    if kind == "normals":
        x, y, z = stat["direction"]
        return f"mean normal ({x:+.4f}, {y:+.4f}, {z:+.4f}), resultant length {stat['resultant_length']:.3f}"
    return f"empty (p = {stat['probability']:g}; train positives {100 * stat['positive_fraction']:.2f}%)"


def format_table(result: Mapping[str, Any]) -> str:
    """The trivial results as an aligned text table."""
    lines = [
        f"trivial predictors on {result['dataset']}:{result['split']} ({result['images']} images), "
        f"fitted on {result['fit_images']} {FIT_SPLIT} images"
    ]
    for task, metrics in result["values"].items():
        cells = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        lines.append(f"  {task:>10}: {cells}")
        lines.append(f"  {'':>10}  [{_describe(result['statistics'][task])}]")
    return "\n".join(lines)


def run(recipe_name: str, fit_images: int = 500, images: int | None = None, progress: bool = False) -> dict[str, Any]:
    """Fit on the recipe's train split, evaluate on its eval split -> results document (no ``format``)."""
    from ..data import eval_transforms
    from .recipe import load_recipe

    recipe = load_recipe(recipe_name)
    tasks = dataset_tasks(recipe.dataset, list(recipe.tasks))
    predictor = fit_trivial(recipe.dataset, tasks, dict(recipe.data), fit_images, progress=progress)
    count = images if images is not None else recipe.eval_images
    data = build_dataset(recipe.dataset, recipe.eval_split, list(recipe.tasks), dict(recipe.data), count)
    # the same label pipeline as network evaluation (eval_loader): resize to eval_size
    evaluated = _Transformed(data, eval_transforms(recipe.eval_size))
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
        "values": values,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    from .results import write_results

    p = argparse.ArgumentParser(prog="python -m medusa_zoo.training.trivial", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", required=True, help="packaged recipe name or recipe JSON path")
    p.add_argument("--fit-images", type=int, default=500, help="train images to fit the constants on (default 500)")
    p.add_argument("--images", type=int, help="evaluate the first N eval images (default: the recipe's eval_images)")
    p.add_argument("--out", help="write the results JSON here")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    start = time.perf_counter()
    try:
        result = run(args.recipe, args.fit_images, args.images, progress=not args.no_progress)
    except MedusaZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result["command"] = "python -m medusa_zoo.training.trivial " + shlex.join(sys.argv[1:] if argv is None else argv)
    print(format_table(result))
    print(f"done in {time.perf_counter() - start:.1f} s")
    if args.out:
        print(f"wrote {write_results(args.out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
