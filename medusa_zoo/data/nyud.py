"""NYUD-v2 in the on-disk layout of the public multi-task-learning code (``NYUD_MT``).

Layout under ``root`` (as unpacked from ``NYUD_MT.tgz`` of the MTI-Net / "Multi-Task
Learning for Dense Prediction Tasks: A Survey" reference code, ``data/nyud.py``)::

    images/{name}.jpg          RGB, 480x640
    segmentation/{name}.png    uint8 (H, W): 0 = unlabelled, 1..40 = the 40 NYUD classes
    depth/{name}.npy           float (H, W), metres; 0 = no measurement
    normals/{name}.npy         float (H, W, 3), unit normals with components in [-1, 1]
    edge/{name}.npy            float (H, W), 1 on boundaries, 0 elsewhere
    gt_sets/{train,val}.txt    one image name per line (795 train / 654 val)

Conventions (the reference code's, mapped to :mod:`medusa_zoo.data`'s sample format):

* semseg: like the reference (``_semseg[_semseg == 0] = 256; _semseg -= 1``) class ``k``
  (1..40) becomes ``k - 1`` (0..39, :data:`NYUD_LABELS`) and 0 becomes 255 (ignored).
* depth: stored metres as they are; NaN/inf/negative values become 0 (= no measurement).
* normals: the reference uses the stored ``.npy`` values as they are (no re-encoding), so they
  are taken to be components in [-1, 1]; we transpose to (3, H, W), renormalise to unit
  length and give all-zero vectors (invalid) where the stored vector is zero or not finite.
  Values outside [-1, 1] (e.g. a 0..255 image encoding) raise :class:`DatasetError`.
* edge: stored values as they are, shape (1, H, W).
"""

from __future__ import annotations

import os

import numpy as np

from collections.abc import Sequence

from ..labels import IGNORE_INDEX
from ..tasks import NYUD_LABELS, Task, get_task
from .io import SplitFolderDataset, read_npy, read_png
from .transforms import RandomHorizontalFlip, RandomScaleRotate, Resize, Transform, no_crop

__all__ = [
    "NYUDv2", "TASKS", "SEMSEG_LABELS", "augmentation", "decode_semseg", "decode_depth", "decode_normals",
    "decode_edge", "nyud_tasks",
]  # fmt: skip

TASKS: tuple[str, ...] = ("semseg", "depth", "normals", "edge")
"""Tasks NYUD-v2 provides, in sample order."""
SEMSEG_LABELS: tuple[str, ...] = NYUD_LABELS
"""The 40 class names of ``semseg`` (index ``k`` here is label ``k + 1`` on disk)."""

_FILES = {"semseg": ("segmentation", ".png"), "depth": ("depth", ".npy"),
          "normals": ("normals", ".npy"), "edge": ("edge", ".npy")}
_NORMAL_RANGE_TOLERANCE = 1e-3


def decode_semseg(raw: np.ndarray) -> np.ndarray:
    """On-disk labels (0 = unlabelled, 1..40) to int64 (H, W) class indices 0..39 with 255 = ignore."""
    if raw.ndim != 2 or not np.issubdtype(raw.dtype, np.integer):
        raise ValueError(f"expected a single-channel integer label PNG, got {raw.dtype} of shape {raw.shape}")
    if raw.size and (raw.min() < 0 or raw.max() > len(NYUD_LABELS)):
        raise ValueError(f"labels must lie in 0..{len(NYUD_LABELS)}, found {raw.min()}..{raw.max()}")
    out = raw.astype(np.int64) - 1
    out[raw == 0] = IGNORE_INDEX
    return out


def decode_depth(raw: np.ndarray) -> np.ndarray:
    """Depth in metres, (H, W) or (H, W, 1), to float32 (1, H, W); invalid values become 0."""
    if raw.ndim == 3 and raw.shape[-1] == 1:
        raw = raw[..., 0]
    if raw.ndim != 2:
        raise ValueError(f"expected an (H, W) depth map, got shape {raw.shape}")
    depth = raw.astype(np.float32)
    depth[~np.isfinite(depth) | (depth < 0)] = 0.0
    return depth[None]


