"""Parameter and FLOP counts, measured with PyTorch's own flop counter.

``torch.utils.flop_counter`` counts the multiply-adds of convolutions and matrix products
(2 FLOPs each); element-wise operations (BatchNorm, activations, resizing) are not counted,
as with fvcore. The model is built on the ``meta`` device, so no memory or time is spent on
real tensors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch.utils.flop_counter import FlopCounterMode

from .config import ModelConfig
from .network import MultiTaskNet


@dataclass(frozen=True)
class Cost:
    """Parameters and forward FLOPs of one network at one input size (batch 1)."""

    params: int
    flops: int
    input_size: tuple[int, int]

    @property
    def gflops(self) -> float:
        """Forward FLOPs in billions (2 per multiply-add)."""
        return self.flops / 1e9

    @property
    def gmacs(self) -> float:
        """Forward multiply-adds in billions."""
        return self.flops / 2e9


def measure_cost(config: ModelConfig, input_size: tuple[int, int] | None = None) -> Cost:
    """Count parameters and FLOPs of the network ``config`` describes at ``input_size`` (H, W).

    Measured once per (config, input size) in a process and cached: ``model_info`` and the
    efficiency benchmark ask for the same architectures many times.
    """
    size = tuple(input_size or config.preprocessing.input_size)
    return _measure(json.dumps(config.to_dict(), sort_keys=True), size)  # type: ignore[arg-type]


@lru_cache(maxsize=256)
def _measure(config_json: str, size: tuple[int, int]) -> Cost:
    config = ModelConfig.from_dict(json.loads(config_json))
    with torch.device("meta"):
        model = MultiTaskNet(config).eval()
        x = torch.zeros(1, 3, *size)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    params = sum(p.numel() for p in model.parameters())
    return Cost(params=params, flops=int(counter.get_total_flops()), input_size=tuple(size))  # type: ignore[arg-type]
