"""What ``config.json`` records about a backbone: the timm model and how it is cut and capped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import IncompatibleConfigError

RESERVED_KWARGS = frozenset({"pretrained", "features_only", "out_indices"})


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone with timm.

    ``out_indices`` selects timm's feature levels (None: every level with stride >= 4).
    ``max_channels`` caps the width of each level with a conv1x1+BN+ReLU projection, so that
    heads built per level stay affordable on wide backbones (ResNet-50's 2048 channels at
    stride 8); narrower levels pass through unchanged. The projections are part of the trunk.
    """

    timm_name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    out_indices: tuple[int, ...] | None = None
    max_channels: int | None = None

    def __post_init__(self) -> None:
        clash = sorted(RESERVED_KWARGS & set(self.kwargs))
        if clash:
            raise IncompatibleConfigError(f"backbone kwargs may not set {clash}: medusa_zoo sets them itself")
        if self.max_channels is not None and (not isinstance(self.max_channels, int) or self.max_channels < 1):
            raise IncompatibleConfigError(f"backbone max_channels must be a positive integer, got {self.max_channels!r}")

    def to_config(self) -> dict[str, Any]:
        """JSON-ready description from which :meth:`from_config` rebuilds the spec."""
        return {
            "timm_name": self.timm_name,
            "kwargs": dict(self.kwargs),
            "out_indices": list(self.out_indices) if self.out_indices is not None else None,
            "max_channels": self.max_channels,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BackboneSpec:
        """Inverse of :meth:`to_config`."""
        indices = config.get("out_indices")
        kwargs = config.get("kwargs", {})
        if not isinstance(kwargs, Mapping):
            raise IncompatibleConfigError(f"backbone kwargs must be a JSON object, got {kwargs!r}")
        return cls(
            str(config["timm_name"]),
            dict(kwargs),
            tuple(int(i) for i in indices) if indices is not None else None,
            config.get("max_channels"),
        )
