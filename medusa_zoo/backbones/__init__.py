"""Backbones: feature pyramids from timm behind the channels-and-strides contract."""

from .feature_info import FeatureInfo
from .timm_backbone import BACKBONES, BackboneSpec, TimmBackbone, resolve_backbone

__all__ = ["BACKBONES", "BackboneSpec", "FeatureInfo", "TimmBackbone", "resolve_backbone"]
