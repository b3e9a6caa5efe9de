"""Your own data for :func:`~medusa_zoo.finetune`: pairs, folders and datasets of pairs as samples.

``finetune`` trains on medusa_zoo samples (a dict with ``"image"`` a ``tv_tensors.Image`` and
the task's label a ``tv_tensors.Mask``). :func:`as_samples` turns what a user has into that:

- a list/tuple of ``(image, target)`` pairs;
- a pair of folders ``(images_dir, masks_dir)`` or ``{"images": dir, "masks": dir}``, an image
  and its PNG mask matched by file stem (``a.jpg`` with ``a.png``);
- any map-style torch Dataset whose items are such pairs (or already samples).

An image is anything ``predict`` takes (path, PIL image, numpy array, tensor: the same checks
and ``max_image_pixels`` limit, through :func:`~medusa_zoo.inputs.to_image_list`). A target is a
PNG mask path, a PIL image, or a numpy array / tensor, (H, W) or (C, H, W), of the image's
height and width. Segmentation targets hold class indices (255: unlabelled), binary ones 0/1
(255: unlabelled), regression ones real values (NaN: unlabelled). Pairs are converted when read,
so a bad pair raises :class:`~medusa_zoo.errors.DatasetError` naming its files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors

from ..errors import DatasetError, MedusaZooError
from ..inputs import check_image_pixels, open_image, to_image_list
from ..labels import IGNORE_INDEX
from ..tasks import Task
from ..tasks.binary import BinaryTask
from ..tasks.segmentation import SegmentationTask

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MASK_SUFFIX = ".png"
_SHOWN = 10  # unmatched names listed in an error


def as_samples(data: Any, task: Task, what: str = "train_data") -> Any:
    """``data`` as a Dataset of samples for ``task`` when it is one of the pair forms; else unchanged."""
    folders = _folders(data)
    if folders is not None:
        return PairDataset(match_folders(*folders, what=what), task, what)
    if isinstance(data, (list, tuple)) and data and all(_is_pair(item) for item in data):
        return PairDataset(list(data), task, what)
    if isinstance(data, torch.utils.data.Dataset) and hasattr(data, "__len__") and len(data) > 0:
        if _is_pair(data[0]):  # a Dataset of samples (dicts) is used as it is
            return PairDataset(data, task, what)
    return data


def is_pair_form(data: Any) -> bool:
    """Whether :func:`as_samples` converts ``data`` (pairs, folders or a Dataset of pairs)."""
    return isinstance(data, PairDataset)


def _is_pair(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and len(item) == 2


def _folders(data: Any) -> tuple[Path, Path] | None:
    if isinstance(data, Mapping):
        if set(data) != {"images", "masks"}:
            raise DatasetError(f"a dict of folders needs exactly the keys 'images' and 'masks', got {sorted(map(str, data))}")
        data = (data["images"], data["masks"])
    elif not (isinstance(data, (list, tuple)) and len(data) == 2 and os.path.isdir(str(data[0]))):
        return None
    if not all(isinstance(d, (str, os.PathLike)) for d in data):
        raise DatasetError(f"the image and mask folders must be paths, got {[type(d).__name__ for d in data]}")
    for kind, folder in zip(("images", "masks"), data):
        if not os.path.isdir(folder):
            raise DatasetError(f"the {kind} folder {os.fspath(folder)!r} does not exist or is not a folder")
    return Path(data[0]), Path(data[1])


def match_folders(images: Path, masks: Path, what: str = "train_data") -> list[tuple[Path, Path]]:
    """(image, mask) paths of two folders matched by file stem; every file must find its partner."""
    found = {p.stem: p for p in sorted(images.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()}
    labels = {p.stem: p for p in sorted(masks.iterdir()) if p.suffix.lower() == MASK_SUFFIX and p.is_file()}
    lonely_images, lonely_masks = sorted(set(found) - set(labels)), sorted(set(labels) - set(found))
    if lonely_images or lonely_masks:
        raise DatasetError(
            f"{what}: images and masks are matched by file name (without extension); "
            f"{len(lonely_images)} image(s) in {images} have no mask in {masks}: {_names(lonely_images, found)}; "
            f"{len(lonely_masks)} mask(s) have no image: {_names(lonely_masks, labels)}"
        )
    if not found:
        raise DatasetError(f"{what}: no images ({', '.join(IMAGE_SUFFIXES)}) in {images}")
    return [(found[stem], labels[stem]) for stem in sorted(found)]


def _names(stems: list[str], paths: Mapping[str, Path]) -> str:
    shown = [paths[s].name for s in stems[:_SHOWN]]
    return (", ".join(shown) or "none") + (f" and {len(stems) - _SHOWN} more" if len(stems) > _SHOWN else "")


class PairDataset(torch.utils.data.Dataset):
    """(image, target) pairs (a list or a Dataset of them) read as samples ``{"image", task.name}``."""

    def __init__(self, pairs: Sequence[Any] | torch.utils.data.Dataset, task: Task, what: str) -> None:
        self.pairs, self.task, self.what = pairs, task, what

    def __len__(self) -> int:
        return len(self.pairs)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.pairs[index]
        if isinstance(item, Mapping):
            return dict(item)  # already a sample
        where = f"{self.what} item {index}"
        if not _is_pair(item):
            raise DatasetError(f"{where} is a {type(item).__name__}; each item must be an (image, target) pair")
        image, target = item
        where += _files(image, target)
        return to_sample(image, target, self.task, where)


def _files(image: Any, target: Any) -> str:
    paths = [os.fspath(p) for p in (image, target) if isinstance(p, (str, os.PathLike))]
    return f" ({', '.join(paths)})" if paths else ""


def to_sample(image: Any, target: Any, task: Task, where: str) -> dict[str, Any]:
    """One pair as a sample: a uint8 ``tv_tensors.Image`` and the task's ``tv_tensors.Mask``."""
    if isinstance(image, (list, tuple)) or (isinstance(image, torch.Tensor) and image.dim() == 4):
        raise DatasetError(f"{where}: the image must be one image, got a {type(image).__name__}")
    try:
        pixels = to_image_list(image, min_size=1)[0][0]
    except MedusaZooError as bad:
        raise _located(bad, where) from None
    values = read_target(target, where)
    if tuple(values.shape[-2:]) != tuple(pixels.shape[-2:]):
        raise DatasetError(f"{where}: the target is {tuple(values.shape[-2:])} (H, W) but the image is "
                           f"{tuple(pixels.shape[-2:])}; a target needs its image's height and width")
    rgb = (pixels * 255).round().to(torch.uint8)
    return {"image": tv_tensors.Image(rgb), task.name: tv_tensors.Mask(as_label(values, task, where))}


