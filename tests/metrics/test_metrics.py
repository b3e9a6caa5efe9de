"""Metrics checked against small cases whose answers are computed by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from medusa_zoo.errors import DatasetError, IncompatibleConfigError, UnknownTaskError
from medusa_zoo.metrics import (
    DepthMeter,
    EdgeMeter,
    NormalsMeter,
    SaliencyMeter,
    SegmentationMeter,
    delta_m,
    delta_m_from_meters,
    meter_for,
)
from medusa_zoo.metrics._edge_ops import maximum_matching_size, thin
from medusa_zoo.tasks import get_task

# ---------------------------------------------------------------- segmentation


def test_segmentation_2x2_with_ignore() -> None:
    meter = SegmentationMeter(3)
    meter.update(torch.tensor([[[0, 2], [2, 1]]]), torch.tensor([[[0, 1], [2, 255]]]))
    # class 0: tp 1 -> 1; class 1: fn 1 (its prediction sits on an ignored pixel) -> 0;
    # class 2: tp 1, fp 1 -> 1/2
    assert meter.compute() == pytest.approx({"mIoU": 50.0, "pixel_acc": 200 / 3})
    assert meter.per_class() == pytest.approx([100.0, 0.0, 50.0])


def test_segmentation_3x3_with_channel_dim() -> None:
    target = torch.tensor([[[0, 0, 1], [0, 1, 1], [255, 2, 2]]]).unsqueeze(1)
    pred = torch.tensor([[[0, 1, 1], [0, 1, 2], [2, 2, 2]]])
    meter = SegmentationMeter(3)
    meter.update(pred, target)
    # IoUs 2/3, 2/4, 2/3; 6 of 8 labelled pixels right
    assert meter.compute() == pytest.approx({"mIoU": 100 * 11 / 18, "pixel_acc": 75.0})


def test_segmentation_absent_class_excluded_or_zero() -> None:
    pred, target = torch.tensor([[[0, 2], [2, 1]]]), torch.tensor([[[0, 1], [2, 255]]])
    exclude, zero = SegmentationMeter(4), SegmentationMeter(4, absent="zero")
    exclude.update(pred, target)
    zero.update(pred, target)
    assert math.isnan(exclude.per_class()[3])
    assert exclude.compute()["mIoU"] == pytest.approx(50.0)
    assert zero.compute()["mIoU"] == pytest.approx(150 / 4)


def test_segmentation_batches_accumulate_like_one_pass() -> None:
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 5, (4, 9, 11), generator=g)
    target[target == 4] = 255
    pred = torch.randint(0, 4, (4, 9, 11), generator=g)
    split, whole = SegmentationMeter(4), SegmentationMeter(4)
    split.update(pred[:1], target[:1])
    split.update(pred[1:], target[1:])
    whole.update(pred, target)
    assert split.compute() == pytest.approx(whole.compute())
    split.reset()
    assert math.isnan(split.compute()["mIoU"])


def test_segmentation_rejects_bad_input() -> None:
    meter = SegmentationMeter(3)
    with pytest.raises(DatasetError, match=r"\(1, 2, 2\).*\(1, 3, 3\)"):
        meter.update(torch.zeros(1, 2, 2, dtype=torch.long), torch.zeros(1, 3, 3, dtype=torch.long))
    with pytest.raises(DatasetError, match="0..2"):
        meter.update(torch.zeros(1, 2, 2, dtype=torch.long), torch.full((1, 2, 2), 7))
    with pytest.raises(DatasetError, match=r"\(B, H, W\)"):
        meter.update(torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 2, dtype=torch.long))


# ---------------------------------------------------------------- depth


def test_depth_rmse_by_hand() -> None:
    meter = DepthMeter()
    pred = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    target = torch.tensor([[[[1.0, 0.0], [5.0, 255.0]]]])  # 0 and 255 are invalid
    meter.update(pred, target)
    result = meter.compute()
    assert result["rmse"] == pytest.approx(math.sqrt(2.0))  # errors 0 and 2
    assert result["log_rmse"] == pytest.approx(math.log(5 / 3) / math.sqrt(2.0))


def test_depth_pools_pixels_not_images() -> None:
    meter = DepthMeter()
    nan = float("nan")
    meter.update(torch.tensor([[[4.0, 1.0], [1.0, 1.0]]]), torch.tensor([[[1.0, 0.0], [nan, 0.0]]]))
    meter.update(torch.tensor([[[2.0, 2.0], [2.0, 9.0]]]), torch.tensor([[[1.0, 1.0], [1.0, 0.0]]]))
    # squared errors 9 | 1, 1, 1 over 4 pixels; per-image averaging would give (3 + 1) / 2
    assert meter.compute()["rmse"] == pytest.approx(math.sqrt(3.0))


def test_depth_log_clamps_zero_prediction() -> None:
    meter = DepthMeter()
    meter.update(torch.zeros(1, 1, 1), torch.ones(1, 1, 1))
    assert meter.compute()["log_rmse"] == pytest.approx(-math.log(1e-9))


# ---------------------------------------------------------------- normals


def normals_at_angles(degrees: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions tilted by ``degrees`` from a +z target, one pixel each: (1, 3, 1, N)."""
    a = torch.deg2rad(torch.tensor(degrees, dtype=torch.float64))
    pred = torch.stack([torch.sin(a), torch.zeros_like(a), torch.cos(a)]).view(1, 3, 1, -1)
    target = torch.zeros_like(pred)
    target[:, 2] = 1.0
    return pred, target


