"""Small readers and the split-listed folder dataset that NYUD-v2 and PASCAL-Context share.

Both datasets store one file per image and per task, with a text file per split listing the
image names (one per line).  :class:`SplitFolderDataset` validates the root, the split file
and every listed file up front (cheap ``os.path`` checks only), reads files lazily in
``__getitem__`` and assembles the sample format of :mod:`medusa_zoo.data`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.io
import torch
from torchvision import tv_tensors

from ..errors import DatasetError, DatasetNotFoundError, InvalidImageError, MedusaZooError, ResourceLimitError
from ..inputs import open_image

__all__ = [
    "Sample",
    "SplitFolderDataset",
    "read_split",
    "read_rgb",
    "read_png",
    "read_npy",
    "read_mat",
]

Sample = dict[str, Any]
"""One dataset sample: see :mod:`medusa_zoo.data` for the keys, dtypes and shapes."""


def read_split(path: str | os.PathLike[str]) -> list[str]:
    """Image names listed in a split file: one per line, surrounding blanks and empty lines dropped."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def read_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an image file to a ``uint8`` ``(H, W, 3)`` RGB array (grey or palette images are converted).

    Like every image reader here, it opens regular files only and refuses an image over
    ``limits.max_image_pixels`` from its header (:func:`medusa_zoo.inputs.open_image`).
    """
    with open_image(path) as im:
        return np.array(im.convert("RGB"), dtype=np.uint8)


def read_png(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a PNG as stored: label maps give ``(H, W)`` indices (palette PNGs too), RGB gives ``(H, W, 3)``."""
    with open_image(path) as im:
        return np.array(im)


def read_npy(path: str | os.PathLike[str]) -> np.ndarray:
    """Load a ``.npy`` array (pickles refused: these files only ever hold plain numbers)."""
    return np.load(path, allow_pickle=False)


