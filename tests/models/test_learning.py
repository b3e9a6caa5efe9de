"""A wiring check that timing cannot flake: each design can fit one small batch."""

from __future__ import annotations

import pytest
import torch

import medusa_zoo
from medusa_zoo.losses import task_losses


def blocky_targets(batch: int, size: int) -> dict[str, torch.Tensor]:
    """Labels that a stride-4 head can represent: classes on 16x16 blocks, depth a smooth ramp."""
    g = torch.Generator().manual_seed(0)
    blocks = torch.randint(0, 5, (batch, size // 16, size // 16), generator=g)
    semseg = blocks.repeat_interleave(16, dim=1).repeat_interleave(16, dim=2)
    ramp = torch.linspace(1.0, 4.0, size)
    depth = (ramp[None, :, None] + ramp[None, None, :] * torch.rand(batch, 1, 1, generator=g)).expand(batch, size, size)
    return {"semseg": semseg, "depth": depth.contiguous()}


@pytest.mark.parametrize("name", ["medusa_regnetx002", "mtinet_regnetx002", "padnet_regnetx002", "mtl_regnetx002"])
def test_overfits_one_batch(name: str) -> None:
    torch.manual_seed(0)
    model = medusa_zoo.load(name, tasks=["semseg", "depth"], pretrained=False, device="cpu").train()
    x = torch.randn(2, 3, 64, 64)
    targets = blocky_targets(2, 64)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for _ in range(30):
        losses = task_losses(model(x), targets, model.tasks)
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append({t: float(v.detach()) for t, v in losses.items()})
    for task in model.tasks:
        assert history[-1][task] < 0.5 * history[0][task], (task, history[0][task], history[-1][task])
