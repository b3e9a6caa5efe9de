"""timm-style facts about a network's inputs and weights: ``pretrained_cfg`` and ``transforms()``.

``pretrained_cfg`` is a plain dict, as timm users expect: the input size ``(3, H, W)`` the network
was designed for, the normalisation, the tasks with their labels, and where the weights came from
(name, licence, recipe, metrics). ``transforms()`` is the torchvision v2 pipeline that turns an
image into what ``forward`` takes; fitting an image of another size to the design size (resize
with the aspect ratio kept, pad) is left to ``predict``, which also maps the outputs back.
"""

from __future__ import annotations

from typing import Any

from .config import ModelConfig
from .provenance import Provenance


def pretrained_cfg(config: ModelConfig, provenance: Provenance, source: str | None) -> dict[str, Any]:
    """The data config and provenance of a network (a new dict on every call)."""
    pre = config.preprocessing
    return {
        "arch": config.arch,
        "name": provenance.name,
        "source": source,
        "input_size": (3, *pre.input_size),
        "mean": tuple(pre.mean),
        "std": tuple(pre.std),
        "interpolation": "bilinear",
        "crop_pct": 1.0,
        "tasks": {t.name: {"kind": t.kind, "out_channels": t.out_channels, "labels": tuple(t.labels or ())}
                  for t in config.tasks},
        "license": provenance.license,
        "recipe": provenance.recipe,
        "metrics": dict(provenance.metrics),
    }


def inference_transforms(config: ModelConfig) -> Any:
    """``v2.Compose``: any image (PIL, HxWxC uint8 array, tensor) -> float (3, H, W) normalised for ``forward``.

    It does not resize: give it an image of the design size (``input_size``), or call
    ``predict``, which fits any image to that size and its outputs back to the image.
    """
    import torch
    from torchvision.transforms import v2

    pre = config.preprocessing
    return v2.Compose([
        v2.ToImage(),
        v2.RGB(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(pre.mean), std=list(pre.std)),
    ])  # fmt: skip