def test_normals_right_angle_and_identical() -> None:
    meter = NormalsMeter()
    pred, target = torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    pred[:, 0], target[:, 1] = 1.0, 1.0
    meter.update(pred, target)
    assert meter.compute() == pytest.approx(
        {"mean": 90.0, "median": 90.0, "rmse": 90.0, "within_11.25": 0.0, "within_22.5": 0.0, "within_30": 0.0},
        abs=0.01,
    )
    meter.reset()
    normals = torch.nn.functional.normalize(torch.randn(2, 3, 4, 5), dim=1)
    meter.update(normals, normals)
    result = meter.compute()
    assert result["mean"] == pytest.approx(0.0, abs=1e-5)
    assert result["within_11.25"] == 100.0


def test_normals_statistics_and_exact_median() -> None:
    pred, target = normals_at_angles([5.0, 10.0, 20.0, 85.0])
    target[..., :1] *= 3.0  # targets are normalised before comparing
    exact, binned = NormalsMeter(exact_median=True), NormalsMeter()
    exact.update(pred, target)
    binned.update(pred, target)
    result = exact.compute()
    assert result["median"] == pytest.approx(15.0, abs=1e-9)
    assert binned.compute()["median"] == pytest.approx(15.0, abs=0.01)
    assert result["mean"] == pytest.approx(30.0)
    assert result["rmse"] == pytest.approx(math.sqrt((25 + 100 + 400 + 85**2) / 4))
    assert (result["within_11.25"], result["within_22.5"], result["within_30"]) == pytest.approx((50, 75, 75))
    odd = NormalsMeter(exact_median=True)
    odd.update(*normals_at_angles([5.0, 10.0, 85.0]))
    assert odd.compute()["median"] == pytest.approx(10.0, abs=1e-9)


def test_normals_skip_invalid_and_zero_prediction_is_90() -> None:
    pred, target = normals_at_angles([0.0, 40.0, 40.0])
    target[0, :, 0, 1] = 0.0  # all zero: invalid
    target[0, 0, 0, 2] = 255.0  # ignore value: invalid
    pred[0, :, 0, 0] = 0.0  # a zero prediction is 90 degrees from anything
    meter = NormalsMeter()
    meter.update(pred, target)
    assert meter.compute()["mean"] == pytest.approx(90.0)
    with pytest.raises(DatasetError, match=r"\(B, 3, H, W\)"):
        meter.update(torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2))


