"""Adding, removing and freezing task heads, and head-only files (models/task_heads.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import medusa_zoo
from medusa_zoo.errors import (
    CheckpointError,
    DuplicateNameError,
    HeadMismatchError,
    IncompatibleConfigError,
    UnknownTaskError,
)
from medusa_zoo.metrics import meter_for

ARCHS = ["medusa_regnetx002", "mtl_regnetx002", "mtinet_regnetx002", "padnet_regnetx002"]


def build(arch: str, seed: int = 0) -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(seed)
    model = medusa_zoo.load(arch, tasks=["semseg", "depth"], pretrained=False).eval()
    with torch.no_grad():  # random BatchNorm statistics, so that a changed buffer changes the outputs
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model


def images() -> torch.Tensor:
    return torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("arch", ARCHS)
def test_adding_and_removing_tasks_leaves_the_other_outputs_bit_identical(arch: str) -> None:
    model = build(arch)
    before = model(images()).logits
    model.add_task("normals")
    model.add_task("albedo", kind="dense_regression", out_channels=3)
    middle = model(images()).logits
    assert set(middle) == {"semseg", "depth", "normals", "albedo"}
    assert middle["albedo"].shape == (2, 3, 64, 96) and middle["normals"].shape == (2, 3, 64, 96)
    model.remove_task("normals")
    after = model(images()).logits
    assert set(after) == {"semseg", "depth", "albedo"}
    for name in before:
        assert torch.equal(before[name], middle[name]) and torch.equal(before[name], after[name])
    assert [t.name for t in model.config.tasks] == ["semseg", "depth", "albedo"]


@pytest.mark.parametrize("arch", ["medusa_regnetx002", "mtinet_regnetx002"])
def test_a_model_with_an_added_task_saves_and_loads_like_any_other(arch: str, tmp_path: Path) -> None:
    model = build(arch)
    model.add_task("rooms", kind="dense_classification", out_channels=4)
    model.save_pretrained(tmp_path)
    again = medusa_zoo.load(f"local-dir:{tmp_path}")
    assert list(again.tasks) == ["semseg", "depth", "rooms"]
    for name, value in model(images()).logits.items():
        assert torch.equal(value, again(images()).logits[name])
    if arch.startswith("mtinet"):
        assert again.config.head_options["attached"] == ["rooms"]


def test_task_kinds_pick_loss_postprocessing_and_metric() -> None:
    model = build("medusa_regnetx002")
    classes = model.add_task("rooms", kind="dense_classification", out_channels=5)
    values = model.add_task("flow", kind="dense_regression", out_channels=2)
    edges = model.add_task("contours", kind="edge")
    assert (classes.kind, classes.out_channels, classes.labels[0]) == ("segmentation", 5, "class_0")
    assert (values.kind, values.out_channels) == ("dense_regression", 2)
    assert (edges.kind, edges.name) == ("edge", "contours")
    out = model.predict(torch.rand(3, 64, 96))
    assert out["rooms"].dtype == torch.int64 and out["rooms"].max() < 5
    assert out["flow"].shape == (2, 64, 96) and out["contours"].shape == (64, 96)
    assert type(meter_for(values)).__name__ == "RegressionMeter"
    target = torch.zeros(1, 2, 4, 4)
    target[0, 1, 0, 0] = float("nan")  # that pixel is unlabelled
    logits = torch.ones(1, 2, 4, 4)
    assert values.loss(logits, target).item() == pytest.approx(1.0)
    meter = meter_for(values)
    meter.update(values.postprocess(logits), target)
    assert meter.compute() == {"rmse": pytest.approx(1.0), "mae": pytest.approx(1.0)}
    assert meter.count == 2 * 15  # 15 labelled pixels, 2 channels each


def test_bad_add_and_remove_requests_raise_typed_errors() -> None:
    model = build("medusa_regnetx002")
    with pytest.raises(DuplicateNameError, match="already has a task 'depth'"):
        model.add_task("depth")
    with pytest.raises(UnknownTaskError, match="dense_regression"):
        model.add_task("x", kind="dense_magic")
    with pytest.raises(IncompatibleConfigError, match="out_channels"):
        model.add_task("x", kind="dense_regression")
    with pytest.raises(IncompatibleConfigError, match="out_channels"):
        model.add_task("x", kind="dense_classification")
    with pytest.raises(UnknownTaskError):
        model.remove_task("normals")
    model.remove_task("depth")
    with pytest.raises(IncompatibleConfigError, match="only task"):
        model.remove_task("semseg")
    coupled = build("mtinet_regnetx002")
    with pytest.raises(IncompatibleConfigError, match="jointly"):
        coupled.remove_task("depth")
    single = medusa_zoo.load("stl_regnetx002", tasks=["depth"], pretrained=False)
    with pytest.raises(IncompatibleConfigError, match="multi-task head"):
        single.add_task("normals")
    assert list(model.tasks) == ["semseg"] and list(single.tasks) == ["depth"]  # nothing changed on failure


@pytest.mark.parametrize("arch", ["medusa_regnetx002", "mtinet_regnetx002"])
def test_freeze_leaves_only_the_new_head_trainable_and_batchnorm_in_eval(arch: str) -> None:
    model = build(arch)
    model.add_task("normals")
    summary = model.freeze(train=["normals"])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".normals" in n for n in trainable)
    assert summary.trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert summary.trainable + summary.frozen == sum(p.numel() for p in model.parameters())
    assert "normals" in str(summary) and f"{summary.trainable:,}" in str(summary)
    model.train()
    norms = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert all(m.training == (".normals" in n) for n, m in norms.items())
    frozen = {k: v.clone() for k, v in model.state_dict().items() if ".normals" not in k}
    model(images())  # a forward pass in train mode updates only the trainable BatchNorms
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in frozen.items())
    model.unfreeze()
    assert all(p.requires_grad for p in model.parameters()) and all(m.training for m in norms.values())


def test_head_only_file_round_trip(tmp_path: Path) -> None:
    model = build("medusa_regnetx002")
    torch.manual_seed(5)
    model.add_task("normals")
    path = model.save_head("normals", tmp_path / "normals")
    record = json.loads((path / "head.json").read_text())
    assert record["task"]["kind"] == "normals" and record["trunk"]["sha256"] == model.trunk_fingerprint()
    assert (path / "head.safetensors").stat().st_size < 5_000_000
    fresh = build("medusa_regnetx002")  # same seed: the same trunk
    task = fresh.load_head(path)
    assert task.name == "normals"
    assert torch.equal(fresh(images()).logits["normals"], model(images()).logits["normals"])
    again = build("mtinet_regnetx002")
    again.add_task("normals")
    again.save_head("normals", tmp_path / "coupled")
    other = build("mtinet_regnetx002")
    other.load_head(tmp_path / "coupled")
    assert torch.equal(other(images()).logits["normals"], again(images()).logits["normals"])


def test_a_head_refuses_another_trunk(tmp_path: Path) -> None:
    model = build("medusa_regnetx002")
    model.add_task("normals")
    model.save_head("normals", tmp_path)
    stranger = build("medusa_regnetx002", seed=1)
    with pytest.raises(HeadMismatchError, match="different trunk"):
        stranger.load_head(tmp_path)
    with pytest.raises(HeadMismatchError, match="'medusa' head"):
        build("mtl_regnetx002").load_head(tmp_path)
    assert list(stranger.tasks) == ["semseg", "depth"]
    fingerprint = model.trunk_fingerprint()
    model.remove_task("normals")
    model.add_task("edge")  # heads come and go; the trunk is the same
    assert model.trunk_fingerprint() == fingerprint
    with torch.no_grad():
        model.backbone.parameters().__next__().add_(1e-3)
    assert model.trunk_fingerprint() != fingerprint


def test_damaged_head_files_raise_checkpoint_errors(tmp_path: Path) -> None:
    model = build("medusa_regnetx002")
    model.add_task("normals")
    model.save_head("normals", tmp_path)
    model.remove_task("normals")
    weights = tmp_path / "head.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="sha256"):
        model.load_head(tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        model.load_head(tmp_path / "missing")
    assert "normals" not in model.tasks
