"""Tests for medusa_zoo.inputs.to_image_list."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import torch
from PIL import Image

from medusa_zoo.errors import ImageNotFoundError, InvalidImageError, MedusaZooError
from medusa_zoo.inputs import ImageInput, to_image_list

H, W = 40, 48


def _rgb_u8(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(H, W, 3), dtype=np.uint8)


def _one(x: object) -> torch.Tensor:
    out, batched = to_image_list(x)  # type: ignore[arg-type]
    assert batched is False
    assert len(out) == 1
    t = out[0]
    assert t.dtype == torch.float32 and t.device.type == "cpu" and t.dim() == 3
    assert t.shape[0] == 3
    assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0
    return t


def _expected(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.astype(np.float32) / 255.0).permute(2, 0, 1)


# ----------------------------------------------------------------------------- numpy


def test_numpy_uint8_hwc_is_divided_by_255() -> None:
    a = _rgb_u8()
    t = _one(a)
    assert t.shape == (3, H, W)
    assert torch.equal(t, _expected(a))


def test_numpy_grayscale_2d_and_hw1_give_three_equal_channels() -> None:
    g = _rgb_u8()[..., 0]
    for arr in (g, g[..., None]):
        t = _one(arr)
        assert t.shape == (3, H, W)
        assert torch.equal(t[0], t[1]) and torch.equal(t[1], t[2])
        assert torch.equal(t[0], torch.from_numpy(g.astype(np.float32) / 255.0))


def test_numpy_rgba_drops_alpha() -> None:
    a = _rgb_u8()
    rgba = np.concatenate([a, np.full((H, W, 1), 7, np.uint8)], axis=-1)
    assert torch.equal(_one(rgba), _expected(a))


def test_numpy_float_in_range_kept_and_float64_accepted() -> None:
    a = np.random.default_rng(1).random((H, W, 3))
    t = _one(a)
    assert torch.allclose(t, torch.from_numpy(a).permute(2, 0, 1).float())


def test_numpy_input_is_not_aliased() -> None:
    a = np.random.default_rng(2).random((H, W, 3)).astype(np.float32)
    t = _one(a)
    a[:] = 0.5
    assert not torch.all(t == 0.5)


# ----------------------------------------------------------------------------- PIL


def test_pil_rgb_matches_numpy() -> None:
    a = _rgb_u8()
    assert torch.equal(_one(Image.fromarray(a)), _expected(a))


def test_pil_grayscale_l_gives_three_equal_channels() -> None:
    g = _rgb_u8()[..., 0]
    t = _one(Image.fromarray(g, mode="L"))
    assert t.shape == (3, H, W)
    assert torch.equal(t[0], t[1]) and torch.equal(t[1], t[2])
    assert torch.equal(t[0], torch.from_numpy(g.astype(np.float32) / 255.0))


def test_pil_rgba_drops_alpha() -> None:
    a = _rgb_u8()
    rgba = np.concatenate([a, np.full((H, W, 1), 128, np.uint8)], axis=-1)
    t = _one(Image.fromarray(rgba, mode="RGBA"))
    assert torch.equal(t, _expected(a))


def test_pil_palette_image() -> None:
    im = Image.new("P", (W, H))
    im.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    im.paste(1, (0, 0, W // 2, H))  # left half uses palette entry 1 (blue)
    t = _one(im)
    assert t.shape == (3, H, W)
    assert torch.equal(t[:, 0, 0], torch.tensor([0.0, 0.0, 1.0]))
    assert torch.equal(t[:, 0, W - 1], torch.tensor([1.0, 0.0, 0.0]))


def test_pil_16bit_grayscale_is_scaled_to_unit_range() -> None:
    g = np.full((H, W), 65535, dtype=np.uint16)
    g[0, 0] = 0
    t = _one(Image.fromarray(g))
    assert float(t[0, 0, 0]) == 0.0
    assert float(t[0, 1, 1]) == pytest.approx(1.0)


def test_pil_float_and_int32_modes() -> None:
    f = np.random.default_rng(3).random((H, W)).astype(np.float32)
    t = _one(Image.fromarray(f, mode="F"))
    assert torch.equal(t[1], torch.from_numpy(f))
    _raises(InvalidImageError, r"\[0, 1\]", Image.fromarray(f * 10, mode="F"))
    t = _one(Image.new("I", (W, H), 65535))
    assert torch.equal(t, torch.ones(3, H, W))


def test_pil_cmyk_converts_to_rgb() -> None:
    t = _one(Image.new("CMYK", (W, H), (0, 0, 0, 0)))
    assert torch.equal(t, torch.ones(3, H, W))


# ----------------------------------------------------------------------------- tensors


def test_tensor_chw_uint8_and_float() -> None:
    a = _rgb_u8()
    chw = torch.from_numpy(a).permute(2, 0, 1).contiguous()
    assert torch.equal(_one(chw), _expected(a))
    f = torch.rand(3, H, W, dtype=torch.float64)
    assert torch.allclose(_one(f), f.float())


def test_tensor_grayscale_and_four_channels() -> None:
    g = torch.rand(H, W)
    t = _one(g)
    assert torch.equal(t, g.expand(3, H, W))
    t1 = _one(g[None])
    assert torch.equal(t1, g.expand(3, H, W))
    rgba = torch.rand(4, H, W)
    assert torch.equal(_one(rgba), rgba[:3])


def test_tensor_small_tolerance_is_clamped() -> None:
    x = torch.full((3, H, W), 0.5)
    x[0, 0, 0], x[0, 0, 1] = -5e-4, 1 + 5e-4
    t = _one(x)
    assert float(t[0, 0, 0]) == 0.0 and float(t[0, 0, 1]) == 1.0


def test_tensor_with_grad_is_detached_and_not_aliased() -> None:
    x = torch.rand(3, H, W, requires_grad=True)
    t = _one(x)
    assert not t.requires_grad
    with torch.no_grad():
        x.fill_(0.25)
    assert not torch.all(t == 0.25)


def test_bchw_is_batched() -> None:
    b = torch.rand(5, 3, H, W)
    out, batched = to_image_list(b)
    assert batched is True
    assert len(out) == 5
    for i, t in enumerate(out):
        assert t.shape == (3, H, W)
        assert torch.equal(t, b[i])


def test_list_and_tuple_are_batched_with_mixed_types() -> None:
    a = _rgb_u8()
    items: list[ImageInput] = [a, Image.fromarray(a), torch.from_numpy(a).permute(2, 0, 1)]
    for seq in (items, tuple(items)):
        out, batched = to_image_list(seq)
        assert batched is True
        assert len(out) == 3
        for t in out:
            assert torch.equal(t, _expected(a))
    out, batched = to_image_list([a])
    assert batched is True and len(out) == 1


# ----------------------------------------------------------------------------- paths


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_path_str_and_pathlib(tmp_path: pathlib.Path, suffix: str) -> None:
    a = _rgb_u8()
    p = tmp_path / f"img{suffix}"
    Image.fromarray(a).save(p)
    for arg in (str(p), p):
        t = _one(arg)
        assert t.shape == (3, H, W)
        if suffix == ".png":
            assert torch.equal(t, _expected(a))
        else:  # lossy: only roughly equal
            assert float((t - _expected(a)).abs().mean()) < 0.2


def test_path_grayscale_png_becomes_rgb(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "gray.png"
    Image.fromarray(_rgb_u8()[..., 0], mode="L").save(p)
    t = _one(p)
    assert torch.equal(t[0], t[2])


# ----------------------------------------------------------------------------- errors


def _raises(exc: type[Exception], match: str, x: object, **kw: int) -> pytest.ExceptionInfo:
    assert issubclass(exc, MedusaZooError)
    with pytest.raises(exc, match=match) as info:
        to_image_list(x, **kw)  # type: ignore[arg-type]
    assert isinstance(info.value, MedusaZooError)
    return info


def test_error_empty_list_tuple_and_batch() -> None:
    _raises(InvalidImageError, r"no images given", [])
    _raises(InvalidImageError, r"no images given", ())
    _raises(InvalidImageError, r"no images given", torch.empty(0, 3, H, W))


def test_error_too_small_image() -> None:
    _raises(InvalidImageError, r"1x1 pixels; models need at least 32x32", np.zeros((1, 1, 3), np.uint8))
    _raises(InvalidImageError, r"0x5 pixels", torch.zeros(3, 0, 5))
    _raises(InvalidImageError, r"at least 64x64", torch.zeros(3, H, W), min_size=64)


def test_error_five_channel_tensor() -> None:
    _raises(InvalidImageError, r"expected 1, 3 or 4 channels in CHW/BCHW layout, got 5",
            torch.rand(5, H, W))
    _raises(InvalidImageError, r"got 5", torch.rand(2, 5, H, W))
    _raises(InvalidImageError, r"t\.permute\(2, 0, 1\)", torch.rand(H, W, 3))


def test_error_nan_and_inf() -> None:
    x = torch.rand(3, H, W)
    x[1, 2, 3] = float("nan")
    _raises(InvalidImageError, r"NaN or infinite", x)
    a = np.random.default_rng(0).random((H, W, 3))
    a[0, 0, 0] = np.inf
    _raises(InvalidImageError, r"NaN or infinite", a)


def test_error_float_out_of_range() -> None:
    info = _raises(InvalidImageError, r"float images must hold values in \[0, 1\]",
                   np.full((H, W, 3), 255.0))
    assert "divide uint8 data by 255" in str(info.value)
    assert "max 255" in str(info.value)
    _raises(InvalidImageError, r"\[0, 1\]", torch.full((3, H, W), -0.5))


def test_error_text_file_path(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("hello, not an image")
    info = _raises(InvalidImageError, r"not an image file PIL can read", str(p))
    assert str(p) in str(info.value) and "PNG" in str(info.value)


def test_error_missing_path(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "missing.png"
    info = _raises(ImageNotFoundError, r"not found", p)
    assert str(p) in str(info.value)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, InvalidImageError)


def test_error_directory_path(tmp_path: pathlib.Path) -> None:
    info = _raises(InvalidImageError, r"is a directory", str(tmp_path))
    assert not isinstance(info.value, ImageNotFoundError)


@pytest.mark.parametrize("bad", [None, 3, {"a": 1}, b"bytes"])
def test_error_unsupported_type(bad: object) -> None:
    info = _raises(InvalidImageError, r"unsupported image type", bad)
    assert type(bad).__name__ in str(info.value)
    assert "PIL.Image.Image" in str(info.value) and "torch.Tensor" in str(info.value)


def test_error_chw_numpy_suggests_transpose() -> None:
    _raises(InvalidImageError, r"np\.transpose\(a, \(1, 2, 0\)\)", np.zeros((3, H, W), np.uint8))


def test_error_numpy_dtypes() -> None:
    _raises(InvalidImageError, r"convert to uint8", np.zeros((H, W, 3), np.uint16))
    _raises(InvalidImageError, r"boolean", np.zeros((H, W), bool))
    _raises(InvalidImageError, r"HxWx3", np.zeros((H, W, 2), np.uint8))


def test_error_tensor_dtype_and_rank() -> None:
    _raises(InvalidImageError, r"uint8 .* or floating point", torch.zeros(3, H, W, dtype=torch.int64))
    _raises(InvalidImageError, r"got shape \(1, 1, 3, 40, 48\)", torch.zeros(1, 1, 3, H, W))


def test_error_list_element_mentions_index() -> None:
    good = _rgb_u8()
    info = _raises(InvalidImageError, r"image 2 of 3 \(index 1\): unsupported image type",
                   [good, None, good])
    assert "NoneType" in str(info.value)
    _raises(InvalidImageError, r"image 3 of 3 .*1x1", [good, good, np.zeros((1, 1), np.uint8)])


def test_error_list_element_missing_path_keeps_type(tmp_path: pathlib.Path) -> None:
    _raises(ImageNotFoundError, r"image 1 of 2 \(index 0\): image file not found",
            [tmp_path / "nope.jpg", _rgb_u8()])


def test_error_4d_tensor_or_nested_list_inside_list() -> None:
    _raises(InvalidImageError, r"image 2 of 2 .*Pass the BCHW batch tensor directly",
            [torch.rand(3, H, W), torch.rand(2, 3, H, W)])
    _raises(InvalidImageError, r"nested list", [[_rgb_u8()]])


def test_error_in_batch_tensor_mentions_index() -> None:
    b = torch.rand(3, 3, H, W)
    b[2, 0, 0, 0] = float("inf")
    _raises(InvalidImageError, r"image 3 of 3 \(index 2\): .*NaN or infinite", b)
