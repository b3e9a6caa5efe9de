"""The SynthRooms torch Dataset: deterministic rendered samples, optionally cached on disk."""

from __future__ import annotations

import operator
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from torchvision import tv_tensors

from ...errors import DatasetError
from .labels import TASKS
from .photo_textures import with_photo_textures
from .render import Rendered, render
from .sampling import sample_scene

__all__ = ["SynthRooms", "SPLITS", "DEFAULT_SIZES", "RENDERER_VERSION", "sample_rng", "render_sample"]

#: Split name -> code mixed into every sample's seed, so splits never share a scene.
SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}
DEFAULT_SIZES: dict[str, int] = {"train": 20000, "val": 1000, "test": 1000}
#: Bump whenever rendering changes any output byte; it keys the cache and the golden test hashes.
RENDERER_VERSION = 1
_ARRAYS = ("image",) + TASKS
_MIN_SIDE, _MAX_SIDE = 16, 4096


def sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The PCG64 generator of sample ``index`` of ``split`` under ``seed`` (all draws come from it)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, SPLITS[split], index])))


def render_sample(
    seed: int, split: str, index: int, resolution: tuple[int, int], photo_textures: float = 0.0
) -> Rendered:
    """Sample and render one scene; the same arguments give the same bytes on every machine.

    ``photo_textures`` > 0 swaps materials' patterns for photographic ones, drawn from a stream of
    their own, so the labels are those of the same sample without them (:mod:`.photo_textures`).
    """
    scene = sample_scene(sample_rng(seed, split, index), tuple(resolution))
    if photo_textures > 0:
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, SPLITS[split], index, 1])))
        scene = with_photo_textures(scene, rng, photo_textures)
    return render(scene)


def _arrays(rendered: Rendered) -> dict[str, np.ndarray]:
    return {name: getattr(rendered, name) for name in _ARRAYS}


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DatasetError(f"SynthRooms: {name} must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise DatasetError(f"SynthRooms: {name} must be {bound}, got {value}")
    return int(value)


def _check_resolution(resolution: object) -> tuple[int, int]:
    if not isinstance(resolution, (tuple, list)) or len(resolution) != 2:
        raise DatasetError(f"SynthRooms: resolution must be a pair (H, W) of ints, got {resolution!r}")
    return tuple(_check_int(f"resolution[{i}]", side, _MIN_SIDE, _MAX_SIDE) for i, side in enumerate(resolution))


def _check_tasks(tasks: Iterable[str] | None) -> tuple[str, ...]:
    if tasks is None:
        return TASKS
    if isinstance(tasks, str):
        tasks = (tasks,)
    tasks = tuple(tasks)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise DatasetError(f"SynthRooms: tasks must be a non-empty subset of {TASKS}, got {tasks!r}")
    return tasks


class SynthRooms(torch.utils.data.Dataset):
    """Procedurally rendered rooms with exact ``semseg``, ``depth``, ``normals``, ``edge``,
    ``saliency`` and ``parts`` labels (conventions: :mod:`medusa_zoo.data` and :mod:`.render`).

    Sample ``i`` is drawn from ``SeedSequence([seed, split_code, i])`` (PCG64) and rendered
    with IEEE-exact float32 arithmetic only (+ - * / sqrt, comparisons, table lookups; no
    per-pixel transcendental functions), so it is bit-identical on every run and machine for a
    given numpy version and :data:`RENDERER_VERSION` (one caveat: scene sampling calls scalar
    ``math.sin`` / ``cos`` / ``atan2`` / ``hypot`` from the platform's C library, so a libm that
    rounds one of them differently in the last bit could in principle move an object; the
    golden-hash test would catch it). Splits have distinct codes, so train,
    val and test never share a scene. ``size`` is the number of samples (default
    :data:`DEFAULT_SIZES`); ``resolution`` is ``(H, W)`` with sides in [16, 4096]; ``tasks``
    selects label keys (default all of :data:`TASKS`); ``transform`` is applied to the sample
    dict. With ``cache_dir``, each sample is rendered once and stored as a compressed ``.npz``
    keyed by (renderer version, seed, split, resolution, photo textures, index), then read back
    bit-exactly. ``photo_textures`` in [0, 1] is the probability that a material wears a texture
    cut from a photograph instead of a procedural one (default 0: none; the labels do not change).
    """

    def __init__(
        self,
        split: str = "train",
        size: int | None = None,
        seed: int = 0,
        resolution: tuple[int, int] = (192, 256),
        tasks: Iterable[str] | None = None,
        cache_dir: str | os.PathLike | None = None,
        transform: Callable[[dict], dict] | None = None,
        photo_textures: float = 0.0,
    ) -> None:
        if split not in SPLITS:
            raise DatasetError(f"SynthRooms: split must be one of {tuple(SPLITS)}, got {split!r}")
        self.split = split
        self.size = DEFAULT_SIZES[split] if size is None else _check_int("size", size, 1)
        self.seed = _check_int("seed", seed, 0, 2**63 - 1)
        self.resolution = _check_resolution(resolution)
        self.tasks = _check_tasks(tasks)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        if transform is not None and not callable(transform):
            raise DatasetError(f"SynthRooms: transform must be callable or None, got {transform!r}")
        self.transform = transform
        if isinstance(photo_textures, bool) or not isinstance(photo_textures, (int, float)) or not 0 <= photo_textures <= 1:
            raise DatasetError(f"SynthRooms: photo_textures must be a probability in [0, 1], got {photo_textures!r}")
        self.photo_textures = float(photo_textures)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        h, w = self.resolution
        return f"SynthRooms(split={self.split!r}, size={self.size}, seed={self.seed}, resolution=({h}, {w}))"

    def _index(self, index: int) -> int:
        index = operator.index(index)
        if not -self.size <= index < self.size:
            raise IndexError(f"SynthRooms index {index} out of range for size {self.size}")
        return index % self.size

    def arrays(self, index: int) -> dict[str, np.ndarray]:
        """The numpy arrays of sample ``index`` (``image`` and every task), from the cache if set."""
        index = self._index(index)
        if self.cache_dir is None:
            return _arrays(render_sample(self.seed, self.split, index, self.resolution, self.photo_textures))
        path = self._cache_path(index)
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {name: stored[name] for name in _ARRAYS}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # missing or unreadable: render and (re)write it
        arrays = _arrays(render_sample(self.seed, self.split, index, self.resolution, self.photo_textures))
        self._write(path, arrays)
        return arrays

    def _cache_path(self, index: int) -> Path:
        h, w = self.resolution
        photos = f"_photo{self.photo_textures:g}" if self.photo_textures > 0 else ""
        name = f"synthrooms_v{RENDERER_VERSION}_seed{self.seed}_{self.split}_{h}x{w}{photos}_{index:07d}.npz"
        return self.cache_dir / name

    @staticmethod
    def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
        # temp file + os.replace: concurrent workers never see a half-written sample
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez_compressed(handle, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __getitem__(self, index: int) -> dict:
        index = self._index(index)
        arrays = self.arrays(index)
        sample: dict = {"image": tv_tensors.Image(torch.from_numpy(arrays["image"]))}
        for task in self.tasks:
            value = torch.from_numpy(arrays[task])
            if task in ("depth", "edge", "saliency"):
                value = value[None]
            sample[task] = tv_tensors.Mask(value)
        name = f"{self.split}_{self.seed}_{index:07d}"
        sample["meta"] = {"dataset": "synthrooms", "split": self.split, "name": name, "index": index}
        return self.transform(sample) if self.transform is not None else sample
