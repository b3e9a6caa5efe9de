"""The contract between backbones and heads: channels and stride of each feature level."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureInfo:
    """Channels and stride (input pixels per feature cell) of each level, finest first."""

    channels: tuple[int, ...]
    strides: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.channels) != len(self.strides) or not self.channels:
            raise ValueError(f"need one stride per level, got {self.channels} / {self.strides}")
        if list(self.strides) != sorted(self.strides):
            raise ValueError(f"levels must go from fine to coarse, got strides {self.strides}")

    @property
    def num_levels(self) -> int:
        """How many feature levels the backbone returns."""
        return len(self.channels)

    @property
    def max_stride(self) -> int:
        """Inputs are padded to a multiple of this so every level tiles them exactly."""
        return max(self.strides)