def _located(error: MedusaZooError, where: str) -> MedusaZooError:
    """The same error (type and attributes kept) with its message starting with ``where``."""
    error.args = (f"{where}: {error.args[0] if error.args else error}", *error.args[1:])
    return error


def read_target(target: Any, where: str) -> torch.Tensor:
    """A target as a tensor, (H, W) or (C, H, W): a PNG mask path, a PIL image, an array or a tensor."""
    if isinstance(target, (str, os.PathLike)):
        try:
            with open_image(target) as im:
                return _from_pil(im, where)
        except MedusaZooError as bad:
            raise _located(bad, f"{where}: the mask") from None
    if hasattr(target, "getbands"):  # a PIL image
        check_image_pixels(target.height, target.width, f"{where}: the mask")
        return _from_pil(target, where)
    if isinstance(target, np.ndarray):
        if target.dtype.kind not in "biuf":
            raise DatasetError(f"{where}: a target array must hold numbers, got dtype {target.dtype}")
        target = torch.from_numpy(np.ascontiguousarray(target if target.dtype.kind != "b" else target.astype(np.uint8)))
    if not isinstance(target, torch.Tensor):
        raise DatasetError(f"{where}: a target must be a PNG mask path, a PIL image, a numpy array or a tensor, "
                           f"got {type(target).__name__}")
    if target.dim() not in (2, 3) or target.is_complex():
        raise DatasetError(f"{where}: a target must be (H, W) or (C, H, W), got shape {tuple(target.shape)}")
    check_image_pixels(int(target.shape[-2]), int(target.shape[-1]), f"{where}: the target")
    return target.detach().cpu()


