"""One validity rule per target family, read by the task's loss and mask, its meter and its baseline alike."""

from __future__ import annotations

import torch

from medusa_zoo.labels import IGNORE_INDEX, labelled, valid_depth, valid_normals, valid_values
from medusa_zoo.tasks import get_task, make_task

NAN, INF = float("nan"), float("inf")


def test_depth_is_valid_where_finite_positive_and_not_ignored() -> None:
    target = torch.tensor([[[2.0, 0.0, NAN, float(IGNORE_INDEX), -1.0, INF]]])
    assert valid_depth(target).tolist() == [[[True, False, False, False, False, False]]]
    task = get_task("depth")
    assert torch.equal(task.valid_mask(target), valid_depth(target))
    meter = task.meter()
    meter.update(torch.ones(1, 1, 6), target)
    baseline = task.baseline()
    baseline.add(target[0])
    assert meter.count == baseline.count == 1


def test_normals_need_a_finite_nonzero_vector_without_ignored_components() -> None:
    vectors = [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [NAN, 0.0, 1.0], [float(IGNORE_INDEX), 0.0, 0.0], [1.0, 1.0, 0.0]]
    target = torch.tensor(vectors).T.reshape(1, 3, 1, 5)
    assert valid_normals(target).tolist() == [[[True, False, False, False, True]]]
    assert torch.equal(valid_normals(target[0], dim=0), valid_normals(target)[0])
    assert torch.equal(get_task("normals").valid_mask(target), valid_normals(target))


def test_class_and_binary_maps_ignore_the_ignore_index_only() -> None:
    target = torch.tensor([[[0, 3, IGNORE_INDEX, 254]]])
    assert labelled(target).tolist() == [[[True, True, False, True]]]
    assert torch.equal(get_task("semseg").valid_mask(target), labelled(target))
    assert torch.equal(get_task("edge").valid_mask(target[:, None].float()), labelled(target))


def test_regression_pixels_need_every_channel_finite() -> None:
    target = torch.tensor([[[[1.0, NAN, 3.0]], [[1.0, 2.0, INF]]]])  # (1, 2, 1, 3)
    assert valid_values(target).tolist() == [[[True, False, False]]]
    assert torch.equal(make_task("flow", "dense_regression", 2).valid_mask(target), valid_values(target))
