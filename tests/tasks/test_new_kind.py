"""A task kind registered from outside the package works everywhere: one class, one registration.

The kind below (inverse depth, 1/metres, NaN where there is no depth) is defined here, registered
with ``register_kind`` and then used only through the normal entry points: building a network,
``add_task``, ``finetune`` (training), ``evaluate``, the trivial baselines, saving and loading.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision import tv_tensors

import medusa_zoo
from medusa_zoo.data import SynthRooms
from medusa_zoo.labels import valid_values
from medusa_zoo.metrics import RegressionMeter, meter_for
from medusa_zoo.tasks import ChannelMean, Task, make_task, register_kind, unregister_kind
from medusa_zoo.training import evaluate
from medusa_zoo.training.data import Transformed, collate
from medusa_zoo.training.trivial import evaluate_trivial, fit_from_samples
from tests.conftest import make_targets

RESOLUTION = (32, 48)


@dataclass(frozen=True)
class InverseDepthTask(Task):
    """1 / depth per pixel (NaN = no depth): L1 loss, raw output, RMSE, the mean as baseline."""

    kind = "inverse_depth"
    fixed_channels = 1
    lower_is_better = True

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.float().reshape(logits.shape[0], 1, *logits.shape[-2:])
        valid = self.valid_mask(target)
        if not valid.any():
            return logits.sum() * 0.0
        return F.l1_loss(logits[:, 0][valid], target[:, 0][valid])

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return logits[:, 0].float()

    def colorize(self, prediction: torch.Tensor) -> np.ndarray:
        grey = (prediction.clamp(0, 1).numpy() * 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)

    def valid_mask(self, target: torch.Tensor) -> torch.Tensor:
        return valid_values(target.reshape(target.shape[0], 1, *target.shape[-2:]))

    def meter(self, **options: Any) -> RegressionMeter:
        return RegressionMeter(1, **options)

    def baseline(self, statistic: Mapping[str, Any] | None = None) -> ChannelMean:
        return ChannelMean(self, statistic)

    def example_target(self, batch: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        target = torch.rand(batch, 1, *size, generator=generator) + 0.1
        target[:, :, 0, 0] = float("nan")
        return target


@pytest.fixture
def kind() -> Iterator[type[Task]]:
    register_kind(InverseDepthTask)
    yield InverseDepthTask
    unregister_kind(InverseDepthTask.kind)


class WithInverseDepth(torch.utils.data.Dataset):
    """SynthRooms samples with an ``inverse_depth`` label derived from their depth."""

    def __init__(self, split: str, size: int) -> None:
        self.rooms = SynthRooms(split, size=size, resolution=RESOLUTION, tasks=["depth"])

    def __len__(self) -> int:
        return len(self.rooms)

    def __getitem__(self, index: int) -> dict:
        sample = dict(self.rooms[index])
        depth = sample.pop("depth").as_subclass(torch.Tensor)
        sample["inverse_depth"] = tv_tensors.Mask(torch.where(depth > 0, 1.0 / depth.clamp(min=1e-6), float("nan")))
        return sample


def test_a_registered_kind_builds_trains_evaluates_and_has_a_trivial_baseline(kind, tmp_path: Path) -> None:
    task = make_task("inverse_depth", kind="inverse_depth")
    assert isinstance(task, InverseDepthTask) and meter_for(task).primary == "rmse"
    torch.manual_seed(0)
    model = medusa_zoo.load("mtl_regnetx002", tasks=[task], pretrained=False, device="cpu")
    targets = make_targets(model.tasks, 2, RESOLUTION)
    assert targets["inverse_depth"].shape == (2, 1, *RESOLUTION)

    train, val = WithInverseDepth("train", 4), WithInverseDepth("val", 3)
    result = medusa_zoo.finetune(model, "inverse_depth", train, val, steps=3, batch_size=2, lr=1e-3,
                                 device="cpu", progress=False)
    assert len(result.history) == 3 and all(np.isfinite(h["loss"]) for h in result.history)
    assert set(result.metrics) == {"rmse", "mae"} and np.isfinite(result.metrics["rmse"])

    loader = torch.utils.data.DataLoader(Transformed(val, _normalise(model)), batch_size=2, collate_fn=collate)
    assert evaluate(model, loader, None)["inverse_depth"] == pytest.approx(result.metrics)

    predictor = fit_from_samples((train[i] for i in range(len(train))), [task])
    statistic = predictor.statistics["inverse_depth"]
    pooled = np.concatenate([train[i]["inverse_depth"].numpy().ravel() for i in range(len(train))])
    assert statistic["kind"] == "inverse_depth" and statistic["mean"] == [pytest.approx(np.nanmean(pooled))]
    trivial = evaluate_trivial(predictor, val, "synthrooms")["inverse_depth"]
    held = np.concatenate([val[i]["inverse_depth"].numpy().ravel() for i in range(len(val))])
    held = held[np.isfinite(held)]
    assert trivial["rmse"] == pytest.approx(np.sqrt(np.mean((held - np.nanmean(pooled)) ** 2)), rel=1e-6)

    model.save_pretrained(tmp_path / "saved")
    again = medusa_zoo.load(f"local-dir:{tmp_path / 'saved'}", device="cpu")
    assert again.tasks["inverse_depth"] == task
    other = medusa_zoo.load("medusa_regnetx002", tasks=["semseg"], pretrained=False, device="cpu")
    assert isinstance(other.add_task("disparity", kind="inverse_depth"), InverseDepthTask)


def test_an_unregistered_kind_cannot_be_loaded(tmp_path: Path) -> None:
    with pytest.raises(medusa_zoo.UnknownTaskError, match="inverse_depth"):
        make_task("inverse_depth", kind="inverse_depth")


def _normalise(model: medusa_zoo.MultiTaskNet):
    from medusa_zoo.data.transforms import ToModelInput

    return ToModelInput.from_preprocessing(model.config.preprocessing)