def read_mat(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a MATLAB ``.mat`` file with :func:`scipy.io.loadmat` (MATLAB structs come back as record arrays)."""
    return scipy.io.loadmat(os.fspath(path))


class SplitFolderDataset(torch.utils.data.Dataset):
    """Base of a dataset stored as one file per (image, task), with one list of names per split.

    Subclasses set the class variables and implement :meth:`split_file`, :meth:`image_path`,
    :meth:`task_paths` (every file a task needs for one image) and :meth:`load_task` (the
    label of one task as a numpy array already in the sample's dtype and shape).  The
    constructor raises :class:`DatasetError` for an unknown split or task and
    :class:`DatasetNotFoundError` for a missing root, split file or listed file.
    """

    DATASET: ClassVar[str] = ""
    """Value of ``meta["dataset"]``."""
    TITLE: ClassVar[str] = ""
    """Human-readable name used in error messages."""
    TASKS: ClassVar[tuple[str, ...]] = ()
    """Every task the dataset can give, in sample order; ``tasks=None`` means all of them."""
    SPLITS: ClassVar[tuple[str, ...]] = ("train", "val")
    LAYOUT: ClassVar[str] = ""
    """The expected on-disk layout, quoted in every "not found" message."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        tasks: Sequence[str] | str | None = None,
        transform: Callable[[Sample], Any] | None = None,
    ) -> None:
        self.root = os.fspath(root)
        self.split = self._check_split(split)
        self.tasks: tuple[str, ...] = self._check_tasks(tasks)
        self.transform = transform
        if not os.path.isdir(self.root):
            raise DatasetNotFoundError(
                f"{self.TITLE} root folder not found: {self.root!r}. Expected this layout under it: {self.LAYOUT}")
        split_file = self.split_file()
        if not os.path.isfile(split_file):
            raise DatasetNotFoundError(
                f"{self.TITLE} split file for split {self.split!r} not found: {split_file!r}. "
                f"Expected this layout under {self.root!r}: {self.LAYOUT}")
        self.names: list[str] = read_split(split_file)
        if not self.names:
            raise DatasetError(f"{self.TITLE} split file {split_file!r} lists no images")
        self._check_listed_files(split_file)

    # -- to implement -------------------------------------------------------------------
    def split_file(self) -> str:
        """Path of the text file listing the names of ``self.split``."""
        raise NotImplementedError

    def image_path(self, name: str) -> str:
        """Path of the RGB image called ``name``."""
        raise NotImplementedError

    def task_paths(self, task: str, name: str) -> list[str]:
        """Every file that :meth:`load_task` reads for ``task`` on image ``name``."""
        raise NotImplementedError

    def load_task(self, task: str, name: str, size: tuple[int, int]) -> np.ndarray:
        """The label of ``task`` for image ``name`` of spatial ``size`` (H, W), in its sample dtype/shape."""
        raise NotImplementedError

    # -- dataset protocol ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> Any:
        """Read sample ``index`` (negative indices count from the end) and apply ``transform``."""
        n = len(self.names)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {self.TITLE} {self.split!r} with {n} images")
        index = index % n
        name = self.names[index]
        files = [self.image_path(name)]
        try:
            rgb = read_rgb(files[0])
            size = (rgb.shape[0], rgb.shape[1])
            sample: Sample = {"image": tv_tensors.Image(torch.from_numpy(rgb).permute(2, 0, 1).contiguous())}
            for task in self.tasks:
                files = self.task_paths(task, name)
                label = self.load_task(task, name, size)
                if label.shape[-2:] != size:
                    raise ValueError(f"the {task!r} label is {label.shape[-2]}x{label.shape[-1]} but the image "
                                     f"is {size[0]}x{size[1]}")
                sample[task] = tv_tensors.Mask(torch.from_numpy(np.ascontiguousarray(label)))
        except ResourceLimitError:
            raise  # its message says how to raise the budget
        except InvalidImageError as e:  # a listed file that is not a readable image: the dataset is damaged
            kind = DatasetNotFoundError if isinstance(e, FileNotFoundError) else DatasetError
            raise kind(f"could not read {self.TITLE} image {name!r} ({self.split!r} index {index}): {e}") from e
        except MedusaZooError:
            raise
        except FileNotFoundError as e:
            raise DatasetNotFoundError(f"{self.TITLE} file of {name!r} disappeared since the dataset was "
                                       f"opened: {e}") from e
        except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
            raise DatasetError(f"could not read {self.TITLE} image {name!r} ({self.split!r} index {index}) "
                               f"from {files}: {type(e).__name__}: {e}") from e
        sample["meta"] = {"dataset": self.DATASET, "split": self.split, "name": name, "index": index}
        return self.transform(sample) if self.transform is not None else sample

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(root={self.root!r}, split={self.split!r}, tasks={self.tasks!r}, "
                f"images={len(self)})")

    # -- validation ---------------------------------------------------------------------
    def _check_split(self, split: str) -> str:
        if not isinstance(split, str) or split not in self.SPLITS:
            raise DatasetError(f"unknown {self.TITLE} split {split!r}; valid splits: {', '.join(self.SPLITS)}")
        return split

    def _check_tasks(self, tasks: Sequence[str] | str | None) -> tuple[str, ...]:
        if tasks is None:
            return self.TASKS
        requested = [tasks] if isinstance(tasks, str) else list(tasks)
        unknown = [t for t in requested if t not in self.TASKS]
        if unknown:
            raise DatasetError(f"unknown {self.TITLE} task(s) {unknown}; valid tasks: {', '.join(self.TASKS)}")
        return tuple(t for t in self.TASKS if t in requested)  # canonical order, duplicates dropped

    def _check_listed_files(self, split_file: str) -> None:
        missing = [p for name in self.names for p in dict.fromkeys(self._needed_paths(name)) if not os.path.isfile(p)]
        if missing:
            raise DatasetNotFoundError(
                f"{self.TITLE} split file {split_file!r} lists images with {len(missing)} missing file(s) "
                f"for tasks {list(self.tasks)}; first missing: {missing[0]!r}. "
                f"Expected this layout under {self.root!r}: {self.LAYOUT}")

    def _needed_paths(self, name: str) -> Iterable[str]:
        yield self.image_path(name)
        for task in self.tasks:
            yield from self.task_paths(task, name)
