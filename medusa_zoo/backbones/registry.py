"""The backbone registry: one row per named backbone, owning every fact about it.

A row names a timm model with its keyword arguments, which of its levels the heads see, the
channel cap that keeps per-level heads affordable on wide levels, the input size the backbone
is designed and trained for (the size architectures on it are measured at) and where its
initial weights come from. Every head type is registered on every row (:mod:`medusa_zoo.models.zoo`),
so a new backbone is one row here. Networks get their backbone from :func:`build_backbone`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..errors import UnknownBackboneError
from ..registry import Registry
from .spec import BackboneSpec
from .timm_backbone import TimmBackbone


@dataclass(frozen=True)
class Backbone:
    """A registry row: the backbone's :class:`BackboneSpec` facts plus its design ``input_size`` (H, W)
    and ``weights``, the initial weights it offers by name (empty: it starts from random weights;
    ``backbone_pretrained=True`` asks timm for its own weights online)."""

    name: str
    timm_name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    out_indices: tuple[int, ...] | None = None
    max_channels: int | None = None
    input_size: tuple[int, int] = (480, 640)
    weights: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def spec(self) -> BackboneSpec:
        """What a network built on this row records in ``config.json``."""
        return BackboneSpec(self.timm_name, dict(self.kwargs), self.out_indices, self.max_channels)


BACKBONES: Registry[Backbone] = Registry("backbone", UnknownBackboneError)
BACKBONES.register("hrnet18", Backbone(
    "hrnet18", "hrnet_w18_small_v2", {"feature_location": ""}, (1, 2, 3, 4),
    description='HRNet-W18-small-v2 ("HRNet-18" in the MTI-Net code): raw branch outputs, stem dropped',
))  # fmt: skip
BACKBONES.register("resnet18", Backbone(
    "resnet18", "resnet18", {"output_stride": 8}, (1, 2, 3, 4), max_channels=128,
    description="ResNet-18 at output stride 8, levels capped at 128 channels",
))  # fmt: skip
BACKBONES.register("resnet50", Backbone(
    "resnet50", "resnet50", {"output_stride": 8}, (1, 2, 3, 4), max_channels=128,
    description="ResNet-50 at output stride 8, levels capped at 128 channels",
))  # fmt: skip
BACKBONES.register("regnetx002", Backbone(
    "regnetx002", "regnetx_002", {}, (1, 2, 3, 4), max_channels=96, input_size=(192, 256),
    description="RegNetX-200MF (2.3M parameters), for CPU training; levels capped at 96 channels",
))  # fmt: skip


def resolve_backbone(name_or_spec: str | BackboneSpec) -> BackboneSpec:
    """Our named backbone, an explicit spec, or any timm model name (``timm/`` prefix optional)."""
    if isinstance(name_or_spec, BackboneSpec):
        return name_or_spec
    if name_or_spec in BACKBONES:
        return BACKBONES.get(name_or_spec).spec
    import timm

    timm_name = name_or_spec.removeprefix("timm/")
    if timm.is_model(timm_name):
        return BackboneSpec(timm_name)
    error = BACKBONES.unknown(name_or_spec)
    raise UnknownBackboneError(f"{error} It is not a timm model name either (see timm.list_models()).",
                               error.suggestions)


def known_timm_names() -> set[str]:
    """The timm models our rows use (accepted in configs without asking timm)."""
    return {BACKBONES.get(name).timm_name for name in BACKBONES.names()}


def build_backbone(spec: BackboneSpec, pretrained: bool = False) -> nn.Module:
    """The backbone module a spec describes (its ``feature_info`` gives channels and strides per level)."""
    return TimmBackbone(spec, pretrained=pretrained)
