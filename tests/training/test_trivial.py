"""Trivial predictors (majority class, mean depth, mean normal, all-positive maps): fitting and scoring."""

from __future__ import annotations

import json
import math
import shlex

import numpy as np
import pytest
import torch

from medusa_zoo.errors import UnknownTaskError
from medusa_zoo.metrics import EdgeMeter, SaliencyMeter, SegmentationMeter
from medusa_zoo.tasks import Task, get_task
from medusa_zoo.training.data import build_dataset, collate, dataset_tasks
from medusa_zoo.cli import main
from medusa_zoo.training.trivial import evaluate_trivial, fit_from_samples, fit_trivial

TASKS = ["semseg", "depth", "normals", "edge", "saliency", "parts"]
OPTIONS = {"seed": 0, "resolution": [32, 48]}


@pytest.fixture(scope="module")
def predictor():
    return fit_trivial("synthrooms", TASKS, OPTIONS, images=4)


@pytest.fixture(scope="module")
def val():
    return build_dataset("synthrooms", "val", TASKS, OPTIONS, images=3)


def _stack(data, key):
    return np.stack([np.asarray(data[i][key]) for i in range(len(data))]).astype(np.float64)


# ------------------------------------------------------------------ hand-made targets
def test_majority_class_pools_labelled_pixels_only():
    task = get_task("semseg", num_classes=3)
    samples = [
        {"semseg": torch.tensor([[2, 2], [2, 1]])},
        {"semseg": torch.tensor([[1, 1, 1, 1], [1, 0, 0, 255]])},
        {"semseg": torch.full((4, 4), 255)},  # unlabelled: 16 ignore pixels, no class
    ]
    stat = fit_from_samples(samples, [task]).statistics["semseg"]
    assert stat["class"] == 1  # class 1: 6 pixels, class 2: 3, class 0: 2
    assert stat["pixels"] == 11
    assert stat["fraction"] == pytest.approx(6 / 11)


def test_majority_constant_scores_as_computed_by_hand():
    task = get_task("semseg", num_classes=3)
    predictor = fit_from_samples([{"semseg": torch.tensor([[0, 0], [0, 1]])}], [task])
    target = [{"semseg": torch.tensor([[0, 0], [0, 1]])}]
    values = evaluate_trivial(predictor, target, "synthrooms")["semseg"]
    # class 0: tp 3, fp 1 (the class-1 pixel) -> IoU 3/4; class 1: IoU 0; class 2 absent -> excluded
    assert values["mIoU"] == pytest.approx(37.5)
    assert values["pixel_acc"] == pytest.approx(75.0)


def test_mean_depth_over_valid_pixels_and_its_rmse():
    task = get_task("depth")
    samples = [
        {"depth": torch.tensor([[[1.0, 3.0], [0.0, 0.0]]])},  # zeros: no measurement
        {"depth": torch.tensor([[[5.0, float("nan")]]])},
    ]
    predictor = fit_from_samples(samples, [task])
    assert predictor.statistics["depth"]["mean"] == pytest.approx(3.0)  # (1 + 3 + 5) / 3, not 9 / 6
    values = evaluate_trivial(predictor, samples[:1], "synthrooms")["depth"]
    assert values["rmse"] == pytest.approx(math.sqrt((4 + 0) / 2))


def test_mean_normal_direction_and_its_angle():
    task = get_task("normals")
    normals = torch.zeros(3, 1, 3)
    normals[:, 0, 0] = torch.tensor([1.0, 0.0, 0.0])
    normals[:, 0, 1] = torch.tensor([0.0, 2.0, 0.0])  # normalised before averaging
    # pixel (0, 2) stays all zero: invalid
    predictor = fit_from_samples([{"normals": normals}], [task])
    stat = predictor.statistics["normals"]
    assert stat["direction"] == pytest.approx([2**-0.5, 2**-0.5, 0.0])
    assert stat["pixels"] == 2
    assert stat["resultant_length"] == pytest.approx(2**-0.5)
    values = evaluate_trivial(predictor, [{"normals": normals}], "synthrooms")["normals"]
    assert values["mean"] == pytest.approx(45.0)


def test_unknown_task_kind_is_refused():
    with pytest.raises(UnknownTaskError):
        fit_from_samples([{"x": torch.zeros(2, 2)}], [Task("x", 1)])


# ------------------------------------------------------------------ SynthRooms
def test_fitted_on_train_split_statistics_match_direct_computation(predictor):
    train = build_dataset("synthrooms", "train", TASKS, OPTIONS, images=4)
    assert predictor.split == "train" and predictor.fit_images == 4
    tasks = {t.name: t for t in dataset_tasks("synthrooms", TASKS)}
    for name in ("semseg", "parts"):
        labels = _stack(train, name).astype(np.int64).ravel()
        counts = np.bincount(labels[labels != 255], minlength=tasks[name].out_channels)
        assert predictor.statistics[name]["class"] == int(np.argmax(counts))
        assert predictor.statistics[name]["fraction"] == pytest.approx(counts.max() / counts.sum())
    depth = _stack(train, "depth")
    assert predictor.statistics["depth"]["mean"] == pytest.approx(depth[depth > 0].mean(), rel=1e-12)
    normals = np.moveaxis(_stack(train, "normals"), 1, -1).reshape(-1, 3)
    normals = normals[np.abs(normals).sum(1) > 0]
    mean = (normals / np.linalg.norm(normals, axis=1, keepdims=True)).sum(0)
    assert predictor.statistics["normals"]["direction"] == pytest.approx(mean / np.linalg.norm(mean), abs=1e-9)
    # a val fit would differ: the statistics come from the train split
    val_depth = _stack(build_dataset("synthrooms", "val", ["depth"], OPTIONS, images=4), "depth")
    assert val_depth[val_depth > 0].mean() != pytest.approx(predictor.statistics["depth"]["mean"], rel=1e-6)


