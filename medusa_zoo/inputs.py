"""Turn whatever a user passes to ``predict`` / ``features`` into clean image tensors.

Every image comes out as a float32 RGB tensor of shape ``(3, H, W)`` with values in
``[0, 1]`` on the CPU.  Alpha channels (RGBA, LA, HxWx4, 4-channel tensors) are dropped:
the stored RGB values are kept as they are, not composited over any background.  Files and
PIL images follow their EXIF orientation, as image viewers show them.

Every image is held to ``medusa_zoo.limits.get_limits().max_image_pixels`` before memory is
spent on it: from the header of a file or a PIL image (before decoding) and from the shape of
an array or tensor (before any copy); over it raises :class:`ImageTooLargeError`.  Only regular
files are opened, so a FIFO or a device path cannot block or run forever.
"""

from __future__ import annotations

import os
import stat
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, NoReturn, Sequence, Union

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from .errors import ImageNotFoundError, ImageTooLargeError, InvalidImageError, ResourceLimitError
from .files import require_regular_file
from .limits import get_limits

__all__ = ["ImageInput", "to_image_list", "open_image", "check_image_pixels"]

ImageInput = Union[str, os.PathLike, Image.Image, np.ndarray, torch.Tensor]

_ACCEPTED = (
    "a file path (str or os.PathLike), a PIL.Image.Image, a numpy array (HxW or HxWxC), "
    "a torch.Tensor (HxW, CHW or BCHW), or a list/tuple of those"
)
_FLOAT_TOLERANCE = 1e-3
_TENSOR_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_PIL_SETTINGS = threading.RLock()  # PIL's decompression-bomb limit is a module global


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
    elif isinstance(images, torch.Tensor) and _usable_tensor(images).dim() == 4:
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
    err.args = (f"image {index + 1} of {total} (index {index}): {err}",)  # same class and limit fields
    raise err from None


def check_image_pixels(height: int, width: int, what: str = "image") -> None:
    """Raise :class:`ImageTooLargeError` if ``height x width`` exceeds the ``max_image_pixels`` budget."""
    allowed = get_limits().max_image_pixels
    pixels = int(height) * int(width)
    if pixels > allowed:
        raise ImageTooLargeError(
            f"{what} is {height}x{width} = {pixels:,} pixels, over the limit of {allowed:,} pixels per image; "
            "downsize it or raise medusa_zoo.limits.set_limits(max_image_pixels=...)",
            "max_image_pixels", pixels, allowed,
        )


@contextmanager
def open_image(path: str | os.PathLike) -> Iterator[Image.Image]:
    """``PIL.Image.open(path)`` for a regular file whose header size is within ``max_image_pixels``.

    Raises :class:`ImageNotFoundError` for a missing path, :class:`InvalidImageError` for a
    folder, a FIFO or device, or a file PIL cannot identify, and :class:`ImageTooLargeError`
    before decoding an image over the budget.  The image is still lazy: decode it (``load``,
    ``convert``) inside the block, where PIL's own decompression-bomb check matches the budget.
    """
    p = os.fspath(path)
    if not os.path.exists(p):
        hint = "" if os.path.isabs(p) else f" (relative to the current directory {os.getcwd()})"
        raise ImageNotFoundError(f"image file not found: {p!r}{hint}")
    if os.path.isdir(p):
        raise InvalidImageError(f"{p!r} is a directory, not an image file; pass a file path")
    require_regular_file(p, InvalidImageError, "image file")
    with _regular_file(p) as handle:
        with _pil_budget(None):  # the header only: we check its size below, and name it in the message
            try:
                im = Image.open(handle)
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as err:
                # SyntaxError is what some PIL plugins raise on corrupt headers.
                detail = "PIL cannot identify its format" if isinstance(err, UnidentifiedImageError) else err
                raise InvalidImageError(
                    f"{p!r} is not an image file PIL can read (supported formats: JPEG, PNG, BMP, "
                    f"GIF, TIFF, WebP, ...): {detail}") from None
        with im, _pil_budget(get_limits().max_image_pixels):
            check_image_pixels(im.height, im.width, f"image file {p!r}")
            yield im


