"""Backbones from timm's ``features_only`` interface, behind the :class:`FeatureInfo` contract."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import IncompatibleConfigError
from .feature_info import FeatureInfo
from .spec import BackboneSpec

MIN_STRIDE = 4


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
        self.weights_source: str | None = None
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