def test_constant_normal_mean_angle_matches_direct_computation(predictor, val):
    values = evaluate_trivial(predictor, val, "synthrooms")["normals"]
    direction = np.asarray(predictor.statistics["normals"]["direction"], dtype=np.float32).astype(np.float64)
    direction /= np.linalg.norm(direction)
    target = np.moveaxis(_stack(val, "normals"), 1, -1).reshape(-1, 3)
    target = target[np.abs(target).sum(1) > 0]
    target /= np.linalg.norm(target, axis=1, keepdims=True)
    angles = np.degrees(np.arccos(np.clip(target @ direction, -1.0, 1.0)))
    assert values["mean"] == pytest.approx(angles.mean(), abs=1e-6)
    assert values["median"] == pytest.approx(np.median(angles), abs=0.01)
    assert values["within_30"] == pytest.approx(100.0 * (angles < 30).mean(), abs=1e-6)


def test_edge_and_saliency_constants_are_the_all_positive_map(predictor, val):
    values = evaluate_trivial(predictor, val, "synthrooms")
    batch = collate([val[i] for i in range(len(val))])
    target = batch["saliency"][:, 0]
    labelled = target != 255
    positive = ((target >= 0.5) & labelled).sum().item()
    # every labelled pixel predicted salient: IoU = positives / labelled, precision the same, recall 1
    iou = positive / labelled.sum().item()
    assert values["saliency"]["max_mIoU"] == pytest.approx(100 * iou)
    assert values["saliency"]["maxF"] == pytest.approx(100 * 1.3 * iou / (0.3 * iou + 1))
    # no constant does better: the empty map scores 0, and any constant is all or nothing per threshold
    empty = SaliencyMeter()
    empty.update(torch.zeros_like(target), batch["saliency"])
    assert empty.compute()["max_mIoU"] == 0.0 < values["saliency"]["max_mIoU"]
    assert values["edge"]["odsF"] > 0
    batch = collate([val[i] for i in range(len(val))])
    edge, saliency = EdgeMeter(), SaliencyMeter()
    edge.update(batch["edge"][:, 0], batch["edge"])
    saliency.update(batch["saliency"][:, 0], batch["saliency"])
    assert edge.compute()["odsF"] > 90
    assert saliency.compute()["max_mIoU"] == pytest.approx(100.0)


def test_trivial_miou_is_far_below_a_perfect_predictor(predictor, val):
    values = evaluate_trivial(predictor, val, "synthrooms")
    batch = collate([val[i] for i in range(len(val))])
    for name, classes in (("semseg", 12), ("parts", 7)):
        perfect = SegmentationMeter(classes)
        perfect.update(batch[name], batch[name])
        assert perfect.compute()["mIoU"] == pytest.approx(100.0)
        assert values[name]["mIoU"] < 50
        # pixel accuracy of a constant is its class's share of the labelled pixels
        labels = batch[name][batch[name] != 255]
        share = (labels == predictor.statistics[name]["class"]).double().mean() * 100
        assert values[name]["pixel_acc"] == pytest.approx(float(share))


def test_loader_and_dataset_and_batching_agree(predictor, val):
    direct = evaluate_trivial(predictor, val, "synthrooms", batch_size=3)
    loader = torch.utils.data.DataLoader(val, batch_size=1, collate_fn=collate)
    batched = evaluate_trivial(predictor, loader, "synthrooms")
    assert list(batched) == TASKS
    for name in TASKS:
        assert batched[name] == pytest.approx(direct[name], rel=1e-12)


def test_command_line_writes_results(tmp_path, capsys):
    out = tmp_path / "trivial.json"
    argv = ["--recipe", "synthrooms_regnetx002", "--fit-images", "2", "--images", "2", "--out", str(out), "--no-progress"]
    assert main(["trivial", *argv]) == 0
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["format"] == "medusa_zoo.results/1" and doc["kind"] == "trivial"
    assert (doc["dataset"], doc["split"], doc["images"], doc["fit_images"]) == ("synthrooms", "val", 2, 2)
    assert list(doc["values"]) == TASKS and list(doc["statistics"]) == TASKS
    assert doc["constants"]["saliency"].startswith("all positive") and doc["values"]["saliency"]["max_mIoU"] > 0
    assert doc["command"] == "python -m medusa_zoo trivial " + shlex.join(argv)
    assert "semseg" in printed and "mIoU" in printed and "majority class" in printed
    assert doc["constants"]["depth"].startswith("mean depth")
