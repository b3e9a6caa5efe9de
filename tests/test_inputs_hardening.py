"""Hostile and odd inputs to :func:`medusa_zoo.inputs.to_image_list`: typed errors, or they simply work.

The pixel budget is exercised on small images with a small ``max_image_pixels`` (cheap); the
real thing (an 8000x8000 tensor, a 12000x12000 PNG of a few KB) runs in a child process with an
address-space limit, in ``tests/models/test_inference_hardening.py``.
"""

from __future__ import annotations

import io
import os
import pathlib
import signal
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch
from PIL import Image

from medusa_zoo.errors import ImageNotFoundError, ImageTooLargeError, InvalidImageError, MedusaZooError
from medusa_zoo.inputs import check_image_pixels, open_image, to_image_list
from medusa_zoo.limits import limits


def _png_bytes(h: int = 24, w: int = 32, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


def _file(tmp: pathlib.Path, name: str, data: bytes) -> pathlib.Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _truncated(tmp: pathlib.Path, fmt: str) -> pathlib.Path:
    data = _png_bytes(64, 64, fmt)
    return _file(tmp, f"cut.{fmt.lower()}", data[: len(data) // 2])


def _closed() -> Image.Image:
    im = Image.new("RGB", (8, 8))
    im.close()
    return im


def _fifo(tmp: pathlib.Path) -> pathlib.Path:
    path = tmp / "pipe.png"
    os.mkfifo(path)
    return path


# (input factory taking tmp_path, error class, a word of the message)
BAD: dict[str, tuple[Callable[[pathlib.Path], object], type[Exception], str]] = {
    "meta tensor": (lambda t: torch.empty(3, 8, 8, device="meta"), InvalidImageError, "meta tensor"),
    "sparse tensor": (lambda t: torch.zeros(3, 8, 8).to_sparse(), InvalidImageError, "to_dense"),
    "sparse csr batch": (lambda t: torch.zeros(8, 8).to_sparse_csr(), InvalidImageError, "sparse"),
    "complex tensor": (lambda t: torch.zeros(3, 8, 8, dtype=torch.complex64), InvalidImageError, "complex64"),
    "bool tensor": (lambda t: torch.zeros(3, 8, 8, dtype=torch.bool), InvalidImageError, "torch.bool"),
    "int64 tensor": (lambda t: torch.zeros(3, 8, 8, dtype=torch.int64), InvalidImageError, "uint8"),
    "NaN tensor": (lambda t: torch.full((3, 8, 8), float("nan")), InvalidImageError, "NaN"),
    "inf float16 tensor": (lambda t: torch.full((3, 8, 8), float("inf"), dtype=torch.float16), InvalidImageError,
                           "infinite"),
    "NaN float8 tensor": (lambda t: torch.full((3, 8, 8), float("nan")).to(torch.float8_e5m2), InvalidImageError,
                          "NaN"),
    "zero-height tensor": (lambda t: torch.zeros(3, 0, 8), InvalidImageError, "no pixels"),
    "zero-width numpy": (lambda t: np.zeros((8, 0, 3), np.uint8), InvalidImageError, "no pixels"),
    "object numpy": (lambda t: np.array([[object()] * 4] * 4, dtype=object), InvalidImageError, "dtype object"),
    "complex numpy": (lambda t: np.zeros((8, 8, 3), np.complex64), InvalidImageError, "complex64"),
    "bool numpy": (lambda t: np.zeros((8, 8), bool), InvalidImageError, "boolean"),
    "closed PIL image": (lambda t: _closed(), InvalidImageError, "close()"),
    "lazily truncated PNG": (lambda t: Image.open(_truncated(t, "PNG")), InvalidImageError, "truncated"),
    "lazily truncated JPEG": (lambda t: Image.open(_truncated(t, "JPEG")), InvalidImageError, "truncated"),
    "truncated PNG path": (lambda t: _truncated(t, "PNG"), InvalidImageError, "re-download"),
    "truncated JPEG path": (lambda t: str(_truncated(t, "JPEG")), InvalidImageError, "cut.jpeg"),
    "empty file": (lambda t: _file(t, "empty.png", b""), InvalidImageError, "not an image file"),
    "PNG signature only": (lambda t: _file(t, "sig.png", _png_bytes()[:16]), InvalidImageError, "PIL can read"),
    "FIFO path": (_fifo, InvalidImageError, "not a regular file"),
    "/dev/zero": (lambda t: "/dev/zero", InvalidImageError, "not a regular file"),
    "directory": (lambda t: t, InvalidImageError, "directory"),
    "missing path": (lambda t: t / "missing.png", ImageNotFoundError, "not found"),
    "5-D tensor": (lambda t: torch.zeros(1, 1, 3, 8, 8), InvalidImageError, "got shape"),
    "nested tensor list": (lambda t: [torch.zeros(3, 8, 8), [torch.zeros(3, 8, 8)]], InvalidImageError, "nested"),
    "generator": (lambda t: (x for x in [torch.zeros(3, 8, 8)]), InvalidImageError, "unsupported image type"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_raises_typed_error(case: str, tmp_path: pathlib.Path) -> None:
    make, error, word = BAD[case]
    with _alarm(10), pytest.raises(error) as info:
        to_image_list(make(tmp_path), min_size=1)  # type: ignore[arg-type]
    assert isinstance(info.value, MedusaZooError) and isinstance(info.value, ValueError | FileNotFoundError)
    assert word in str(info.value)


OVER: dict[str, Callable[[pathlib.Path], object]] = {
    "uint8 tensor": lambda t: torch.zeros(3, 20, 20, dtype=torch.uint8),
    "expanded float tensor": lambda t: torch.zeros(1, 1, 1).expand(3, 20, 20),
    "HxW tensor": lambda t: torch.zeros(20, 20),
    "numpy": lambda t: np.zeros((20, 20, 3), np.uint8),
    "PIL image": lambda t: Image.new("RGB", (20, 20)),
    "lazy PIL image": lambda t: Image.open(_file(t, "lazy.png", _png_bytes(20, 20))),
    "PNG path": lambda t: _file(t, "a.png", _png_bytes(20, 20)),
    "JPEG path": lambda t: _file(t, "a.jpg", _png_bytes(20, 20, "JPEG")),
    "BCHW batch": lambda t: torch.zeros(2, 3, 20, 20),
    "list": lambda t: [torch.zeros(3, 4, 4), np.zeros((20, 20), np.uint8)],
}


@pytest.mark.parametrize("case", list(OVER))
def test_over_the_pixel_budget_is_refused_before_decoding(case: str, tmp_path: pathlib.Path) -> None:
    image = OVER[case](tmp_path)
    with limits(max_image_pixels=399), pytest.raises(ImageTooLargeError) as info:
        to_image_list(image, min_size=1)  # type: ignore[arg-type]
    err = info.value
    assert isinstance(err, InvalidImageError) and isinstance(err, ValueError)
    assert "20x20" in str(err) and "399" in str(err) and "set_limits(max_image_pixels=" in str(err)
    assert (err.limit, err.value, err.allowed) == ("max_image_pixels", 400, 399)
    if case in ("BCHW batch", "list"):
        assert str(err).startswith("image 1 of 2" if case == "BCHW batch" else "image 2 of 2")
    with limits(max_image_pixels=400):
        assert len(to_image_list(image, min_size=1)[0]) in (1, 2)  # exactly at the budget: accepted


def test_lazy_pil_image_over_budget_is_not_decoded(tmp_path: pathlib.Path) -> None:
    im = Image.open(_file(tmp_path, "a.png", _png_bytes(20, 20)))
    with limits(max_image_pixels=100), pytest.raises(ImageTooLargeError):
        to_image_list(im, min_size=1)
    assert im.tile  # refused from the header: nothing was decoded (load() empties the tile list)


def test_pil_decompression_bomb_check_follows_our_budget(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path, "a.png", _png_bytes(64, 64))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # PIL alone would raise DecompressionBombError
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        [t], _ = to_image_list(path)
        assert t.shape == (3, 64, 64)  # our budget (the default max_image_pixels) is what counts
        with limits(max_image_pixels=4095), pytest.raises(ImageTooLargeError, match="64x64"):
            to_image_list(path)
    assert Image.MAX_IMAGE_PIXELS == 1000  # PIL's own setting is restored


def test_check_image_pixels_names_size_and_limit() -> None:
    with limits(max_image_pixels=10), pytest.raises(ImageTooLargeError, match=r"thing is 3x4 = 12 pixels.*10"):
        check_image_pixels(3, 4, "thing")
    check_image_pixels(2, 5)


def test_fifo_is_refused_without_blocking(tmp_path: pathlib.Path) -> None:
    path = _fifo(tmp_path)
    link = tmp_path / "link.png"
    link.symlink_to(path)
    for candidate in (path, link):
        with _alarm(5), pytest.raises(InvalidImageError, match="not a regular file"):
            to_image_list(candidate, min_size=1)
        with _alarm(5), pytest.raises(InvalidImageError, match="not a regular file"), open_image(candidate):
            pass


@pytest.mark.parametrize("mode", ["1", "L", "LA", "La", "P", "PA", "I", "I;16", "I;16B", "F", "CMYK", "YCbCr",
                                  "LAB", "HSV", "RGBA", "RGBa", "RGBX"])
def test_pil_modes_convert(mode: str) -> None:
    [t], batched = to_image_list(Image.new(mode, (5, 3)), min_size=1)
    assert not batched and t.shape == (3, 3, 5) and t.dtype == torch.float32
    assert bool(torch.isfinite(t).all()) and 0 <= float(t.min()) <= float(t.max()) <= 1


def test_palette_with_transparency_and_float8_simply_work() -> None:
    im = Image.new("P", (4, 4))
    im.info["transparency"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        [t], _ = to_image_list(im, min_size=1)
    assert t.shape == (3, 4, 4)
    for dtype in (torch.float8_e4m3fn, torch.float8_e5m2, torch.bfloat16):
        [t], _ = to_image_list(torch.full((3, 4, 4), 0.5).to(dtype), min_size=1)
        assert t.dtype == torch.float32 and torch.allclose(t, torch.full_like(t, 0.5))


def _exif_rotated(orientation: int) -> Image.Image:
    """A 20 (high) x 40 (wide) picture, red on its left half, stored with an EXIF orientation."""
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20, 0] = 255
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_exif_orientation_is_followed_for_files_and_pil_images(tmp_path: pathlib.Path) -> None:
    im = _exif_rotated(6)  # "rotate 90 CW to view": viewers show it 40 high, 20 wide
    path = tmp_path / "rotated.jpg"
    path.write_bytes(im.fp.getvalue())  # type: ignore[union-attr]
    for image in (path, _exif_rotated(6)):
        [t], _ = to_image_list(image, min_size=1)
        assert t.shape == (3, 40, 20)
        assert float(t[0, :20].mean()) > 0.9 and float(t[0, 20:].mean()) < 0.1  # red on top after the turn
    [t], _ = to_image_list(_exif_rotated(1), min_size=1)
    assert t.shape == (3, 20, 40)


@pytest.fixture(autouse=True)
def _no_stray_pil_limit() -> Iterator[None]:
    before = Image.MAX_IMAGE_PIXELS
    yield
    assert Image.MAX_IMAGE_PIXELS == before


class _alarm:
    """Fail instead of hanging: SIGALRM after ``seconds`` raises TimeoutError."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        def fire(signum: int, frame: object) -> None:
            raise TimeoutError(f"blocked for {self.seconds} s")

        self.previous = signal.signal(signal.SIGALRM, fire)
        signal.alarm(self.seconds)

    def __exit__(self, *exc: object) -> None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.previous)
