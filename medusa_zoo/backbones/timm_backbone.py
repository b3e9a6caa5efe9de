"""Backbones from timm's ``features_only`` interface, behind the :class:`FeatureInfo` contract.

``BACKBONES`` holds our named rows (timm model, keyword arguments, which levels to keep);
any other timm model name is accepted as is, keeping its levels of stride 4 and coarser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import UnknownBackboneError
from ..registry import Registry
from .feature_info import FeatureInfo

MIN_STRIDE = 4


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone with timm: model name, kwargs and feature levels kept."""

    timm_name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    out_indices: tuple[int, ...] | None = None  # None: every level with stride >= 4

    def to_config(self) -> dict[str, Any]:
        """JSON-ready description from which :meth:`from_config` rebuilds the spec."""
        return {"timm_name": self.timm_name, "kwargs": dict(self.kwargs), "out_indices": self.out_indices}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BackboneSpec:
        """Inverse of :meth:`to_config`."""
        indices = config.get("out_indices")
        return cls(str(config["timm_name"]), dict(config.get("kwargs", {})), tuple(indices) if indices else None)


BACKBONES: Registry[BackboneSpec] = Registry("backbone", UnknownBackboneError)
BACKBONES.register(
    # HRNet-W18-small-v2 ("HRNet-18" in the MTI-Net code): raw branch outputs, stem dropped.
    "hrnet18", BackboneSpec("hrnet_w18_small_v2", {"feature_location": ""}, (1, 2, 3, 4))
)
BACKBONES.register("resnet18", BackboneSpec("resnet18", {"output_stride": 8}, (1, 2, 3, 4)))
BACKBONES.register("resnet50", BackboneSpec("resnet50", {"output_stride": 8}, (1, 2, 3, 4)))
BACKBONES.register("regnetx002", BackboneSpec("regnetx_002", {}, (1, 2, 3, 4)))  # 2.3M params, for CPU


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


class TimmBackbone(nn.Module):
    """A timm ``features_only`` network returning feature maps finest first.

    ``feature_info`` gives the channels and stride of each returned level; heads are built
    from it alone.
    """

    def __init__(self, spec: BackboneSpec, pretrained: bool = False) -> None:
        super().__init__()
        import timm

        kwargs = dict(spec.kwargs)
        if spec.out_indices is not None:
            kwargs["out_indices"] = spec.out_indices
        self.body = timm.create_model(spec.timm_name, pretrained=pretrained, features_only=True, **kwargs)
        reductions = self.body.feature_info.reduction()
        self._keep = [i for i, r in enumerate(reductions) if spec.out_indices is not None or r >= MIN_STRIDE]
        indices = self.body.feature_info.out_indices
        self.spec = BackboneSpec(spec.timm_name, spec.kwargs, tuple(indices[i] for i in self._keep))
        channels = self.body.feature_info.channels()
        self.feature_info = FeatureInfo(
            channels=tuple(channels[i] for i in self._keep), strides=tuple(reductions[i] for i in self._keep)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = self.body(x)
        return [features[i] for i in self._keep]
