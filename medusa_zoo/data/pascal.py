"""PASCAL-Context in the on-disk layout of the public multi-task-learning code (``PASCAL_MT``).

Layout under ``root`` (as unpacked from ``PASCAL_MT.tgz`` of the MTI-Net / "Multi-Task
Learning for Dense Prediction Tasks: A Survey" reference code, ``data/pascal_context.py``)::

    JPEGImages/{name}.jpg                 RGB
    ImageSets/Context/{train,val}.txt     one image name per line (4998 train / 5105 val)
    semseg/pascal-context/{name}.png      uint8 (H, W): 0 background, 1..20 VOC classes, 255 ignore
    semseg/VOC12/{name}.png               optional; preferred over pascal-context when present
    human_parts/{name}.mat                PASCAL-Part ``anno`` struct (see below)
    normals_distill/{name}.png            RGB uint8 distilled normals, n = 2 * v / 255 - 1
    sal_distill/{name}.png                uint8 distilled saliency, 0 / 255
    pascal-context/trainval/{name}.mat    ``LabelMap``: the 459-class PASCAL-Context labels
    ImageSets/Parts/{split}.txt           optional JSON cache {name: [object class ids]}

Conventions, each one the reference code's (mapped to :mod:`medusa_zoo.data`'s format):

* semseg: 21 classes (:data:`PASCAL_LABELS`), values kept as stored, 255 = ignore; like the
  reference, ``semseg/VOC12`` is used when it holds the image, else ``semseg/pascal-context``.
* human_parts: ``anno`` is a 1x1 struct whose 2nd field (``objects``) is a 1xN struct array
  with fields (``class``, ``class_ind``, ``mask``, ``parts``); ``parts`` is a 1xP struct array
  with fields (``part_name``, ``mask``), or empty.  Fields are read by position, exactly as
  the reference does.  Every person object (``class_ind == 15``) with parts paints its part
  masks, in file order, with :data:`HUMAN_PART_MAP` (24 PASCAL-Part names -> 6 parts, the
  reference's ``num_human_parts=6`` table); all other pixels are 0 (background).  An image
  without any such person is all 0, as in the reference (whose evaluation skips it).
* ``parts_only_with_humans`` keeps only images holding a person object of non-zero area (the
  reference's ``has_human_parts``, read from the ``ImageSets/Parts`` cache when it lists every
  name, else from the ``.mat`` files).  By default it is on exactly when ``human_parts`` is
  the only task, as in the reference.
* normals: ``2 * v / 255 - 1`` per channel, kept only on pixels whose ``LabelMap`` class also
  exists in NYUD (:data:`NORMALS_VALID_CONTEXT_LABELS`, the reference's intersection of its
  ``nyu_classes.json`` and ``context_classes.json`` plus tvmonitor); elsewhere all-zero
  (invalid).  Vectors are renormalised to unit length (the reference leaves them slightly
  off unit because of the 8-bit quantisation).  ``mask_normals=False`` keeps every pixel.
* saliency: ``v / 255 > 0.5`` -> 1.0, else 0.0.
* edge: the reference's ``thin(abs(cv2.Laplacian(LabelMap)) > 0)``: a 4-neighbour Laplacian
  (border reflected without repeating the edge pixel, OpenCV's default) marks pixels next to a
  label change (both sides, i.e. a 2-pixel band), then scikit-image's ``thin`` (Guo-Hall
  two-subiteration thinning, reimplemented here with the same lookup tables) reduces the band
  to 1-pixel-wide curves.  The Laplacian's quirk is kept: a pixel whose neighbours' labels
  happen to sum to four times its own is not marked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import DatasetError
from ..labels import IGNORE_INDEX
from ..tasks import HUMAN_PART_LABELS, PASCAL_LABELS, Task, get_task
from .io import Sample, SplitFolderDataset, read_mat, read_png
from .transforms import RandomHorizontalFlip, RandomScaleRotate, Resize, Transform, no_crop

__all__ = [
    "PascalContext", "TASKS", "SEMSEG_LABELS", "HUMAN_PART_LABELS", "HUMAN_PART_MAP", "PERSON_CLASS",
    "NORMALS_VALID_CONTEXT_LABELS", "augmentation", "decode_semseg", "decode_human_parts", "decode_normals",
    "decode_saliency", "label_edges", "pascal_tasks", "thin", "has_person",
]

TASKS: tuple[str, ...] = ("semseg", "human_parts", "saliency", "normals", "edge")
"""Tasks PASCAL-Context provides, in sample order."""
SEMSEG_LABELS: tuple[str, ...] = PASCAL_LABELS
"""The 21 class names of ``semseg`` (background + 20 VOC classes)."""
PERSON_CLASS = 15
"""VOC class index of ``person`` (``class_ind`` in the PASCAL-Part annotations)."""

_HEAD = ("hair", "head", "lear", "lebrow", "leye", "mouth", "nose", "rear", "rebrow", "reye")
HUMAN_PART_MAP: dict[str, int] = {
    **dict.fromkeys(_HEAD, 1), "neck": 2, "torso": 2, "luarm": 3, "ruarm": 3,
    "llarm": 4, "rlarm": 4, "lhand": 4, "rhand": 4, "luleg": 5, "ruleg": 5,
    "llleg": 6, "rlleg": 6, "lfoot": 6, "rfoot": 6,
}
"""PASCAL-Part person part name -> index into :data:`HUMAN_PART_LABELS` (0 is background)."""

NORMALS_VALID_CONTEXT_LABELS: frozenset[int] = frozenset((
    3, 4, 6, 9, 10, 11, 13, 15, 17, 18, 22, 23, 29, 30, 33, 34, 36, 37, 38, 39, 41, 43, 46, 49, 50, 51, 53,
    55, 56, 59, 61, 62, 65, 66, 68, 69, 72, 73, 78, 83, 84, 85, 87, 88, 95, 96, 101, 104, 105, 107, 111, 113,
    115, 122, 124, 135, 141, 142, 143, 146, 150, 154, 157, 158, 159, 165, 172, 174, 181, 183, 184, 191, 193,
    195, 197, 199, 202, 213, 215, 216, 219, 220, 223, 225, 228, 230, 232, 233, 238, 239, 242, 243, 246, 250,
    251, 252, 255, 260, 261, 263, 269, 272, 273, 275, 281, 283, 284, 285, 286, 287, 288, 290, 291, 292, 293,
    295, 304, 307, 309, 310, 314, 315, 319, 323, 329, 330, 331, 336, 342, 345, 349, 350, 351, 352, 355, 357,
    368, 370, 371, 374, 379, 380, 383, 384, 397, 401, 403, 405, 407, 408, 411, 412, 413, 414, 417, 419, 421,
    423, 427, 429, 430, 432, 440, 441, 442, 443, 444, 446, 454, 457,
))  # fmt: skip
"""The 170 PASCAL-Context (459-class) labels whose distilled normals are kept (NYUD-like classes)."""

_LAPLACE = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)
_NEIGHBOUR_BITS = np.array([[8, 4, 2], [16, 0, 1], [32, 64, 128]], dtype=np.uint8)


def _thin_luts() -> tuple[np.ndarray, np.ndarray]:
    """The two deletion tables of Guo-Hall thinning, indexed by the 8-neighbour bit pattern."""
    n = np.arange(256)
    b = [((n >> i) & 1).astype(bool) for i in range(8)]
    g1 = sum((~b[i] & (b[i + 1] | b[(i + 2) % 8])).astype(int) for i in (0, 2, 4, 6)) == 1
    n1 = sum((b[k] | b[k - 1]).astype(int) for k in (1, 3, 5, 7))
    n2 = sum((b[k] | b[(k + 1) % 8]).astype(int) for k in (1, 3, 5, 7))
    g12 = g1 & np.isin(np.minimum(n1, n2), (2, 3))
    g3 = ~((b[1] | b[2] | ~b[7]) & b[0])
    g3p = ~((b[5] | b[6] | ~b[3]) & b[4])
    return g12 & g3, g12 & g3p


_THIN_LUTS = _thin_luts()


def thin(mask: np.ndarray) -> np.ndarray:
    """Thin a 2-D binary mask to 1-pixel-wide curves (same result as ``skimage.morphology.thin``)."""
    skel = np.asarray(mask, dtype=bool).astype(np.uint8)
    count = -1
    while count != int(skel.sum()):
        count = int(skel.sum())
        for lut in _THIN_LUTS:
            skel[np.take(lut, ndimage.correlate(skel, _NEIGHBOUR_BITS, mode="constant"))] = 0
    return skel.astype(bool)


def label_edges(label_map: np.ndarray) -> np.ndarray:
    """Edges of a label map as the reference derives them: float32 (1, H, W), 1 on thinned boundaries."""
    if label_map.ndim != 2:
        raise ValueError(f"expected an (H, W) LabelMap, got shape {label_map.shape}")
    laplacian = ndimage.correlate(label_map.astype(np.float64), _LAPLACE, mode="mirror")
    return thin(laplacian != 0).astype(np.float32)[None]


def decode_semseg(raw: np.ndarray) -> np.ndarray:
    """Stored 21-class labels (255 = ignore) to int64 (H, W), values unchanged."""
    if raw.ndim != 2 or not np.issubdtype(raw.dtype, np.integer):
        raise ValueError(f"expected a single-channel integer label PNG, got {raw.dtype} of shape {raw.shape}")
    bad = (raw >= len(PASCAL_LABELS)) & (raw != IGNORE_INDEX)
    if bad.any():
        raise ValueError(f"labels must lie in 0..{len(PASCAL_LABELS) - 1} or be {IGNORE_INDEX}, "
                         f"found {np.unique(raw[bad])}")
    return raw.astype(np.int64)


def decode_saliency(raw: np.ndarray) -> np.ndarray:
    """Stored 0/255 saliency (first channel if RGB) to float32 (1, H, W): 1 where ``v / 255 > 0.5``."""
    if raw.ndim == 3:
        raw = raw[..., 0]
    return (raw.astype(np.float32) / 255.0 > 0.5).astype(np.float32)[None]


def decode_normals(raw: np.ndarray, label_map: np.ndarray | None = None,
                   valid_labels: Collection[int] = NORMALS_VALID_CONTEXT_LABELS) -> np.ndarray:
    """Distilled (H, W, 3) uint8 normals to float32 (3, H, W) unit vectors, zero where invalid.

    With ``label_map``, only pixels whose label is in ``valid_labels`` keep a normal.
    """
    if raw.ndim != 3 or raw.shape[-1] < 3:
        raise ValueError(f"expected an RGB normals PNG, got shape {raw.shape}")
    n = 2.0 * raw[..., :3].astype(np.float32) / 255.0 - 1.0
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    valid = norm > 1e-6
    if label_map is not None:
        if label_map.shape != raw.shape[:2]:
            raise ValueError(f"LabelMap is {label_map.shape} but the normals are {raw.shape[:2]}")
        valid &= np.isin(label_map, np.fromiter(valid_labels, dtype=np.int64))[..., None]
    n = np.where(valid, n / np.where(valid, norm, 1.0), 0.0).astype(np.float32)
    return n.transpose(2, 0, 1)


def _objects(mat: dict[str, Any]) -> np.ndarray:
    """The PASCAL-Part objects of a loaded ``human_parts`` .mat (2nd field of ``anno``)."""
    objects = mat["anno"].ravel()[0][1]
    return objects.ravel() if objects.size else np.empty(0, dtype=object)


def _class_ind(obj: Any) -> int:
    return int(np.asarray(obj[1]).ravel()[0])


def decode_human_parts(mat: dict[str, Any], size: tuple[int, int]) -> np.ndarray:
    """Paint every person's parts from a loaded PASCAL-Part .mat: int64 (H, W), 0 = background."""
    target = np.zeros(size, dtype=np.int64)
    for obj in _objects(mat):
        parts = obj[3]
        if _class_ind(obj) != PERSON_CLASS or len(parts) == 0:
            continue
        for part in np.asarray(parts).ravel():
            part_name = str(np.asarray(part[0]).ravel()[0])
            if part_name not in HUMAN_PART_MAP:
                raise ValueError(f"unknown person part {part_name!r}; known: {sorted(HUMAN_PART_MAP)}")
            mask = np.asarray(part[1]).astype(bool)
            if mask.shape != size:
                raise ValueError(f"part mask {part_name!r} is {mask.shape} but the image is {size}")
            target[mask] = HUMAN_PART_MAP[part_name]
    return target


