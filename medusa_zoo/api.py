"""The public entry points: ``load``, ``build_model``, ``list_models`` and ``model_info``."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .backbones import BackboneSpec, resolve_backbone
from .devices import resolve_device, resolve_dtype
from .errors import CheckpointError, IncompatibleConfigError
from .models import ARCHITECTURES, ModelConfig, MultiTaskNet, Preprocessing
from .models.config import TaskLike, resolve_tasks
from .models.flops import measure_cost
from .models.serialization import WEIGHTS_NAME, load_state_strict, read_config, read_weights

LOCAL_PREFIX = "local-dir:"
HUB_PREFIX = "hf-hub:"


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Registered architecture names matching the fnmatch ``pattern``, sorted.

    With ``pretrained=True`` only names that have published weights are listed (none yet:
    checkpoints arrive with the Hub manifest).
    """
    if pretrained:
        return []
    return [name for name in ARCHITECTURES.names() if fnmatch.fnmatchcase(name, pattern)]


def build_model(
    head: str,
    backbone: str | BackboneSpec,
    tasks: Sequence[TaskLike],
    *,
    input_size: tuple[int, int] = (480, 640),
    backbone_pretrained: bool = False,
    **head_options: Any,
) -> MultiTaskNet:
    """A network with random weights from any head type and any timm backbone.

    ``backbone`` is one of ours (``hrnet18``, ``resnet18``, ``resnet50``, ``regnetx002``) or
    any timm model with ``features_only`` support (e.g. ``"convnext_atto"``); its levels of
    stride 4 and coarser are used. ``backbone_pretrained=True`` asks timm for ImageNet weights
    (needs the internet).
    """
    config = ModelConfig(
        head=head,
        backbone=resolve_backbone(backbone),
        tasks=resolve_tasks(tasks),
        head_options=head_options,
        preprocessing=Preprocessing(input_size=input_size),
    )
    return MultiTaskNet(config, backbone_pretrained=backbone_pretrained)


def load(
    name: str,
    *,
    tasks: Sequence[TaskLike] | None = None,
    pretrained: bool = True,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = None,
    backbone_pretrained: bool = False,
    **head_options: Any,
) -> MultiTaskNet:
    """Build a registered architecture, or load a saved model, ready for inference.

    ``name`` is an architecture (``"medusa_hrnet18"``, see :func:`list_models`), an
    ``"arch.tag"`` checkpoint name (none are published yet) or ``"local-dir:PATH"`` for a
    folder written by ``save_pretrained``. ``pretrained=False``
    gives random weights (``tasks`` and head options then choose what to build);
    ``device="auto"`` picks CUDA when available; ``dtype`` may be ``"bfloat16"`` or, on
    CUDA, ``"float16"``. The model is returned in eval mode.
    """
    target = resolve_device(device)
    precision = resolve_dtype(dtype, target)
    if name.startswith(LOCAL_PREFIX):
        if tasks is not None or head_options:
            raise IncompatibleConfigError(
                "a saved model's tasks and head options come from its config.json; do not pass tasks= or options"
            )
        model = _load_local(Path(name[len(LOCAL_PREFIX) :]).expanduser())
    elif name.startswith(HUB_PREFIX):
        raise CheckpointError(
            f"{name!r}: loading from the Hugging Face Hub is not supported by this version yet; download the "
            "repo folder (config.json + model.safetensors) and load it with 'local-dir:PATH'"
        )
    else:
        arch_name, _, tag = name.partition(".")
        architecture = ARCHITECTURES.get(arch_name)
        if pretrained or tag:
            raise CheckpointError(
                f"no pretrained weights are published for {name!r} yet; pass {arch_name!r} with pretrained=False "
                "for random weights, or load a folder saved with save_pretrained() via 'local-dir:PATH'"
            )
        model = MultiTaskNet(architecture.config(tasks, **head_options), backbone_pretrained=backbone_pretrained)
    return model.to(device=target, dtype=precision).eval()


def _load_local(directory: Path) -> MultiTaskNet:
    if not directory.is_dir():
        raise CheckpointError(f"{directory} is not a folder; pass 'local-dir:' followed by a folder from save_pretrained()")
    model = MultiTaskNet(read_config(directory))
    weights = directory / WEIGHTS_NAME
    load_state_strict(model, read_weights(weights), str(weights))
    return model


@dataclass(frozen=True)
class ModelInfo:
    """What :func:`model_info` reports about an architecture (FLOPs measured, not typed in)."""

    name: str
    head: str
    backbone: str
    tasks: dict[str, int]
    independent_heads: bool
    params: int
    gflops: float
    input_size: tuple[int, int]
    description: str


def model_info(name: str, tasks: Sequence[TaskLike] | None = None) -> ModelInfo:
    """Tasks, parameter count and GFLOPs (batch 1, at the design input size) of ``name``."""
    from .heads import HEADS

    architecture = ARCHITECTURES.get(name)
    config = architecture.config(tasks)
    cost = measure_cost(config)
    return ModelInfo(
        name=name,
        head=config.head,
        backbone=config.backbone.timm_name,
        tasks={t.name: t.out_channels for t in config.tasks},
        independent_heads=HEADS.get(config.head).independent,
        params=cost.params,
        gflops=round(cost.gflops, 3),
        input_size=cost.input_size,
        description=architecture.description,
    )
