"""Datasets, transforms and models together: every loader's samples train the same network code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, default_collate

import medusa_zoo
from medusa_zoo.data import NYUDv2, PascalContext, SynthRooms, eval_transforms, synthrooms_tasks, train_transforms
from medusa_zoo.losses import task_losses
from tests.fixtures_datasets import write_nyud_fixture, write_pascal_fixture

SIZE = (64, 96)


def signature(sample: dict) -> dict[str, tuple[torch.dtype, int, int]]:
    """dtype, rank and channel count of every tensor in a sample."""
    return {k: (v.dtype, v.ndim, v.shape[0]) for k, v in sample.items() if isinstance(v, torch.Tensor)}


def test_synthrooms_samples_look_exactly_like_the_real_loaders(tmp_path: Path) -> None:
    write_nyud_fixture(tmp_path / "nyud")
    write_pascal_fixture(tmp_path / "pascal")
    synth = signature(SynthRooms("val", size=2, resolution=(24, 32))[0])
    nyud = signature(NYUDv2(tmp_path / "nyud", "val")[0])
    pascal = signature(PascalContext(tmp_path / "pascal", "val")[0])
    for real in (nyud, pascal):
        for key, value in real.items():
            expected = synth["parts"] if key == "human_parts" else synth[key]
            assert value == expected, key
    assert set(synth) == {"image", "semseg", "depth", "normals", "edge", "saliency", "parts"}
    assert SynthRooms("val", size=1, resolution=(24, 32))[0]["meta"].keys() == NYUDv2(tmp_path / "nyud", "val")[0]["meta"].keys()


def test_a_synthrooms_batch_trains_a_medusa_network_on_all_six_tasks() -> None:
    torch.manual_seed(0)
    tasks = synthrooms_tasks()
    data = SynthRooms("train", size=4, resolution=SIZE, transform=train_transforms("synthrooms", SIZE))
    batch = next(iter(DataLoader(data, batch_size=2)))
    model = medusa_zoo.load("medusa_regnetx002", tasks=tasks, pretrained=False, device="cpu").train()
    targets = {t.name: batch[t.name] for t in tasks}
    losses = task_losses(model(batch["image"]), targets, {t.name: t for t in tasks})
    assert set(losses) == {t.name for t in tasks} and all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_a_synthrooms_model_round_trips_with_its_class_names(tmp_path: Path) -> None:
    model = medusa_zoo.load("mtl_regnetx002", tasks=synthrooms_tasks(["semseg", "parts"]), pretrained=False, device="cpu")
    loaded = medusa_zoo.load(f"local-dir:{model.save_pretrained(tmp_path)}", device="cpu")
    assert loaded.config.tasks == model.config.tasks
    assert loaded.tasks["parts"].labels[0] == "background" and loaded.tasks["semseg"].out_channels == 12


def test_eval_transforms_give_model_ready_batches() -> None:
    data = SynthRooms("val", size=2, resolution=(48, 64), transform=eval_transforms(SIZE))
    batch = default_collate([data[0], data[1]])
    assert batch["image"].dtype == torch.float32 and batch["image"].shape == (2, 3, *SIZE)
    assert batch["semseg"].dtype == torch.int64 and batch["semseg"].shape == (2, *SIZE)
    assert batch["depth"].shape == (2, 1, *SIZE) and batch["meta"]["index"].tolist() == [0, 1]


def test_unknown_synthrooms_task_is_refused() -> None:
    with pytest.raises(medusa_zoo.MedusaZooError, match="human_parts"):
        synthrooms_tasks(["human_parts"])


def test_every_synthrooms_label_scores_perfectly_against_itself_and_a_trivial_guess_does_not() -> None:
    from medusa_zoo.metrics import meter_for

    batch = default_collate([SynthRooms("val", size=3, resolution=(96, 128))[i] for i in range(3)])
    perfect = {"semseg": ("mIoU", 100.0), "parts": ("mIoU", 100.0), "depth": ("rmse", 0.0),
               "normals": ("mean", 0.0), "edge": ("odsF", 100.0), "saliency": ("maxF", 100.0)}  # fmt: skip
    for task in synthrooms_tasks():
        label = batch[task.name]
        exact = label.squeeze(1) if task.name not in ("normals",) else label
        if task.kind == "segmentation":
            trivial = torch.zeros_like(exact)  # one class everywhere
        elif task.kind == "depth":
            trivial = torch.full_like(exact, float(label[label > 0].mean()))
        elif task.kind == "normals":
            trivial = torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1, 1).expand_as(exact)
        else:
            trivial = torch.zeros_like(exact, dtype=torch.float32)  # no edges, nothing salient
        key, best = perfect[task.name]
        good, bad = meter_for(task), meter_for(task)
        good.update(exact.float() if task.kind in ("edge", "saliency") else exact, label)
        bad.update(trivial, label)
        assert good.compute()[key] == pytest.approx(best, abs=1e-3), task.name
        assert abs(bad.compute()[key] - best) > 1.0, task.name
