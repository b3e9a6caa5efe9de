"""The paper's efficiency claim, checked with our own flop counter at HRNet-18 (deterministic counts)."""

from __future__ import annotations

import pytest

from medusa_zoo.benchmarks.efficiency import SETTINGS
from medusa_zoo.models import ARCHITECTURES
from medusa_zoo.models.flops import measure_cost


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_medusa_is_at_most_three_quarters_of_mtinet(setting) -> None:
    costs = {
        head: measure_cost(ARCHITECTURES.get(f"{head}_hrnet18").config(list(setting.tasks)), setting.input_size)
        for head in ("medusa", "mtinet")
    }
    medusa, mtinet = costs["medusa"], costs["mtinet"]
    assert medusa.params <= 0.75 * mtinet.params, (medusa.params, mtinet.params)
    assert medusa.flops <= 0.75 * mtinet.flops, (medusa.flops, mtinet.flops)


def test_flop_counter_counts_a_known_convolution() -> None:
    # One 3x3 conv 3->8 channels with bias on a 16x16 input: 16*16*8*3*9 multiply-adds.
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    counter = FlopCounterMode(display=False)
    with counter:
        conv(torch.zeros(1, 3, 16, 16))
    assert counter.get_total_flops() == 2 * 16 * 16 * 8 * 3 * 9
