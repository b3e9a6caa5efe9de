"""What ``config.json`` records about a backbone: the timm model and how it is cut and capped.

A config is data from anywhere, and its backbone section reaches ``timm.create_model``; so the
timm name must be a plain model name (no ``hf-hub:`` / ``local-dir:`` prefix, no path) and the
keyword arguments are an allow-list of harmless architecture options with checked types and
ranges (timm also takes ``checkpoint_path`` and friends, which open files).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..bounds import bounded_float, bounded_int, show
from ..errors import IncompatibleConfigError

RESERVED_KWARGS = frozenset({"pretrained", "features_only", "out_indices"})
MAX_CHANNELS = 4096
MAX_LEVEL = 8  # timm feature levels are numbered 0..4 (5 for a few); 8 leaves room
_TIMM_NAME = re.compile(r"[A-Za-z0-9_]{1,100}(\.[A-Za-z0-9_]{1,60})?")  # an optional .tag (timm pretrained tags)


def _choice(*allowed: Any) -> Callable[[Any, str], Any]:
    def check(value: Any, key: str) -> Any:
        if isinstance(value, bool) or value not in allowed or type(value) is not type(allowed[0]):
            raise IncompatibleConfigError(f"backbone kwarg {key!r} must be one of {list(allowed)}, got {show(value)}")
        return value

    return check


def _unit(value: Any, key: str) -> float:
    return bounded_float(value, f"backbone kwarg {key!r}", 0.0, 1.0, below_high=True)


ALLOWED_KWARGS: Mapping[str, Callable[[Any, str], Any]] = {
    "output_stride": _choice(8, 16, 32),  # dilated ResNets (our resnet rows use 8)
    "feature_location": _choice("", "incre"),  # HRNet: raw branch outputs or the incre modules
    "drop_rate": _unit,
    "drop_path_rate": _unit,
}
"""The timm keyword arguments a config may set, each with its check; nothing else reaches timm."""


def check_kwargs(kwargs: Any) -> dict[str, Any]:
    """The backbone kwargs if every key is allowed and every value passes its check."""
    if not isinstance(kwargs, Mapping):
        raise IncompatibleConfigError(f"backbone kwargs must be a JSON object, got {show(kwargs)}")
    clash = sorted(RESERVED_KWARGS & set(kwargs))
    if clash:
        raise IncompatibleConfigError(f"backbone kwargs may not set {clash}: medusa_zoo sets them itself")
    for key, value in kwargs.items():
        if key not in ALLOWED_KWARGS:
            raise IncompatibleConfigError(
                f"backbone kwarg {show(key)} is not allowed; configs may set only {sorted(ALLOWED_KWARGS)} "
                "(other timm options, such as checkpoint paths, are refused)"
            )
        ALLOWED_KWARGS[key](value, key)
    return dict(kwargs)


def check_timm_name(name: Any) -> str:
    """``name`` if it is a plain timm model name: letters, digits and underscores, no prefix or path."""
    if not isinstance(name, str) or not _TIMM_NAME.fullmatch(name):
        raise IncompatibleConfigError(
            f"backbone timm_name must be a plain timm model name (letters, digits, underscores, an optional .tag), got {show(name)}"
        )
    return name


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone with timm.

    ``out_indices`` selects timm's feature levels (None: every level with stride >= 4).
    ``max_channels`` caps the width of each level with a conv1x1+BN+ReLU projection, so that
    heads built per level stay affordable on wide backbones (ResNet-50's 2048 channels at
    stride 8); narrower levels pass through unchanged. The projections are part of the trunk.
    ``kwargs`` may hold only :data:`ALLOWED_KWARGS`.
    """

    timm_name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    out_indices: tuple[int, ...] | None = None
    max_channels: int | None = None

    def __post_init__(self) -> None:
        check_timm_name(self.timm_name)
        check_kwargs(self.kwargs)
        if self.out_indices is not None:
            if not isinstance(self.out_indices, (tuple, list)) or not 1 <= len(self.out_indices) <= MAX_LEVEL + 1:
                raise IncompatibleConfigError(
                    f"backbone out_indices must be a list of levels, got {show(self.out_indices)}"
                )
            for i in self.out_indices:
                bounded_int(i, "backbone out_indices item", 0, MAX_LEVEL)
            if len(set(self.out_indices)) != len(self.out_indices):
                raise IncompatibleConfigError(
                    f"backbone out_indices must not repeat a level, got {list(self.out_indices)}"
                )
        if self.max_channels is not None:
            bounded_int(self.max_channels, "backbone max_channels", 1, MAX_CHANNELS)

    def to_config(self) -> dict[str, Any]:
        """JSON-ready description from which :meth:`from_config` rebuilds the spec."""
        return {
            "timm_name": self.timm_name,
            "kwargs": dict(self.kwargs),
            "out_indices": list(self.out_indices) if self.out_indices is not None else None,
            "max_channels": self.max_channels,
        }

    @classmethod
    def from_config(cls, config: Any) -> BackboneSpec:
        """Inverse of :meth:`to_config`; every problem raises :class:`IncompatibleConfigError`."""
        if not isinstance(config, Mapping):
            raise IncompatibleConfigError(f"backbone must be a JSON object, got {show(config)}")
        if unknown := sorted(set(config) - {"timm_name", "kwargs", "out_indices", "max_channels"}):
            raise IncompatibleConfigError(
                f"backbone takes no field(s) {unknown}; it has timm_name, kwargs, out_indices, max_channels"
            )
        if "timm_name" not in config:
            raise IncompatibleConfigError("backbone lacks the field 'timm_name'")
        indices = config.get("out_indices")
        if indices is not None and not isinstance(indices, list):
            raise IncompatibleConfigError(f"backbone out_indices must be a list of levels or null, got {show(indices)}")
        return cls(
            check_timm_name(config["timm_name"]),
            check_kwargs(config.get("kwargs", {})),
            tuple(indices) if indices is not None else None,
            config.get("max_channels"),
        )