def decode_normals(raw: np.ndarray) -> np.ndarray:
    """Stored (H, W, 3) normals in [-1, 1] to float32 (3, H, W) unit vectors; zero or non-finite → all-zero."""
    if raw.ndim != 3 or raw.shape[-1] != 3:
        raise ValueError(f"expected (H, W, 3) normals, got shape {raw.shape}")
    n = raw.astype(np.float32)
    n[~np.isfinite(n)] = 0.0
    if n.size and np.abs(n).max() > 1 + _NORMAL_RANGE_TOLERANCE:
        raise ValueError(f"normal components must lie in [-1, 1], found up to {np.abs(n).max():.3g}; "
                         "the MTL layout stores float vectors, not an image encoding")
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    valid = norm > 1e-6
    n = np.where(valid, n / np.where(valid, norm, 1.0), 0.0).astype(np.float32)
    return n.transpose(2, 0, 1)


def decode_edge(raw: np.ndarray) -> np.ndarray:
    """Stored (H, W) edge map (1 = boundary) to float32 (1, H, W), values kept as stored."""
    if raw.ndim == 3 and raw.shape[-1] == 1:
        raw = raw[..., 0]
    if raw.ndim != 2:
        raise ValueError(f"expected an (H, W) edge map, got shape {raw.shape}")
    return raw.astype(np.float32)[None]


class NYUDv2(SplitFolderDataset):
    """NYUD-v2 (795 train / 654 val images, 480x640) with semseg, depth, normals and edge labels.

    ``root`` is the ``NYUD_MT`` folder (layout in the module docstring); ``split`` is
    ``"train"`` or ``"val"``; ``tasks`` selects a subset of :data:`TASKS` (default all);
    ``transform`` is called on each sample dict before it is returned.  The constructor
    checks that the root, the split file and every file the split needs for the requested
    tasks exist (raising :class:`~medusa_zoo.errors.DatasetNotFoundError` naming the first
    missing path); files are read in ``__getitem__``.
    """

    DATASET = "nyud"
    TITLE = "NYUD-v2"
    TASKS = TASKS
    LAYOUT = ("images/{name}.jpg, segmentation/{name}.png, depth/{name}.npy, normals/{name}.npy, "
              "edge/{name}.npy and gt_sets/{train,val}.txt (the NYUD_MT layout of the MTL reference code)")

    def split_file(self) -> str:
        """``<root>/gt_sets/<split>.txt``."""
        return os.path.join(self.root, "gt_sets", f"{self.split}.txt")

    def image_path(self, name: str) -> str:
        """``<root>/images/<name>.jpg``."""
        return os.path.join(self.root, "images", f"{name}.jpg")

    def task_paths(self, task: str, name: str) -> list[str]:
        """The one file holding ``task``'s label of ``name``."""
        folder, ext = _FILES[task]
        return [os.path.join(self.root, folder, f"{name}{ext}")]

    def load_task(self, task: str, name: str, size: tuple[int, int]) -> np.ndarray:
        """Read and decode ``task``'s label of ``name`` (see the module docstring for conventions)."""
        path = self.task_paths(task, name)[0]
        if task == "semseg":
            return decode_semseg(read_png(path))
        decode = {"depth": decode_depth, "normals": decode_normals, "edge": decode_edge}[task]
        return decode(read_npy(path))


def nyud_tasks(names: Sequence[str]) -> tuple[Task, ...]:
    """Task definitions of NYUD-v2 labels: ``semseg`` with the 40 NYUD classes, the rest built in."""
    return tuple(get_task("semseg", labels=SEMSEG_LABELS) if n == "semseg" else get_task(n) for n in names)


def augmentation(size: tuple[int, int], crop: tuple[int, int] | None = None) -> list[Transform]:
    """The paper's NYUD training augmentation: flip, zoom by 1, 1.2 or 1.5 about the centre, resize."""
    no_crop("nyud", crop)
    return [RandomHorizontalFlip(), RandomScaleRotate(choices=(1.0, 1.2, 1.5)), Resize(size)]
