"""Task losses, post-processing, colouring and configs, checked against hand-computed values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from medusa_zoo.errors import IncompatibleConfigError, UnknownTaskError
from medusa_zoo.tasks import BUILTIN_TASKS, DepthTask, SegmentationTask, get_task, task_from_config
from medusa_zoo.tasks.colour import apply_colormap

NAN = float("nan")


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def seg3() -> SegmentationTask:
    return SegmentationTask("seg", 3, ("a", "b", "c"))


# ---------------------------------------------------------------- segmentation

# (1, 3, 2, 2) logits; per pixel the class scores are listed in the comments below.
SEG_LOGITS = torch.tensor(
    [[[[2.0, 0.0], [1.0, 5.0]], [[0.0, 1.0], [2.0, -5.0]], [[0.0, 0.0], [3.0, 0.0]]]]
)
SEG_TARGET = torch.tensor([[[0, 2], [2, 255]]])


def test_segmentation_loss_equals_hand_cross_entropy() -> None:
    e = math.e
    p00 = -math.log(e**2 / (e**2 + 1 + 1))  # scores (2, 0, 0), label 0
    p01 = -math.log(1 / (1 + e + 1))  # scores (0, 1, 0), label 2
    p10 = -math.log(e**3 / (e + e**2 + e**3))  # scores (1, 2, 3), label 2
    expected = (p00 + p01 + p10) / 3  # pixel (1, 1) is labelled 255
    assert seg3().loss(SEG_LOGITS, SEG_TARGET).item() == pytest.approx(expected, rel=1e-5)


def test_segmentation_loss_ignores_255_pixels() -> None:
    changed = SEG_LOGITS.clone()
    changed[0, :, 1, 1] = torch.tensor([-30.0, 40.0, 7.0])
    assert seg3().loss(changed, SEG_TARGET).item() == pytest.approx(seg3().loss(SEG_LOGITS, SEG_TARGET).item())


def test_segmentation_loss_accepts_target_with_channel_dim() -> None:
    flat = seg3().loss(SEG_LOGITS, SEG_TARGET)
    assert seg3().loss(SEG_LOGITS, SEG_TARGET[:, None]).item() == pytest.approx(flat.item())


def test_segmentation_loss_all_ignored_is_zero_not_nan() -> None:
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    loss = seg3().loss(logits, torch.full((1, 2, 2), 255))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_segmentation_postprocess_is_int64_argmax() -> None:
    pred = seg3().postprocess(SEG_LOGITS)
    assert pred.dtype == torch.int64 and pred.shape == (1, 2, 2)
    assert pred.tolist() == [[[0, 1], [2, 0]]]


def test_segmentation_colorize_uses_voc_palette() -> None:
    img = seg3().colorize(torch.tensor([[0, 1], [2, 0]]))
    assert img.shape == (2, 2, 3) and img.dtype == np.uint8
    assert tuple(img[0, 0]) == (0, 0, 0)
    assert tuple(img[0, 1]) == (128, 0, 0)
    assert tuple(img[1, 0]) == (0, 128, 0)
    assert len({tuple(img[0, 0]), tuple(img[0, 1]), tuple(img[1, 0])}) == 3


# ---------------------------------------------------------------- get_task / names


def test_get_task_num_classes_gives_generic_labels() -> None:
    task = get_task("semseg", num_classes=21)
    assert task.out_channels == 21
    assert task.labels == tuple(f"class_{i}" for i in range(21))


def test_get_task_labels_sets_class_count() -> None:
    task = get_task("semseg", labels=["sky", "road", "car"])
    assert task.out_channels == 3 and task.labels == ("sky", "road", "car")


def test_get_task_label_count_mismatch_raises() -> None:
    with pytest.raises(IncompatibleConfigError):
        get_task("semseg", num_classes=5, labels=["sky", "road", "car"])


def test_get_task_num_classes_on_depth_raises() -> None:
    with pytest.raises(IncompatibleConfigError):
        get_task("depth", num_classes=3)


def test_get_task_unknown_name_suggests_close_match() -> None:
    with pytest.raises(UnknownTaskError) as info:
        get_task("semseg2")
    assert "semseg" in info.value.suggestions


@pytest.mark.parametrize("bad", ["my task", "semseg-2", "2seg", ""])
def test_task_names_must_be_identifiers(bad: str) -> None:
    with pytest.raises(IncompatibleConfigError):
        SegmentationTask(bad, 3)
    with pytest.raises(IncompatibleConfigError):
        get_task("depth").renamed(bad)
    assert get_task("depth").renamed("depth_2").name == "depth_2"


# ---------------------------------------------------------------- depth


def test_depth_loss_is_masked_l1() -> None:
    logits = torch.tensor([[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]])
    target = torch.tensor([[[2.0, 0.0, 255.0], [3.5, NAN, 6.5]]])
    expected = (abs(1 - 2.0) + abs(4 - 3.5) + abs(6 - 6.5)) / 3  # 0, 255 and NaN excluded
    task = get_task("depth")
    assert task.loss(logits, target).item() == pytest.approx(expected)
    assert task.loss(logits, target[:, None]).item() == pytest.approx(expected)


def test_depth_loss_all_invalid_is_zero_and_differentiable() -> None:
    logits = torch.randn(1, 1, 2, 2, requires_grad=True)
    loss = get_task("depth").loss(logits, torch.tensor([[[0.0, NAN], [255.0, 0.0]]]))
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad is not None and torch.all(logits.grad == 0)


def test_depth_postprocess_clamps_negatives() -> None:
    out = get_task("depth").postprocess(torch.tensor([[[[-1.0, 2.0], [0.0, -0.5]]]]))
    assert out.shape == (1, 2, 2)
    assert out.tolist() == [[[0.0, 2.0], [0.0, 0.0]]]


@pytest.mark.parametrize("depth", [[[0.5, 1.0, 3.0], [0.0, 2.0, 9.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
def test_depth_colorize_shape_and_dtype(depth: list) -> None:
    img = get_task("depth").colorize(torch.tensor(depth))
    assert img.shape == (2, 3, 3) and img.dtype == np.uint8


# ---------------------------------------------------------------- normals


def test_normals_loss_zero_for_scaled_copy_of_target() -> None:
    target = torch.nn.functional.normalize(torch.tensor([[[[1.0, -2.0]], [[2.0, 0.5]], [[-2.0, 1.0]]]]), dim=1)
    assert get_task("normals").loss(5 * target, target).item() == pytest.approx(0.0, abs=1e-6)


def test_normals_loss_hand_value_and_zero_target_ignored() -> None:
    logits = torch.tensor([[[[3.0, 1.0]], [[0.0, 1.0]], [[0.0, 1.0]]]])  # pixel 0 -> (1, 0, 0)
    target = torch.tensor([[[[0.0, 0.0]], [[1.0, 0.0]], [[0.0, 0.0]]]])  # pixel 1 all zero
    # |1-0| + |0-1| + |0-0| = 2 on the only valid pixel
    assert get_task("normals").loss(logits, target).item() == pytest.approx(2.0)


def test_normals_postprocess_returns_unit_vectors() -> None:
    logits = torch.tensor([[[[3.0, -1.0]], [[4.0, 2.0]], [[0.0, 0.5]]]])
    out = get_task("normals").postprocess(logits)
    assert out.shape == (1, 3, 1, 2)
    assert torch.allclose(out.norm(dim=1), torch.ones(1, 1, 2), atol=1e-5)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([0.6, 0.8, 0.0]))


# ---------------------------------------------------------------- edge / saliency

BIN_LOGITS = torch.tensor([[[[0.0, 1.0], [-1.0, 2.0]]]])
BIN_TARGET = torch.tensor([[[1.0, 0.0], [0.0, 255.0]]])  # 1 positive, 2 negatives, 1 ignored


def hand_balanced_bce(w: float) -> float:
    pos = -math.log(sigmoid(0.0))
    neg = -math.log(1 - sigmoid(1.0)) - math.log(1 - sigmoid(-1.0))
    return (w * pos + (1 - w) * neg) / 3


@pytest.mark.parametrize(("name", "w"), [("edge", 0.95), ("saliency", 2 / 3)])
def test_binary_loss_equals_hand_balanced_bce(name: str, w: float) -> None:
    task = get_task(name)
    assert task.loss(BIN_LOGITS, BIN_TARGET).item() == pytest.approx(hand_balanced_bce(w), rel=1e-5)
    assert task.loss(BIN_LOGITS, BIN_TARGET[:, None]).item() == pytest.approx(hand_balanced_bce(w), rel=1e-5)


@pytest.mark.parametrize("name", ["edge", "saliency"])
def test_binary_loss_ignores_255_pixels(name: str) -> None:
    changed = BIN_LOGITS.clone()
    changed[0, 0, 1, 1] = -40.0
    task = get_task(name)
    assert task.loss(changed, BIN_TARGET).item() == pytest.approx(task.loss(BIN_LOGITS, BIN_TARGET).item())


@pytest.mark.parametrize("name", ["edge", "saliency"])
def test_binary_postprocess_is_sigmoid(name: str) -> None:
    out = get_task(name).postprocess(torch.tensor([[[[0.0, math.log(3.0)]]]]))
    assert out.shape == (1, 1, 2)
    assert torch.allclose(out, torch.tensor([[[0.5, 0.75]]]))


# ---------------------------------------------------------------- configs


@pytest.mark.parametrize("name", BUILTIN_TASKS.names())
def test_config_round_trip(name: str) -> None:
    task = get_task(name)
    rebuilt = task_from_config(json.loads(json.dumps(task.to_config())))
    assert rebuilt == task and type(rebuilt) is type(task)


def test_config_unknown_kind_raises() -> None:
    with pytest.raises(UnknownTaskError):
        task_from_config({"name": "x", "kind": "evil", "out_channels": 1})


@pytest.mark.parametrize("missing", ["name", "kind", "out_channels"])
def test_config_missing_field_raises(missing: str) -> None:
    config = {"name": "d", "kind": "depth", "out_channels": 1}
    del config[missing]
    with pytest.raises(IncompatibleConfigError):
        task_from_config(config)


def test_config_depth_with_two_channels_raises() -> None:
    with pytest.raises(IncompatibleConfigError):
        task_from_config({"name": "depth", "kind": "depth", "out_channels": 2})
    with pytest.raises(IncompatibleConfigError):
        DepthTask("depth", 2)


# ---------------------------------------------------------------- colour map


def test_apply_colormap_endpoints_and_nan() -> None:
    img = apply_colormap(np.array([[0.0, 1.0], [NAN, 7.0]]))
    assert img.shape == (2, 2, 3) and img.dtype == np.uint8
    assert tuple(img[0, 0]) == (68, 1, 84)
    assert tuple(img[0, 1]) == (253, 231, 37)
    assert tuple(img[1, 0]) == (68, 1, 84)  # NaN -> 0
    assert tuple(img[1, 1]) == (253, 231, 37)  # clipped to 1


def test_float_out_channels_in_config_is_refused() -> None:
    with pytest.raises(IncompatibleConfigError, match="integer"):
        task_from_config({"name": "seg", "kind": "segmentation", "out_channels": 3.7})
