"""Fine-tuning one task head on a frozen trunk: ``medusa_zoo.finetune``.

    model = medusa_zoo.load("medusa_efficientnet_lite0.synthrooms-no-normals")
    model.add_task("normals")
    result = medusa_zoo.finetune(model, "normals", train_data, val_data, steps=300)
    model.save_head("normals", "normals_head/")

Your own data works as it is: a list of (image, target) pairs, two folders of images and PNG
masks, or a Dataset of pairs (:mod:`.own_data`). Regression targets are standardised with
statistics of the training targets that the task keeps, so predictions come in their units.

It uses the training engine's optimisation step (:mod:`.optimization`), sample stream
(:mod:`.data`: sample ``n`` is drawn and augmented from ``(seed, n)``) and evaluation, so
device placement, AMP on CUDA, warm-up + poly schedule and deep supervision behave as in
:func:`~medusa_zoo.training.train`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from ..data.transforms import ToModelInput, eval_transforms
from ..devices import resolve_device
from ..errors import DatasetError, UnknownTaskError
from ..models import FreezeSummary, MultiTaskNet
from ..tasks import Task
from .data import StreamBatches, StreamSamples, Transformed, collate
from .evaluation import Results, evaluate
from .optimization import Optimization, Schedule, check_int
from .own_data import as_samples, is_pair_form, target_statistics

Sample = dict[str, Any]


@dataclass
class FinetuneResult:
    """What :func:`finetune` did: the task, steps, final metrics on ``val_data`` and the timings."""

    task: str
    steps: int
    metrics: dict[str, float]
    history: list[dict[str, Any]]
    trainable: FreezeSummary
    wall_s: float


def finetune(
    model: MultiTaskNet,
    task: str,
    train_data: Any,
    val_data: Any = None,
    *,
    steps: int = 500,
    lr: float = 1e-3,
    batch_size: int = 8,
    weight_decay: float = 1e-4,
    optimizer: str = "adam",
    warmup: int | None = None,
    poly_power: float = 0.9,
    deep_supervision: bool = True,
    transform: Callable[[Sample], Sample] | None = None,
    val_transform: Callable[[Sample], Sample] | None = None,
    eval_every: int = 0,
    device: str | torch.device = "auto",
    amp: str | None = "bf16",
    num_workers: int = 0,
    seed: int = 0,
    threads: int | None = None,
    progress: bool = True,
    standardize: bool = True,
) -> FinetuneResult:
    """Train only ``task``'s head of ``model`` on ``train_data``; everything else stays frozen.

    ``train_data`` / ``val_data`` are datasets of samples in medusa_zoo's format (what
    ``SynthRooms``, ``NYUDv2`` and ``PascalContext`` return): a dict with ``"image"`` a
    ``tv_tensors.Image`` and ``task``'s label a ``tv_tensors.Mask``; or your own data: a list of
    ``(image, target)`` pairs, folders ``(images_dir, masks_dir)`` / ``{"images": ..., "masks": ...}``
    of images and PNG masks matched by name, or a Dataset of pairs (see :mod:`.own_data`; these
    are resized to the model's design size unless ``transform`` says otherwise). ``transform`` maps a
    sample to model input and must end by normalising (default: no augmentation, just
    :class:`~medusa_zoo.data.transforms.ToModelInput` with the model's preprocessing; for
    augmentation use e.g. ``train_transforms("synthrooms", size, preprocessing=model.config.preprocessing)``).
    ``val_transform`` defaults to the same normalisation. The sample stream is endless:
    ``steps`` batches of ``batch_size``, drawn and augmented reproducibly from ``seed``.

    ``warmup`` defaults to a tenth of the steps (at most 50). AMP (``"bf16"``, ``"fp16"`` or
    None) applies on CUDA only. ``eval_every`` evaluates on ``val_data`` during training too.
    ``standardize`` (regression kinds that keep target statistics, e.g. ``dense_regression``):
    when the task has none yet, the mean and std of the training targets are computed first and
    kept by the task (saved with ``save_head``), the head learns standardised targets and predicts
    in the targets' units. Returns the metrics of ``task`` on ``val_data`` at the end (empty without it); the model is
    left frozen (``model.unfreeze()`` undoes it) and in eval mode. A bad value (``steps=0``,
    ``lr=-1``, ``batch_size=True``, ...) raises :class:`~medusa_zoo.errors.TrainingError` before
    anything is touched.
    """
    if task not in model.tasks:
        raise UnknownTaskError(
            f"the model has no task {task!r} (its tasks: {list(model.tasks)}); attach a head first with "
            f"model.add_task({task!r}, kind=...)"
        )
    schedule = Schedule(
        steps=steps, lr=lr, weight_decay=weight_decay, optimizer=optimizer,
        warmup=min(50, steps // 10) if warmup is None and isinstance(steps, int) else warmup, poly_power=poly_power,
        deep_supervision=deep_supervision, amp=amp,
    )  # checks steps, lr, warmup, ... before anything is touched
    _check_options(batch_size, eval_every, num_workers, seed, threads)
    started = time.perf_counter()
    target = resolve_device(device)
    if threads and target.type == "cpu":
        torch.set_num_threads(threads)
    train_data = as_samples(train_data, model.tasks[task], "train_data")
    val_data = None if val_data is None else as_samples(val_data, model.tasks[task], "val_data")
    normalise = _to_model_input(model)
    transform = transform or (_resized(model) if is_pair_form(train_data) else normalise)
    val_transform = val_transform or (_resized(model) if is_pair_form(val_data) else normalise)
    _check_data(train_data, task, transform, "train_data")
    if val_data is not None:
        _check_data(val_data, task, val_transform, "val_data")
    if standardize:
        _standardise(model, model.tasks[task], train_data)
    summary = model.freeze(train=[task])
    if progress:
        print(summary, flush=True)
    model.to(target)
    optimization = Optimization(model, schedule, target)
    batches = iter(torch.utils.data.DataLoader(
        StreamSamples(train_data, transform, seed), batch_sampler=StreamBatches(len(train_data), batch_size, seed),
        num_workers=num_workers, collate_fn=collate, pin_memory=target.type == "cuda",
    ))
    tasks = {task: model.tasks[task]}
    history: list[dict[str, Any]] = []

    def validate() -> Results:
        loader = torch.utils.data.DataLoader(Transformed(val_data, val_transform), batch_size=batch_size,
                                             num_workers=num_workers, collate_fn=collate)
        return evaluate(model, loader, None, tasks=[task], amp=optimization.amp)

    model.train()
    bar = tqdm(range(1, steps + 1), desc=f"finetune {task}", disable=not progress, dynamic_ncols=True)
    try:
        for step in bar:
            losses, lr_now = optimization.step(model, next(batches), tasks, step)
            loss = float(losses[task].detach())
            bar.set_postfix(loss=f"{loss:.4f}")
            entry: dict[str, Any] = {"step": step, "loss": round(loss, 6), "lr": lr_now}
            if val_data is not None and eval_every and step % eval_every == 0 and step < steps:
                entry["eval"] = validate()[task]
                model.train()
            history.append(entry)
    finally:
        bar.close()
        model.eval()
    metrics = validate()[task] if val_data is not None else {}
    return FinetuneResult(task, steps, metrics, history, summary, time.perf_counter() - started)


def _check_options(batch_size: object, eval_every: object, num_workers: object, seed: object, threads: object) -> None:
    """The integer options of :func:`finetune`: typed errors for bools, floats and out-of-range values."""
    check_int("batch_size", batch_size, 1)
    check_int("eval_every", eval_every, 0)
    check_int("num_workers", num_workers, 0)
    check_int("seed", seed, 0)
    if threads is not None:
        check_int("threads", threads, 1)


def _to_model_input(model: MultiTaskNet) -> Callable[[Sample], Sample]:
    return ToModelInput.from_preprocessing(model.config.preprocessing)


def _resized(model: MultiTaskNet) -> Callable[[Sample], Sample]:
    """Own images come in any size: each is resized to the model's design size, then normalised."""
    return eval_transforms(model.config.preprocessing.input_size, preprocessing=model.config.preprocessing)


def _standardise(model: MultiTaskNet, task: Task, data: Any) -> None:
    """Give a task that standardises its targets the statistics of ``data``, unless it has some."""
    if not hasattr(task, "with_target_statistics") or getattr(task, "standardised", True):
        return
    mean, std = target_statistics(data, task)
    updated = task.with_target_statistics(mean, std)
    model.tasks[task.name] = updated  # the model's task and its config's, which save_head / config.json write
    model.config = dataclasses.replace(model.config, tasks=tuple(updated if t.name == task.name else t
                                                                  for t in model.config.tasks))


def _check_data(data: Any, task: str, transform: Callable[[Sample], Sample], what: str) -> None:
    """Fail before training, with a message naming the problem, when the data cannot be used."""
    if not isinstance(data, torch.utils.data.Dataset) or not hasattr(data, "__len__"):
        raise DatasetError(f"{what} must be a map-style torch Dataset of samples, a list of (image, target) pairs, "
                           f"folders (images_dir, masks_dir) or a Dataset of pairs; got {type(data).__name__}")
    if len(data) == 0:
        raise DatasetError(f"{what} is empty")
    sample = transform(data[0])
    if task not in sample:
        raise DatasetError(
            f"{what}'s samples have no label for {task!r} (keys: {sorted(k for k in sample if k != 'meta')}); "
            f"each sample needs sample[{task!r}], a tv_tensors.Mask"
        )
    image = sample.get("image")
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        raise DatasetError(f"{what}: the transform must end by normalising the image (ToModelInput); got "
                           f"{getattr(image, 'dtype', type(image).__name__)}")
