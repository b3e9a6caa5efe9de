"""Backbones from timm's ``features_only`` interface, behind the :class:`FeatureInfo` contract.

``BACKBONES`` holds our named rows (timm model, keyword arguments, which levels to keep, an
optional channel cap); any other timm model name is accepted as is, keeping its levels of
stride 4 and coarser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import IncompatibleConfigError, UnknownBackboneError
from ..registry import Registry
from .feature_info import FeatureInfo

MIN_STRIDE = 4
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


BACKBONES: Registry[BackboneSpec] = Registry("backbone", UnknownBackboneError)
BACKBONES.register(
    # HRNet-W18-small-v2 ("HRNet-18" in the MTI-Net code): raw branch outputs, stem dropped.
    "hrnet18", BackboneSpec("hrnet_w18_small_v2", {"feature_location": ""}, (1, 2, 3, 4))
)
BACKBONES.register("resnet18", BackboneSpec("resnet18", {"output_stride": 8}, (1, 2, 3, 4), max_channels=128))
BACKBONES.register("resnet50", BackboneSpec("resnet50", {"output_stride": 8}, (1, 2, 3, 4), max_channels=128))
BACKBONES.register("regnetx002", BackboneSpec("regnetx_002", {}, (1, 2, 3, 4), max_channels=96))  # for CPU


def resolve_backbone(name_or_spec: str | BackboneSpec) -> BackboneSpec:
    """Our named backbone, an explicit spec, or any timm model name (``timm/`` prefix optional)."""
    if isinstance(name_or_spec, BackboneSpec):
        return name_or_spec
    if name_or_spec in BACKBONES:
        return BACKBONES.get(name_or_spec)
    import timm

    timm_name = name_or_spec.removeprefix("timm/")
    if timm.is_model(timm_name):
        return BackboneSpec(timm_name)
    error = BACKBONES.unknown(name_or_spec)
    raise UnknownBackboneError(f"{error} It is not a timm model name either (see timm.list_models()).",
                               error.suggestions)


def _projection(in_channels: int, cap: int | None) -> nn.Module:
    if cap is None or in_channels <= cap:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_channels, cap, 1, bias=False), nn.BatchNorm2d(cap), nn.ReLU(inplace=True))


class TimmBackbone(nn.Module):
    """A timm ``features_only`` network returning feature maps finest first.

    ``feature_info`` gives the channels and stride of each returned level (after the
    optional channel cap); heads are built from it alone. ``spec`` is the resolved spec,
    with explicit ``out_indices``, as saved in ``config.json``.
    """

    def __init__(self, spec: BackboneSpec, pretrained: bool = False) -> None:
        super().__init__()
        self.body = _create_timm(spec, pretrained)
        reductions = self.body.feature_info.reduction()
        keep = [i for i, r in enumerate(reductions) if spec.out_indices is not None or r >= MIN_STRIDE]
        self._keep = keep
        indices = self.body.feature_info.out_indices
        self.spec = BackboneSpec(spec.timm_name, spec.kwargs, tuple(indices[i] for i in keep), spec.max_channels)
        raw = [self.body.feature_info.channels()[i] for i in keep]
        self.projections = nn.ModuleList(_projection(c, spec.max_channels) for c in raw)
        capped = tuple(min(c, spec.max_channels) if spec.max_channels else c for c in raw)
        try:
            self.feature_info = FeatureInfo(channels=capped, strides=tuple(reductions[i] for i in keep))
        except ValueError as bad:
            raise IncompatibleConfigError(f"backbone {spec.timm_name!r} cannot be used: {bad}") from None

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = self.body(x)
        return [project(features[i]) for i, project in zip(self._keep, self.projections)]


def _create_timm(spec: BackboneSpec, pretrained: bool) -> nn.Module:
    import timm

    kwargs = dict(spec.kwargs)
    if spec.out_indices is not None:
        kwargs["out_indices"] = spec.out_indices
    try:
        return timm.create_model(spec.timm_name, pretrained=pretrained, features_only=True, **kwargs)
    except (TypeError, ValueError, IndexError, AssertionError, KeyError, RuntimeError) as bad:
        if pretrained and isinstance(bad, RuntimeError):
            raise  # a download failure: let timm / huggingface_hub's own error through
        raise IncompatibleConfigError(
            f"timm cannot build backbone {spec.timm_name!r} with kwargs {dict(spec.kwargs)} and "
            f"out_indices {spec.out_indices}: {type(bad).__name__}: {bad}. Check the backbone fields of the config"
        ) from None
