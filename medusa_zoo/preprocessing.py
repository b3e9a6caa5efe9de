"""How images are normalised before a network sees them, shared by models and data pipelines."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import IncompatibleConfigError

# ImageNet statistics: the default normalisation of every model and of the data transforms.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """How images are prepared: RGB in [0, 1], then ``(x - mean) / std`` per channel.

    ``input_size`` (H, W) is the size the model is designed and trained for; ``model_info``
    measures FLOPs there. Other sizes work: inputs are padded to the backbone's stride.
    """

    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    input_size: tuple[int, int] = (480, 640)

    def to_config(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"mean": list(self.mean), "std": list(self.std), "input_size": list(self.input_size)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Preprocessing:
        """Inverse of :meth:`to_config`, checking lengths and signs."""
        mean, std, size = (tuple(config[k]) for k in ("mean", "std", "input_size"))
        finite = all(isinstance(v, (int, float)) and math.isfinite(v) for v in (*mean, *std))
        if len(mean) != 3 or len(std) != 3 or not finite or any(s <= 0 for s in std):
            raise IncompatibleConfigError(f"preprocessing needs 3 means and 3 positive stds, got {mean} / {std}")
        if len(size) != 2 or any(int(s) < 1 for s in size):
            raise IncompatibleConfigError(f"preprocessing input_size must be [H, W], got {list(size)}")
        return cls(tuple(map(float, mean)), tuple(map(float, std)), (int(size[0]), int(size[1])))  # type: ignore[arg-type]
