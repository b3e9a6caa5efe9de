"""Pictures of predictions: non-finite values never blank a map, and every legend shows the colours it explains."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medusa_zoo.models.explain import SCALE_COLOURS
from medusa_zoo.pictures import attention_with_legend, class_legend, task_legend, task_picture
from medusa_zoo.pictures.canvas import INK, MIN_WIDTH, display_width
from medusa_zoo.tasks import get_task
from medusa_zoo.tasks.colour import apply_colormap, label_palette
from medusa_zoo.tasks.colour_scale import NON_FINITE, colour_finite, depth_range, finite_range

INF, NAN = float("inf"), float("nan")


def colours(image) -> set[tuple[int, int, int]]:
    array = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image).reshape(-1, 3)
    return {tuple(int(c) for c in row) for row in np.unique(array, axis=0)}


# ---------------------------------------------------------------- colorize with ±inf and NaN


def test_depth_with_inf_and_nan_keeps_its_colours_and_marks_the_holes_grey() -> None:
    depth = torch.tensor([[1.0, 2.0, 3.0], [INF, NAN, 4.0]])
    picture = get_task("depth").colorize(depth)
    finite = [tuple(picture[0, 0]), tuple(picture[0, 1]), tuple(picture[0, 2]), tuple(picture[1, 2])]
    assert len(set(finite)) == 4, "one infinite pixel must not flatten the finite ones into one colour"
    assert tuple(picture[1, 0]) == tuple(picture[1, 1]) == tuple(NON_FINITE)
    assert tuple(picture[1, 2]) == tuple(apply_colormap(np.array(1.0))), "the farthest finite depth is yellow"


def test_depth_range_ignores_non_finite_values() -> None:
    low, high = depth_range(np.array([1.0, 2.0, INF, -INF, NAN, 0.0]))
    assert low == 0.0 and high == pytest.approx(np.percentile([1.0, 2.0], 99))
    assert depth_range(np.array([INF, NAN])) == (0.0, 1.0)


def test_regression_map_with_inf_is_not_blank() -> None:
    values = np.array([[-INF, 0.0, 1.0], [2.0, NAN, INF]])
    picture = colour_finite(values)
    assert finite_range(values) == (0.0, 2.0)
    assert len({tuple(picture[0, 1]), tuple(picture[0, 2]), tuple(picture[1, 0])}) == 3
    assert all(tuple(picture[i, j]) == tuple(NON_FINITE) for i, j in [(0, 0), (1, 1), (1, 2)])


def test_normals_colours_follow_the_axes_and_nan_is_grey() -> None:
    normals = torch.tensor([[[0.0, 0.0, NAN]], [[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]]])  # (3, 1, 3)
    picture = get_task("normals").colorize(normals)
    assert tuple(picture[0, 0]) == (128, 128, 255)  # facing the camera: lavender
    assert tuple(picture[0, 1]) == (128, 255, 128)  # pointing up (a floor): light green
    assert tuple(picture[0, 2]) == tuple(NON_FINITE)


def test_probability_nan_is_mid_grey_and_the_ends_black_and_white() -> None:
    picture = get_task("edge").colorize(torch.tensor([[0.0, 1.0, NAN]]))
    assert [tuple(p) for p in picture[0]] == [(0, 0, 0), (255, 255, 255), (128, 128, 128)]


# ---------------------------------------------------------------- legends


def test_class_legend_shows_the_colour_of_each_present_class_and_only_those() -> None:
    task = get_task("semseg")
    labels = torch.tensor([[1, 1, 5], [5, 7, 7]])
    legend = colours(class_legend(task, labels, 300))
    palette = label_palette(256)
    assert {tuple(int(c) for c in palette[k]) for k in (1, 5, 7)} <= legend
    assert tuple(int(c) for c in palette[2]) not in legend
    assert INK in legend, "the class names are written"


def test_depth_legend_is_a_colour_bar_from_near_to_far_with_a_hole_swatch() -> None:
    depth = torch.tensor([[1.0, INF], [2.0, 3.0]])
    with_holes = task_legend(get_task("depth"), depth, 300)
    near, far = (tuple(int(c) for c in apply_colormap(np.array(v))) for v in (0.0, 1.0))
    assert near in colours(with_holes) and far in colours(with_holes)
    swatch = (np.asarray(with_holes) == NON_FINITE).all(axis=2).sum()
    assert swatch >= 100, "a grey swatch explains the pixels without a value"
    no_holes = task_legend(get_task("depth"), torch.tensor([[1.0, 2.0]]), 300)
    assert no_holes.height < with_holes.height


def test_normals_key_is_a_sphere_of_normal_colours() -> None:
    legend = np.asarray(task_legend(get_task("normals"), torch.zeros(3, 2, 2) + 0.5, 300))
    reds, blues = legend[..., 0].astype(int), legend[..., 2].astype(int)
    assert (reds - blues > 100).any() and (blues - reds > 100).any(), (
        "right-facing red and camera-facing blue both shown"
    )


def test_probability_legend_runs_from_black_to_white() -> None:
    legend = colours(task_legend(get_task("saliency"), torch.rand(4, 4), 300))
    assert (0, 0, 0) in legend and (255, 255, 255) in legend and len(legend) > 100


def test_attention_legend_shows_each_scale_colour() -> None:
    weights = torch.zeros(4, 8, 8)
    weights[0, :4], weights[3, 4:] = 1.0, 1.0  # top half finest scale, bottom half coarsest
    image = attention_with_legend(weights, [4, 8, 16, 32], "semseg: attention")
    found = colours(image)
    assert all(tuple(int(c) for c in colour) in found for colour in SCALE_COLOURS[:4])


@pytest.mark.parametrize("width, shown", [(1, MIN_WIDTH), (60, 300), (500, 500), (5000, 1024)])
def test_display_width_enlarges_small_pictures_by_whole_factors_and_caps_large_ones(width: int, shown: int) -> None:
    assert display_width(width) == shown


def test_task_picture_puts_the_legend_under_the_enlarged_picture() -> None:
    prediction = torch.tensor([[0, 1], [2, 3]])
    image = task_picture(get_task("semseg"), prediction)
    assert image.width >= MIN_WIDTH and image.height > image.width // 2 + 30
    pixels = np.asarray(image)
    palette = label_palette(4)
    assert (pixels == palette[3]).all(axis=2).sum() > (MIN_WIDTH // 2) ** 2 // 2, "class 3's quarter is enlarged"


@pytest.mark.parametrize("channels", [1, 3])
def test_a_user_regression_head_with_inf_is_not_blank(channels: int) -> None:
    from medusa_zoo.tasks.regression import RegressionTask

    values = torch.arange(channels * 12, dtype=torch.float32).reshape(channels, 3, 4)
    values[:, 0, 0] = INF
    values[:, 1, 1] = NAN
    picture = RegressionTask(name="disparity", out_channels=channels).colorize(values[0] if channels == 1 else values)
    finite = [tuple(picture[i, j]) for i in range(3) for j in range(4) if (i, j) not in [(0, 0), (1, 1)]]
    assert len(set(finite)) == 10  # every finite value its own colour: one inf did not flatten the scale
    assert tuple(picture[0, 0]) == tuple(picture[1, 1]) == tuple(NON_FINITE)