def has_person(mat: dict[str, Any]) -> bool:
    """True if a loaded PASCAL-Part .mat holds a person object of non-zero area (reference ``has_human_parts``)."""
    return any(_class_ind(o) == PERSON_CLASS and np.asarray(o[2]).sum() > 0 for o in _objects(mat))


class PascalContext(SplitFolderDataset):
    """PASCAL-Context (4998 train / 5105 val) with semseg, human_parts, saliency, normals and edge labels.

    ``root`` is the ``PASCAL_MT`` folder (layout and label conventions in the module
    docstring); ``split`` is ``"train"`` or ``"val"``; ``tasks`` selects a subset of
    :data:`TASKS` (default all); ``transform`` is called on each sample dict before it is
    returned.  ``parts_only_with_humans`` keeps only images holding a person (default: on
    exactly when ``human_parts`` is the only task, as in the reference); ``mask_normals``
    keeps distilled normals only on NYUD-like classes, as the reference does.  Missing
    folders or files raise :class:`~medusa_zoo.errors.DatasetNotFoundError` in the constructor.
    """

    DATASET = "pascal_context"
    TITLE = "PASCAL-Context"
    TASKS = TASKS
    LAYOUT = ("JPEGImages/{name}.jpg, ImageSets/Context/{train,val}.txt, semseg/pascal-context/{name}.png, "
              "human_parts/{name}.mat, sal_distill/{name}.png, normals_distill/{name}.png and "
              "pascal-context/trainval/{name}.mat (the PASCAL_MT layout of the MTL reference code)")

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        tasks: Sequence[str] | str | None = None,
        transform: Callable[[Sample], Any] | None = None,
        parts_only_with_humans: bool | None = None,
        mask_normals: bool = True,
    ) -> None:
        self.mask_normals = bool(mask_normals)
        super().__init__(root, split, tasks, transform)
        if parts_only_with_humans is None:
            parts_only_with_humans = self.tasks == ("human_parts",)
        self.parts_only_with_humans = bool(parts_only_with_humans)
        if self.parts_only_with_humans:
            if "human_parts" not in self.tasks:
                raise DatasetError("parts_only_with_humans=True needs the 'human_parts' task among tasks")
            with_person = self._images_with_person()
            self.names = [n for n in self.names if n in with_person]
            if not self.names:
                raise DatasetError(f"no image of PASCAL-Context split {self.split!r} under {self.root!r} "
                                   "holds a person; pass parts_only_with_humans=False to keep them all")

    def split_file(self) -> str:
        """``<root>/ImageSets/Context/<split>.txt``."""
        return os.path.join(self.root, "ImageSets", "Context", f"{self.split}.txt")

    def image_path(self, name: str) -> str:
        """``<root>/JPEGImages/<name>.jpg``."""
        return os.path.join(self.root, "JPEGImages", f"{name}.jpg")

    def task_paths(self, task: str, name: str) -> list[str]:
        """Files read for ``task`` on ``name``: edge and (masked) normals also need the LabelMap."""
        label_map = os.path.join(self.root, "pascal-context", "trainval", f"{name}.mat")
        if task == "semseg":
            voc = os.path.join(self.root, "semseg", "VOC12", f"{name}.png")
            return [voc if os.path.isfile(voc) else os.path.join(self.root, "semseg", "pascal-context", f"{name}.png")]
        if task == "human_parts":
            return [os.path.join(self.root, "human_parts", f"{name}.mat")]
        if task == "saliency":
            return [os.path.join(self.root, "sal_distill", f"{name}.png")]
        if task == "normals":
            png = os.path.join(self.root, "normals_distill", f"{name}.png")
            return [png, label_map] if self.mask_normals else [png]
        return [label_map]

    def load_task(self, task: str, name: str, size: tuple[int, int]) -> np.ndarray:
        """Read and decode ``task``'s label of ``name`` (see the module docstring for conventions)."""
        paths = self.task_paths(task, name)
        if task == "semseg":
            return decode_semseg(read_png(paths[0]))
        if task == "human_parts":
            return decode_human_parts(read_mat(paths[0]), size)
        if task == "saliency":
            return decode_saliency(read_png(paths[0]))
        if task == "normals":
            label_map = read_mat(paths[1])["LabelMap"] if self.mask_normals else None
            return decode_normals(read_png(paths[0]), label_map)
        return label_edges(read_mat(paths[0])["LabelMap"])

    def _images_with_person(self) -> set[str]:
        """Names holding a person: from the reference's ``ImageSets/Parts/<split>.txt`` cache, else the .mat files."""
        cache = os.path.join(self.root, "ImageSets", "Parts", f"{self.split}.txt")
        if os.path.isfile(cache):
            try:
                with open(cache, encoding="utf-8") as f:
                    categories = json.load(f)
            except (OSError, ValueError) as e:
                raise DatasetError(f"cannot read the human-parts cache {cache!r}: {e}") from e
            if isinstance(categories, dict) and all(n in categories for n in self.names):
                return {n for n in self.names if PERSON_CLASS in categories[n]}
        found = set()
        for name in self.names:
            path = self.task_paths("human_parts", name)[0]
            try:
                if has_person(read_mat(path)):
                    found.add(name)
            except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
                raise DatasetError(f"cannot read PASCAL-Part annotations {path!r}: {type(e).__name__}: {e}") from e
        return found


def pascal_tasks(names: Sequence[str]) -> tuple[Task, ...]:
    """Task definitions of PASCAL-Context labels: 21-class ``semseg``, 7-label ``human_parts``, the rest built in."""
    special = {"semseg": get_task("semseg", labels=SEMSEG_LABELS),
               "human_parts": get_task("human_parts", labels=HUMAN_PART_LABELS)}  # fmt: skip
    return tuple(special.get(n) or get_task(n) for n in names)


def augmentation(size: tuple[int, int], crop: tuple[int, int] | None = None) -> list[Transform]:
    """The paper's PASCAL training augmentation: flip, scale in [0.75, 1.25] and rotate ±20° about the centre, resize."""
    no_crop("pascal_context", crop)
    return [RandomHorizontalFlip(), RandomScaleRotate(scale_range=(0.75, 1.25), degrees=20.0), Resize(size)]
