"""predict / features on arbitrary arrays, tensors, PIL images and files: a typed error or a correct answer.

"Correct" is checked against the input, not against a stored answer: every requested task comes
back at the image's own height and width, finite, with labels inside the task's class range.
Inputs that are unambiguous images (uint8, or float in [0, 1], 1/3/4 channels, any size from 1x1)
must work; everything else may be refused, but only with a typed error.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import medusa_zoo
from tests.fuzz.harness import assert_ok

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def model() -> medusa_zoo.MultiTaskNet:
    return medusa_zoo.load("medusa_efficientnet_lite0", device="cpu")


def answers(model: medusa_zoo.MultiTaskNet, size: tuple[int, int]):
    """A check that a prediction dict fits an image of ``size``."""

    def check(result: dict) -> bool:
        assert set(result) == set(model.tasks), result.keys()
        for name, value in result.items():
            assert tuple(value.shape[-2:]) == size, (name, value.shape, size)
            if value.is_floating_point():
                assert torch.isfinite(value).all(), name
            else:
                classes = model.tasks[name].out_channels
                assert 0 <= int(value.min()) and int(value.max()) < classes, name
        return True

    return check


SIDES = st.one_of(st.integers(1, 8), st.integers(9, 96), st.sampled_from([1, 2, 3, 300]))


@st.composite
def images(draw) -> tuple[object, tuple[int, int] | None]:
    """(input, its H x W if it must work, else None)."""
    h, w = draw(SIDES), draw(SIDES)
    kind = draw(st.sampled_from(["uint8", "unit-float", "wild-float", "other-dtype", "odd-shape"]))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    shape = (h, w) if channels is None else (h, w, channels)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "uint8":
        array, good = rng.integers(0, 256, shape, dtype=np.uint8), True
    elif kind == "unit-float":
        array = rng.random(shape).astype(draw(st.sampled_from([np.float16, np.float32, np.float64])))
        good = True
    elif kind == "wild-float":
        array = rng.random(shape).astype(np.float32) * draw(st.sampled_from([-1.0, 255.0, np.inf, np.nan, 1e30]))
        good = False
    elif kind == "other-dtype":
        dtype = draw(st.sampled_from([np.int16, np.int64, np.uint16, np.bool_, np.complex64, np.object_]))
        array, good = np.zeros(shape, dtype=dtype), False
    else:
        extra = draw(st.lists(st.integers(0, 5), min_size=0, max_size=3))
        array, good = np.zeros((h, *extra) if extra else (), dtype=np.uint8), False
    as_tensor = draw(st.booleans())
    if as_tensor and array.dtype != np.object_ and array.dtype != np.uint16:
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        value = tensor.permute(2, 0, 1) if tensor.dim() == 3 and channels is not None else tensor
    else:
        value = array
    return value, ((h, w) if good else None)


@given(images())
@FUZZ
def test_predict_answers_or_refuses_with_a_typed_error(model, case) -> None:
    value, size = case
    expect = "correct" if size is not None else "either"
    shape = size or tuple(getattr(value, "shape", ())[-2:]) or (0, 0)
    assert_ok("predict: arrays and tensors", lambda: model.predict(value), expect, answers(model, shape))


@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from(["RGB", "L", "RGBA", "P", "I;16", "F", "1", "CMYK", "LA"]))
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_pil_images_of_every_mode_and_size_work(model, h, w, mode) -> None:
    image = Image.new(mode, (w, h))
    assert_ok("predict: PIL modes and sizes", lambda: model.predict(image), "correct", answers(model, (h, w)))


@given(st.binary(min_size=0, max_size=600), st.sampled_from(["png", "jpeg", "gif", "bmp"]))
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_damaged_image_files_are_refused_with_a_typed_error(model, tmp_path, noise, fmt) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 12), (200, 30, 40)).save(buffer, format=fmt)
    data = buffer.getvalue()
    cut = len(noise) % max(len(data), 1)
    path = tmp_path / f"damaged.{fmt}"
    path.write_bytes(data[:cut] + noise)  # a truncated file followed by garbage
    assert_ok("predict: damaged files", lambda: model.predict(path), "either", answers(model, (12, 20)))


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "2", None])
def test_bad_batch_sizes_are_refused(model, batch_size) -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    assert_ok("predict: arguments", lambda: model.predict(image, batch_size=batch_size), "typed", match="batch_size")


@pytest.mark.parametrize("tasks", [["nope"], "semseg ", [3], [None], []])
def test_bad_task_lists_are_refused(model, tasks) -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    assert_ok("predict: arguments", lambda: model.predict(image, tasks=tasks), "typed")


@pytest.mark.parametrize("size", [(1, 1), (1, 7), (7, 1), (2, 3), (31, 33), (1, 600), (600, 1)])
def test_features_of_small_and_thin_images(model, size) -> None:
    image = np.full((*size, 3), 128, np.uint8)

    def check(features) -> bool:
        return features.embedding.shape[0] == 1 and bool(torch.isfinite(features.embedding).all())

    assert_ok("features: small and thin images", lambda: model.features(image), "correct", check)