def _from_pil(im: Any, where: str) -> torch.Tensor:
    if im.mode not in ("L", "P", "I", "I;16", "F", "1"):
        raise DatasetError(f"{where}: a mask must be one channel (greyscale or palette PNG), got mode {im.mode!r}; "
                           "write class indices (or values) into a single-channel image")
    return torch.from_numpy(np.array(im).astype(np.int64 if im.mode != "F" else np.float32))


def as_label(values: torch.Tensor, task: Task, where: str) -> torch.Tensor:
    """Check a target's values for ``task``'s kind; segmentation (H, W) int64, others (C, H, W) float32."""
    if isinstance(task, SegmentationTask):
        return _class_indices(values, task, where)
    values = values.float()
    if values.dim() == 2:
        values = values[None]
    if values.shape[0] != task.out_channels:
        raise DatasetError(f"{where}: task {task.name!r} predicts {task.out_channels} channel(s), the target has "
                           f"{values.shape[0]}")
    if isinstance(task, BinaryTask):
        labelled = values[values != IGNORE_INDEX]
        if ((labelled != 0) & (labelled != 1)).any():
            raise DatasetError(f"{where}: a {task.kind} target holds 0 and 1 (255: unlabelled), got values like "
                               f"{sorted(set(labelled.unique()[:5].tolist()))}; for a 0/255 mask pass mask // 255")
    return values


def _class_indices(values: torch.Tensor, task: Task, where: str) -> torch.Tensor:
    if values.dim() == 3 and values.shape[0] == 1:
        values = values[0]
    if values.dim() != 2 or values.is_floating_point() and not torch.equal(values, values.round()):
        raise DatasetError(f"{where}: a segmentation target is (H, W) of class indices, got "
                           f"{tuple(values.shape)} {values.dtype}")
    values = values.long()
    bad = (values < 0) | ((values >= task.out_channels) & (values != IGNORE_INDEX))
    if bad.any():
        raise DatasetError(f"{where}: class index {int(values[bad][0])} is not one of task {task.name!r}'s "
                           f"{task.out_channels} classes (0..{task.out_channels - 1}, {IGNORE_INDEX}: unlabelled)")
    return values


STATISTICS_IMAGES = 64  # samples the target statistics are estimated from (bounded work)


def target_statistics(data: Any, task: Task, images: int = STATISTICS_IMAGES) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of the valid target pixels of up to ``images`` evenly spaced samples.

    ``data`` holds raw samples (before any transform). A constant channel gets std 1, so that
    standardising only shifts it; no valid pixel at all raises :class:`DatasetError`.
    """
    channels = task.out_channels
    picks = sorted({int(i) for i in np.linspace(0, len(data) - 1, min(images, len(data))).round()})
    total, square, count = torch.zeros(channels, dtype=torch.float64), torch.zeros(channels, dtype=torch.float64), 0
    for index in picks:
        values = torch.as_tensor(data[index][task.name]).to(torch.float64)
        values = values[None] if values.dim() == 2 else values
        valid = task.valid_mask(values[None])[0]
        kept = values[:, valid]  # (C, N) labelled pixels
        total += kept.sum(1)
        square += (kept * kept).sum(1)
        count += int(valid.sum())
    if count == 0:
        raise DatasetError(f"task {task.name!r}: the {len(picks)} training target(s) looked at have no valid pixel "
                           "(all NaN?); a regression target needs real values")
    mean = total / count
    variance = (square / count - mean * mean).clamp(min=0)
    std = torch.where(variance > 1e-12 * (1 + mean * mean), variance.sqrt(), torch.ones_like(variance))
    return tuple(mean.tolist()), tuple(std.tolist())
