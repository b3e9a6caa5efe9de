"""How images are normalised before a network sees them, shared by models and data pipelines.

Every value is checked with :mod:`medusa_zoo.bounds` (finite, typed, in range), so a hostile or
careless ``config.json`` is refused before anything is built from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .bounds import bounded_float, bounded_int, number_list, show
from .errors import IncompatibleConfigError

# ImageNet statistics: the default normalisation of every model and of the data transforms.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

MIN_SIDE, MAX_SIDE = 16, 8192  # input_size bounds (pixels per side)
MAX_MEAN = 1e3  # |mean| bound: images are in [0, 1]
MIN_STD, MAX_STD = 1e-6, 1e3  # a smaller std amplifies pixels by more than a million


@dataclass(frozen=True)
class Preprocessing:
    """How images are prepared: RGB in [0, 1], then ``(x - mean) / std`` per channel.

    ``input_size`` (H, W) is the size the model is designed and trained for; ``model_info``
    measures FLOPs there. Other sizes work: inputs are padded to the backbone's stride.
    """

    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    input_size: tuple[int, int] = (480, 640)

    def __post_init__(self) -> None:
        try:
            self._check()
        except IncompatibleConfigError as bad:
            raise IncompatibleConfigError(
                f"preprocessing needs 3 means in [-{MAX_MEAN:g}, {MAX_MEAN:g}], 3 positive stds in [{MIN_STD:g}, "
                f"{MAX_STD:g}] and input_size [H, W] with sides in [{MIN_SIDE}, {MAX_SIDE}]: {bad}"
            ) from None

    def _check(self) -> None:
        for i, m in enumerate(number_list(self.mean, "preprocessing.mean", 3)):
            bounded_float(m, f"preprocessing.mean[{i}]", -MAX_MEAN, MAX_MEAN)
        for i, s in enumerate(number_list(self.std, "preprocessing.std", 3)):
            bounded_float(s, f"preprocessing.std[{i}]", MIN_STD, MAX_STD)
        for i, side in enumerate(number_list(self.input_size, "preprocessing.input_size", 2)):
            bounded_int(side, f"preprocessing.input_size[{i}]", MIN_SIDE, MAX_SIDE)

    def to_config(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"mean": list(self.mean), "std": list(self.std), "input_size": list(self.input_size)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Preprocessing:
        """Inverse of :meth:`to_config`, checking types, lengths and ranges."""
        if not isinstance(config, Mapping):
            raise IncompatibleConfigError(f"preprocessing must be a JSON object, got {show(config)}")
        missing = [k for k in ("mean", "std", "input_size") if k not in config]
        if missing:
            raise IncompatibleConfigError(f"preprocessing lacks the field(s) {missing}")
        if unknown := sorted(set(config) - {"mean", "std", "input_size"}):
            raise IncompatibleConfigError(f"preprocessing takes no field(s) {unknown}; it has mean, std, input_size")
        raw = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
        checked = cls(**raw)  # validates every value
        return cls(tuple(map(float, checked.mean)), tuple(map(float, checked.std)), tuple(checked.input_size))  # type: ignore[arg-type]
