"""Backbones: feature pyramids from timm behind the channels-and-strides contract.

Named backbones are rows of :data:`BACKBONES`; networks get theirs from :func:`build_backbone`.
"""

from .feature_info import FeatureInfo
from .registry import BACKBONES, Backbone, build_backbone, known_timm_names, resolve_backbone, row_of
from .spec import ALLOWED_KWARGS, BackboneSpec
from .timm_backbone import TimmBackbone
from .weights import HubWeights, InitialWeights, PipWeights

__all__ = [
    "ALLOWED_KWARGS",
    "BACKBONES",
    "Backbone",
    "BackboneSpec",
    "FeatureInfo",
    "HubWeights",
    "InitialWeights",
    "PipWeights",
    "TimmBackbone",
    "build_backbone",
    "known_timm_names",
    "resolve_backbone",
    "row_of",
]
