"""Turn whatever a user passes to ``predict`` / ``features`` into clean image tensors.

Every image comes out as a float32 RGB tensor of shape ``(3, H, W)`` with values in
``[0, 1]`` on the CPU.  Alpha channels (RGBA, LA, HxWx4, 4-channel tensors) are dropped:
the stored RGB values are kept as they are, not composited over any background.
"""

from __future__ import annotations

import os
from typing import NoReturn, Sequence, Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageNotFoundError, InvalidImageError

__all__ = ["ImageInput", "to_image_list"]

ImageInput = Union[str, os.PathLike, Image.Image, np.ndarray, torch.Tensor]

_ACCEPTED = (
    "a file path (str or os.PathLike), a PIL.Image.Image, a numpy array (HxW or HxWxC), "
    "a torch.Tensor (HxW, CHW or BCHW), or a list/tuple of those"
)
_FLOAT_TOLERANCE = 1e-3


def to_image_list(
    images: ImageInput | Sequence[ImageInput], min_size: int = 32
) -> tuple[list[torch.Tensor], bool]:
    """Convert user input into a list of float32 RGB ``(3, H, W)`` CPU tensors in ``[0, 1]``.

    ``images`` is one image (path, PIL image, numpy array, 2-D/3-D tensor), a 4-D ``BCHW``
    tensor, or a list/tuple of single images.  Returns ``(tensors, batched)`` where
    ``batched`` is True for a list/tuple or a 4-D tensor, so callers know to return a list
    of results.  Raises :class:`InvalidImageError` (or :class:`ImageNotFoundError` for a
    missing path) with a message saying what is wrong and how to fix it; errors about one
    element of a batch start with ``"image i of n (index i-1): "``.
    """
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise InvalidImageError(f"no images given: got an empty {type(images).__name__}")
        items: Sequence[object] = images
        for i, item in enumerate(images):
            if isinstance(item, (list, tuple)):
                _reraise_for(i, len(images), InvalidImageError(
                    f"got a nested {type(item).__name__}; pass a flat list of images"))
            if isinstance(item, torch.Tensor) and item.dim() == 4:
                _reraise_for(i, len(images), InvalidImageError(
                    f"got a 4-D tensor of shape {tuple(item.shape)} inside a list; each list "
                    "element must be a single image. Pass the BCHW batch tensor directly, "
                    "or a flat list of CHW tensors"))
    elif isinstance(images, torch.Tensor) and images.dim() == 4:
        if images.shape[0] == 0:
            raise InvalidImageError(
                f"no images given: the batch tensor has shape {tuple(images.shape)} (B == 0)")
        items = list(images.unbind(0))
    else:
        return [_one_image(images, min_size)], False

    out = []
    for i, item in enumerate(items):
        try:
            out.append(_one_image(item, min_size))
        except InvalidImageError as err:
            _reraise_for(i, len(items), err)
    return out, True


def _reraise_for(index: int, total: int, err: InvalidImageError) -> NoReturn:
    raise type(err)(f"image {index + 1} of {total} (index {index}): {err}") from None


def _one_image(x: object, min_size: int) -> torch.Tensor:
    if isinstance(x, (str, os.PathLike)):
        return _from_path(x, min_size)
    if isinstance(x, Image.Image):
        return _from_pil(x, min_size)
    if isinstance(x, np.ndarray):
        return _from_numpy(x, min_size)
    if isinstance(x, torch.Tensor):
        return _from_tensor(x, min_size)
    raise InvalidImageError(f"unsupported image type {type(x).__name__}; expected {_ACCEPTED}")


def _from_path(path: str | os.PathLike, min_size: int) -> torch.Tensor:
    p = os.fspath(path)
    if not os.path.exists(p):
        hint = "" if os.path.isabs(p) else f" (relative to the current directory {os.getcwd()})"
        raise ImageNotFoundError(f"image file not found: {p!r}{hint}")
    if os.path.isdir(p):
        raise InvalidImageError(f"{p!r} is a directory, not an image file; pass a file path")
    try:
        with Image.open(p) as im:
            im.load()
            return _from_pil(ImageOps.exif_transpose(im), min_size)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        # SyntaxError is what some PIL plugins raise on corrupt headers.
        raise InvalidImageError(
            f"{p!r} is not an image file PIL can read (supported formats: JPEG, PNG, BMP, "
            f"GIF, TIFF, WebP, ...): {err}") from None


def _from_pil(im: Image.Image, min_size: int) -> torch.Tensor:
    mode = im.mode
    if mode.startswith("I;16"):
        return _finish(_hwc(np.asarray(im).astype(np.float32) / 65535.0), min_size)
    if mode == "I":
        # 32-bit int mode is how PIL often opens 16-bit PNGs, so treat 0..65535 as full scale.
        arr = np.asarray(im)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise InvalidImageError(
                f"PIL mode 'I' image holds values {arr.min()} .. {arr.max()} outside 0..65535; "
                "convert it to 'L', 'RGB' or 'F' (values in [0, 1]) first")
        return _finish(_hwc(arr.astype(np.float32) / 65535.0), min_size)
    if mode == "F":
        return _finish(_hwc(np.asarray(im)), min_size)
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")  # avoids PIL's warning on palette transparency
    try:
        rgb = im if im.mode == "RGB" else im.convert("RGB")
    except ValueError as err:
        raise InvalidImageError(f"cannot convert PIL mode {mode!r} to RGB: {err}") from None
    return _finish(_hwc(np.asarray(rgb)), min_size)


