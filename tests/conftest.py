"""Shared fixtures: small deterministic inputs and the target tensors each task trains on."""

from __future__ import annotations

import pytest
import torch

from medusa_zoo.tasks import Task


def make_targets(tasks: dict[str, Task], batch: int, size: tuple[int, int], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random labels of the right dtype and range for each task (with some ignored pixels)."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    targets = {}
    for name, task in tasks.items():
        if task.kind == "segmentation":
            t = torch.randint(0, task.out_channels, (batch, h, w), generator=g)
            t[:, 0, 0] = 255
        elif task.kind == "depth":
            t = torch.rand(batch, h, w, generator=g) * 5 + 0.5
        elif task.kind == "normals":
            t = torch.nn.functional.normalize(torch.randn(batch, 3, h, w, generator=g), dim=1)
        else:
            t = (torch.rand(batch, h, w, generator=g) > 0.8).float()
        targets[name] = t
    return targets


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