@contextmanager
def _regular_file(path: str) -> Iterator[BinaryIO]:
    """Open ``path`` for reading without blocking, refusing it unless it is (still) a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO swapped in must not block
    except OSError as err:
        raise InvalidImageError(f"cannot open image file {path!r}: {err.strerror or err}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InvalidImageError(f"image file {path!r} is not a regular file; give the path of an image file")
    with os.fdopen(fd, "rb") as handle:
        yield handle


@contextmanager
def _pil_budget(max_pixels: int | None) -> Iterator[None]:
    """Inside the block PIL's own decompression-bomb check refuses what ours does (``None``: nothing).

    PIL raises above twice ``Image.MAX_IMAGE_PIXELS`` (set here to half our budget, restored after;
    a user's own setting does not change what we accept) and only warns below that; we check sizes
    ourselves, so its warning is silenced and its error becomes :class:`ImageTooLargeError`.
    """
    with _PIL_SETTINGS, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None if max_pixels is None else (max_pixels + 1) // 2
        try:
            yield
        except Image.DecompressionBombError as err:
            raise ImageTooLargeError(
                f"the image is over the limit of {max_pixels:,} pixels per image ({err}); downsize it or raise "
                "medusa_zoo.limits.set_limits(max_image_pixels=...)", "max_image_pixels", 0, max_pixels,
            ) from None
        finally:
            Image.MAX_IMAGE_PIXELS = previous


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
    with open_image(path) as im:
        try:
            return _from_pil(im, min_size)
        except InvalidImageError as err:
            if isinstance(err, ResourceLimitError) or os.fspath(path) in str(err):
                raise
            err.args = (f"{os.fspath(path)!r}: {err}",)
            raise err from None


def _decoded(im: Image.Image) -> Image.Image:
    """``im`` loaded and turned upright by its EXIF orientation, within the pixel budget."""
    check_image_pixels(im.height, im.width)  # from the header: nothing is decoded yet
    with _pil_budget(get_limits().max_image_pixels):
        try:
            im.load()
            if _orientation(im) not in (None, 1):
                im = ImageOps.exif_transpose(im)
        except ValueError as err:  # "Operation on closed image"
            raise InvalidImageError(
                f"cannot read the PIL image ({err}); pass it before calling close(), or reopen the file") from None
        except (OSError, SyntaxError, EOFError) as err:
            raise InvalidImageError(
                f"the image data cannot be decoded ({err}): the file is truncated or damaged; "
                "re-save or re-download it") from None
    return im


def _orientation(im: Image.Image) -> int | None:
    try:
        return im.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # noqa: BLE001 (a damaged EXIF block does not make the pixels unusable; viewers ignore it too)
        return None


def _from_pil(im: Image.Image, min_size: int) -> torch.Tensor:
    im = _decoded(im)
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
    if mode == "La":
        im = im.convert("LA")  # PIL converts premultiplied grey to RGB only through LA
    try:
        rgb = im if im.mode == "RGB" else im.convert("RGB")
    except ValueError as err:
        raise InvalidImageError(f"cannot convert PIL mode {mode!r} to RGB: {err}") from None
    return _finish(_hwc(np.asarray(rgb)), min_size)


def _from_numpy(a: np.ndarray, min_size: int) -> torch.Tensor:
    if a.ndim in (2, 3):
        check_image_pixels(a.shape[0], a.shape[1], f"numpy image of shape {a.shape}")
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


def _usable_tensor(t: torch.Tensor) -> torch.Tensor:
    """``t`` if it is a dense tensor holding data; sparse, nested and meta tensors are refused."""
    if t.is_nested or t.layout != torch.strided:
        kind = "nested" if t.is_nested else f"{t.layout} (sparse)"
        raise InvalidImageError(f"got a {kind} tensor; pass a dense image tensor, e.g. t.to_dense()")
    if t.is_meta:
        raise InvalidImageError(
            f"got a meta tensor of shape {tuple(t.shape)}: it has no data; pass a tensor on the CPU or a GPU")
    return t


def _from_tensor(t: torch.Tensor, min_size: int) -> torch.Tensor:
    t = _usable_tensor(t)
    if t.dim() == 2:
        t = t.unsqueeze(0)
    if t.dim() != 3:
        raise InvalidImageError(
            f"expected a 2-D HxW, 3-D CHW or 4-D BCHW tensor, got shape {tuple(t.shape)}")
    check_image_pixels(t.shape[-2], t.shape[-1], f"tensor image of shape {tuple(t.shape)}")
    if t.shape[0] not in (1, 3, 4):
        hint = (", if it is HxWxC use t.permute(2, 0, 1)" if t.shape[-1] in (1, 3, 4) else "")
        raise InvalidImageError(
            f"expected 1, 3 or 4 channels in CHW/BCHW layout, got {t.shape[0]} "
            f"(tensor shape {tuple(t.shape)}{hint})")
    if t.dtype != torch.uint8 and not t.dtype.is_floating_point:
        raise InvalidImageError(
            f"tensor images must be uint8 (0..255) or floating point in [0, 1], got {t.dtype}")
    t = t.detach().cpu()
    if t.dtype.is_floating_point and t.dtype not in _TENSOR_FLOATS:
        t = t.to(torch.float32)  # e.g. float8, which has no isfinite / min / max kernels
    return _finish(t, min_size)


def _finish(t: torch.Tensor, min_size: int) -> torch.Tensor:
    """Shared checks on a CHW uint8/float tensor with 1, 3 or 4 channels -> RGB float32."""
    h, w = t.shape[-2:]
    if h == 0 or w == 0:
        raise InvalidImageError(f"image is {h}x{w} pixels: it holds no pixels; pass an image of at least 1x1")
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