# ---------------------------------------------------------------- saliency


def test_saliency_perfect_and_inverse() -> None:
    target = (torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    perfect, inverse = SaliencyMeter(), SaliencyMeter()
    perfect.update(target[:, 0], target)
    inverse.update(1 - target[:, 0], target)
    assert perfect.compute() == pytest.approx({"maxF": 100.0, "max_mIoU": 100.0})
    assert inverse.compute() == pytest.approx({"maxF": 0.0, "max_mIoU": 0.0})


def test_saliency_known_thresholds() -> None:
    meter = SaliencyMeter(thresholds=(0.3, 0.5, 0.7))
    pred = torch.tensor([[[0.9, 0.4, 0.6, 0.1, 0.9]]])
    target = torch.tensor([[[1.0, 1.0, 0.0, 0.0, 255.0]]])
    meter.update(pred, target)
    # t=0.3: tp 2 fp 1 -> IoU 2/3, F0.3 = 1.3*(2/3)/(0.3*(2/3)+1); t=0.5: IoU 1/3, F 1/2;
    # t=0.7: tp 1 fn 1 -> IoU 1/2, F0.3 = 1.3*0.5/(0.3+0.5) = 0.8125
    curve = meter.curve()
    assert curve["IoU"] == pytest.approx([200 / 3, 100 / 3, 50.0])
    assert curve["F"] == pytest.approx([100 * 1.3 * (2 / 3) / 1.2, 50.0, 81.25])
    assert meter.compute() == pytest.approx({"maxF": 81.25, "max_mIoU": 200 / 3})


def test_saliency_per_image_follows_reference_averaging() -> None:
    pred = torch.tensor([[[0.9, 0.1]], [[0.2, 0.1]]])
    target = torch.tensor([[[1.0, 0.0]], [[0.0, 0.0]]])
    pooled, per_image = SaliencyMeter(thresholds=(0.5,)), SaliencyMeter(thresholds=(0.5,), per_image=True)
    pooled.update(pred, target)
    per_image.update(pred, target)
    assert pooled.compute() == pytest.approx({"maxF": 100.0, "max_mIoU": 100.0})
    # image 2 is empty in both: IoU 1 but precision = recall = 0 -> mean P = R = 1/2
    assert per_image.compute() == pytest.approx({"maxF": 50.0, "max_mIoU": 100.0})


def test_saliency_reference_protocol_is_per_image_f1_on_fifteen_thresholds() -> None:
    reference = SaliencyMeter.protocol("reference")
    assert reference.thresholds.tolist() == pytest.approx(np.linspace(0.2, 0.9, 15).tolist())
    pred = torch.tensor([[[0.95, 0.3, 0.1, 0.1]], [[0.6, 0.6, 0.6, 0.1]]])
    target = torch.tensor([[[1.0, 1.0, 0.0, 0.0]], [[1.0, 0.0, 0.0, 0.0]]])
    reference.update(pred, target)
    best_f, best_iou = 0.0, 0.0
    for t in np.linspace(0.2, 0.9, 15):  # the reference: per image P, R, IoU; averaged; F1 of the means
        p_r_iou = []
        for p, g in zip(pred[:, 0].numpy(), target[:, 0].numpy() >= 0.5):
            m = p > t
            tp, fp, fn = (m & g).sum(), (m & ~g).sum(), (~m & g).sum()
            p_r_iou.append((tp / max(tp + fp, 1), tp / max(tp + fn, 1), tp / max(tp + fp + fn, 1)))
        precision, recall, iou = np.mean(p_r_iou, axis=0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        best_f, best_iou = max(best_f, f1), max(best_iou, iou)
    assert reference.compute() == pytest.approx({"maxF": 100 * best_f, "max_mIoU": 100 * best_iou})
    pooled = SaliencyMeter.protocol("pooled")  # the package's default meter
    assert (pooled.thresholds.numel(), pooled.beta_sq, pooled.per_image) == (99, 0.3, False)
    with pytest.raises(IncompatibleConfigError, match="reference"):
        SaliencyMeter.protocol("mti-net")


def test_saliency_threshold_is_strict_and_grid_validated() -> None:
    meter = SaliencyMeter(thresholds=(0.5,))
    meter.update(torch.tensor([[[0.5]]]), torch.tensor([[[1.0]]]))
    assert meter.compute()["max_mIoU"] == 0.0
    with pytest.raises(IncompatibleConfigError, match="increasing"):
        SaliencyMeter(thresholds=(0.5, 0.2))


# ---------------------------------------------------------------- edge


def vertical_lines(h: int = 96, w: int = 128, columns: tuple[int, ...] = (20, 70, 110)) -> torch.Tensor:
    """(1, 1, H, W) ground truth with 1-pixel vertical lines (rows 10..85)."""
    gt = torch.zeros(1, 1, h, w)
    for c in columns:
        gt[0, 0, 10:86, c] = 1.0
    return gt


@pytest.mark.parametrize("thin_maps", [True, False])
def test_edge_identical_shifted_and_empty(thin_maps: bool) -> None:
    gt = vertical_lines()  # diagonal 160 px: BSDS tolerance 1.2 px

    def ods(pred: torch.Tensor) -> float:
        meter = EdgeMeter(thin=thin_maps)
        meter.update(pred, gt)
        return meter.compute()["odsF"]

    assert ods(gt[:, 0]) == pytest.approx(100.0)
    assert ods(gt[:, 0].roll(1, dims=-1)) == pytest.approx(100.0)
    assert ods(gt[:, 0].roll(20, dims=-1)) < 10.0
    assert ods(torch.zeros(1, 96, 128)) == 0.0


def test_edge_blurred_ridge_is_thinned_to_a_match() -> None:
    gt = vertical_lines()
    x = torch.arange(128.0)
    ridge = sum(torch.exp(-((x - c) ** 2) / 8.0) for c in (20, 70, 110)).expand(96, 128).clone()
    ridge[:10], ridge[86:] = 0.0, 0.0
    meter = EdgeMeter(thin=False)
    meter.update(ridge[None], gt)
    assert meter.compute()["odsF"] > 95.0


def test_edge_precision_recall_by_hand_and_ignore() -> None:
    gt = vertical_lines(columns=(20,))
    pred = vertical_lines(columns=(20, 60))[:, 0]  # half the predicted pixels are false
    pred[0, 50:60, 100] = 1.0  # inside the ignored region below: does not count
    gt[0, 0, 40:70, 90:110] = 255.0
    meter = EdgeMeter()
    meter.update(pred, gt)
    curve = meter.curve()
    assert curve["precision"][0] == pytest.approx(50.0) and curve["recall"][0] == pytest.approx(100.0)
    assert meter.compute()["odsF"] == pytest.approx(200 / 3)


def test_edge_is_deterministic_and_batch_split_invariant() -> None:
    g = torch.Generator().manual_seed(3)
    gt = torch.cat([vertical_lines(), vertical_lines(columns=(40, 90))])
    pred = (gt[:, 0] * 0.5 + torch.rand(2, 96, 128, generator=g) * 0.6).clamp(0, 1)
    results = []
    for chunks in ([slice(0, 2)], [slice(0, 1), slice(1, 2)], [slice(0, 2)]):
        meter = EdgeMeter(tolerance=0.011)
        for s in chunks:
            meter.update(pred[s], gt[s])
        results.append(meter.compute()["odsF"])
    assert results[0] == results[1] == results[2]
    assert 0.0 < results[0] < 100.0


def test_maximum_matching_size_matches_assignment() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        adjacency = rng.random((12, 9)) < 0.2
        rows, cols = np.nonzero(adjacency)
        chosen_r, chosen_c = linear_sum_assignment(-adjacency.astype(float))
        expected = int(adjacency[chosen_r, chosen_c].sum())
        assert maximum_matching_size(rows, cols, 12, 9) == expected


def test_thinning_reduces_band_to_one_pixel() -> None:
    band = np.zeros((10, 30), dtype=bool)
    band[4:6, 3:27] = True
    skeleton = thin(band)
    assert skeleton.sum(axis=0).max() == 1 and skeleton.sum() >= 20
    line = np.zeros((5, 9), dtype=bool)
    line[2, 1:8] = True
    assert (thin(line) == line).all()


# ---------------------------------------------------------------- delta_m and factory


def test_delta_m_by_hand() -> None:
    multi = {"semseg": {"mIoU": 44.0}, "depth": {"rmse": 0.6}}
    single = {"semseg": {"mIoU": 40.0}, "depth": {"rmse": 0.5}}
    primary = {"semseg": ("mIoU", False), "depth": ("rmse", True)}
    assert delta_m(multi, single, primary) == pytest.approx((10.0 - 20.0) / 2)
    with pytest.raises(IncompatibleConfigError, match="'depth'"):
        delta_m(multi, {"semseg": {"mIoU": 40.0}}, primary)


def test_delta_m_from_meters() -> None:
    seg, depth = SegmentationMeter(2), DepthMeter()
    seg.update(torch.tensor([[[0, 1]]]), torch.tensor([[[0, 1]]]))  # mIoU 100
    depth.update(torch.tensor([[[2.0]]]), torch.tensor([[[1.0]]]))  # rmse 1
    single = {"seg": {"mIoU": 80.0}, "depth": {"rmse": 0.5}}
    assert delta_m_from_meters({"seg": seg, "depth": depth}, single) == pytest.approx((25.0 - 100.0) / 2)


def test_meter_for_maps_task_kinds() -> None:
    semseg = meter_for(get_task("semseg"))
    assert isinstance(semseg, SegmentationMeter) and semseg.num_classes == 40
    assert isinstance(meter_for(get_task("human_parts")), SegmentationMeter)
    assert isinstance(meter_for(get_task("depth")), DepthMeter)
    assert isinstance(meter_for(get_task("normals")), NormalsMeter)
    assert isinstance(meter_for(get_task("saliency")), SaliencyMeter)
    edge = meter_for(get_task("edge"), tolerance=0.011)
    assert isinstance(edge, EdgeMeter) and edge.tolerance == 0.011
    for name in ("semseg", "depth", "normals", "edge", "saliency"):
        task = get_task(name)
        assert meter_for(task).lower_is_better == task.lower_is_better
    with pytest.raises(UnknownTaskError, match="'optical_flow'"):
        meter_for(SimpleNamespace(kind="optical_flow", name="flow"))  # type: ignore[arg-type]


def _thin_every_pixel_every_pass(mask: np.ndarray) -> np.ndarray:
    """Textbook Zhang–Suen: every on-pixel re-examined in every sub-iteration until nothing changes."""
    from medusa_zoo.metrics._edge_ops import _NEIGHBOURS, _THIN_TABLES

    image = np.pad(mask.astype(bool), 1).astype(np.int64)
    changed = True
    while changed:
        changed = False
        for table in _THIN_TABLES:
            ys, xs = np.nonzero(image)
            code = sum(image[ys + dy, xs + dx] << bit for bit, (dy, dx) in enumerate(_NEIGHBOURS))
            delete = table[code]
            if delete.any():
                image[ys[delete], xs[delete]] = 0
                changed = True
    return image[1:-1, 1:-1].astype(bool)


@pytest.mark.parametrize("density", [0.2, 0.5, 0.8])
def test_incremental_thinning_equals_textbook_zhang_suen(density: float) -> None:
    rng = np.random.default_rng(int(density * 10))
    for _ in range(5):
        mask = rng.random((40, 56)) < density
        mask[8:30, 4:50] |= rng.random() < 0.5  # sometimes a thick block
        assert np.array_equal(thin(mask), _thin_every_pixel_every_pass(mask))
