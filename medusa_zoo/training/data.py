"""Datasets, task definitions and the resumable sample stream the training engine uses.

Training reads an endless stream of samples: sample number ``n`` is image
``permutation(epoch)[n % N]`` with ``epoch = n // N``, where each epoch's permutation comes
from ``(seed, epoch)`` alone, and its augmentation is drawn from a torch generator seeded with
``(seed, n)``. So the batch of any step is a pure function of (recipe, step): a run can stop
and resume at any step, on any number of worker processes or ``torchrun`` ranks, and see the
same images with the same augmentation. (``DistributedSampler`` cannot start mid-epoch, which
exact resume needs, so the stream shards batches over ranks itself.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ..data import dataset_spec, eval_transforms
from ..errors import RecipeError
from ..tasks import Task

_STREAM_SALT = 0x5EED


def _mix(*values: int) -> int:
    """A 63-bit seed from integers, the same on every platform and Python version."""
    return int(np.random.SeedSequence([_STREAM_SALT, *values]).generate_state(1, np.uint64)[0] >> 1)


def dataset_tasks(dataset: str, names: Sequence[str]) -> tuple[Task, ...]:
    """Task definitions (class counts, label names) for ``names`` on ``dataset`` (its registry row's)."""
    return dataset_spec(dataset).task_definitions(names)


def build_dataset(
    dataset: str,
    split: str,
    tasks: Sequence[str],
    options: dict[str, Any] | None = None,
    images: int | None = None,
) -> torch.utils.data.Dataset:
    """The raw (untransformed) dataset of a recipe; ``images`` keeps only the first N samples.

    ``options`` are the recipe's ``data`` field, checked against the dataset's row (e.g.
    SynthRooms takes ``seed``, ``resolution``, ``cache_dir`` and per-split ``sizes``; NYUD-v2
    and PASCAL-Context need ``root``).
    """
    return dataset_spec(dataset).dataset(split, tasks, options, images)


def evaluation_loader(
    dataset: str,
    split: str,
    tasks: Sequence[str],
    options: dict[str, Any] | None,
    images: int | None,
    size: tuple[int, int] | None,
    preprocessing: Any,
    batch_size: int = 8,
    num_workers: int = 0,
) -> torch.utils.data.DataLoader:
    """Batches of ``dataset:split`` (first ``images`` samples) resized to ``size`` and normalised
    with ``preprocessing`` (a model's :class:`~medusa_zoo.preprocessing.Preprocessing`)."""
    data = build_dataset(dataset, split, tasks, options, images)
    return torch.utils.data.DataLoader(
        Transformed(data, eval_transforms(size, preprocessing=preprocessing)),
        batch_size=batch_size, num_workers=num_workers, collate_fn=collate,
    )


class Transformed(torch.utils.data.Dataset):
    """``dataset`` with ``transform`` applied to each sample (for evaluation: no randomness)."""

    def __init__(self, dataset: torch.utils.data.Dataset, transform: Callable[[dict], dict]) -> None:
        self.dataset, self.transform = dataset, transform

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict:
        return self.transform(self.dataset[index])


class StreamSamples(torch.utils.data.Dataset):
    """Wraps a dataset so that item ``(n, index)`` is sample ``index`` augmented with seed ``(seed, n)``."""

    def __init__(self, dataset: torch.utils.data.Dataset, transform: Callable[[dict], dict], seed: int) -> None:
        self.dataset, self.transform, self.seed = dataset, transform, seed

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> dict:
        number, index = key
        sample = self.dataset[index]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_mix(self.seed, number))
            return self.transform(sample)


class StreamBatches(torch.utils.data.Sampler):
    """Endless per-step batches of ``(n, index)`` keys for one rank, starting at ``start_step``.

    Step ``s`` covers global sample numbers ``[s·B, (s+1)·B)``; rank ``r`` of ``W`` takes its
    contiguous ``B/W`` share. Epoch permutations depend on ``(seed, epoch)`` only.
    """

    def __init__(self, size: int, batch_size: int, seed: int, start_step: int = 0, rank: int = 0, world: int = 1) -> None:
        if batch_size % world:
            raise RecipeError(f"batch_size {batch_size} must be divisible by the {world} processes")
        self.size, self.batch, self.seed = size, batch_size, seed
        self.start_step, self.rank, self.world = start_step, rank, world
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.int64)

    def index(self, number: int) -> int:
        """Dataset index of global sample number ``number``."""
        epoch = number // self.size
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(_mix(self.seed, 1 << 40, epoch))
            self._epoch, self._order = epoch, torch.randperm(self.size, generator=generator)
        return int(self._order[number % self.size])

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        share = self.batch // self.world
        step = self.start_step
        while True:
            first = step * self.batch + self.rank * share
            yield [(n, self.index(n)) for n in range(first, first + share)]
            step += 1


def collate(samples: list[dict]) -> dict:
    """``default_collate`` for every tensor key; ``meta`` stays a list of dicts."""
    metas = [s.get("meta", {}) for s in samples]
    batch = torch.utils.data.default_collate([{k: v for k, v in s.items() if k != "meta"} for s in samples])
    batch["meta"] = metas
    return batch