def _from_numpy(a: np.ndarray, min_size: int) -> torch.Tensor:
    if a.dtype == np.bool_:
        raise InvalidImageError(
            "boolean arrays are not images; for a mask use a.astype(np.uint8) * 255")
    if a.dtype != np.uint8 and not np.issubdtype(a.dtype, np.floating):
        raise InvalidImageError(
            f"numpy images must be uint8 (0..255) or float in [0, 1], got dtype {a.dtype}; "
            "convert to uint8, or to float with e.g. a / np.iinfo(a.dtype).max")
    if a.ndim == 3 and a.shape[-1] not in (1, 3, 4) and a.shape[0] in (1, 3, 4):
        raise InvalidImageError(
            f"numpy array of shape {a.shape} looks channels-first (CxHxW); numpy images are "
            "HxWxC, use np.transpose(a, (1, 2, 0))")
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (1, 3, 4)):
        raise InvalidImageError(
            f"expected a numpy array of shape HxW, HxWx1, HxWx3 or HxWx4, got {a.shape}"
            + ("; pass a list of HxWxC arrays or a BCHW torch.Tensor" if a.ndim == 4 else ""))
    if np.issubdtype(a.dtype, np.floating) and a.dtype not in (np.float16, np.float32, np.float64):
        a = a.astype(np.float64)  # e.g. float128, which torch does not support
    return _finish(_hwc(a), min_size)


def _hwc(a: np.ndarray) -> torch.Tensor:
    """HxW or HxWxC numpy array -> CHW tensor (native byte order, own memory)."""
    if a.ndim == 2:
        a = a[:, :, None]
    # Always copy: inputs may be read-only (PIL buffers) or non-native byte order.
    a = a.transpose(2, 0, 1).astype(a.dtype.newbyteorder("="), order="C", copy=True)
    return torch.from_numpy(a)


def _from_tensor(t: torch.Tensor, min_size: int) -> torch.Tensor:
    t = t.detach().cpu()
    if t.dim() == 2:
        t = t.unsqueeze(0)
    if t.dim() != 3:
        raise InvalidImageError(
            f"expected a 2-D HxW, 3-D CHW or 4-D BCHW tensor, got shape {tuple(t.shape)}")
    if t.shape[0] not in (1, 3, 4):
        hint = (", if it is HxWxC use t.permute(2, 0, 1)" if t.shape[-1] in (1, 3, 4) else "")
        raise InvalidImageError(
            f"expected 1, 3 or 4 channels in CHW/BCHW layout, got {t.shape[0]} "
            f"(tensor shape {tuple(t.shape)}{hint})")
    if t.dtype != torch.uint8 and not t.dtype.is_floating_point:
        raise InvalidImageError(
            f"tensor images must be uint8 (0..255) or floating point in [0, 1], got {t.dtype}")
    return _finish(t, min_size)


def _finish(t: torch.Tensor, min_size: int) -> torch.Tensor:
    """Shared checks on a CHW uint8/float tensor with 1, 3 or 4 channels -> RGB float32."""
    h, w = t.shape[-2:]
    if h < min_size or w < min_size:
        raise InvalidImageError(
            f"image is {h}x{w} pixels; models need at least {min_size}x{min_size} pixels, "
            "resize it up first (e.g. PIL.Image.resize)")
    if t.dtype == torch.uint8:
        t = t.to(torch.float32) / 255.0
    else:
        if not bool(torch.isfinite(t).all()):
            raise InvalidImageError("the image contains NaN or infinite values")
        lo, hi = float(t.min()), float(t.max())
        if lo < -_FLOAT_TOLERANCE or hi > 1 + _FLOAT_TOLERANCE:
            raise InvalidImageError(
                f"float images must hold values in [0, 1] (got min {lo:.4g} .. max {hi:.4g}); "
                "divide uint8 data by 255 or pass a uint8 array")
        t = t.to(torch.float32).clamp(0.0, 1.0)
    if t.shape[0] == 1:
        return t.repeat(3, 1, 1)
    return t[:3].contiguous()


def __getattr__(name: str) -> object:
    """``IMAGENET_MEAN`` / ``IMAGENET_STD`` moved to :mod:`medusa_zoo.preprocessing`; the old names still work."""
    if name in ("IMAGENET_MEAN", "IMAGENET_STD"):
        import warnings

        from . import preprocessing

        warnings.warn(f"medusa_zoo.inputs.{name} moved to medusa_zoo.preprocessing.{name}", DeprecationWarning, stacklevel=2)
        return getattr(preprocessing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
