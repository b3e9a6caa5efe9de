"""medusa_zoo: a model zoo for multi-task dense prediction built around Medusa.

    import medusa_zoo
    model = medusa_zoo.load("medusa_hrnet18", pretrained=False)
    outputs = model.predict("room.jpg")      # {"semseg": ..., "depth": ..., ...}
    features = model.features("room.jpg")   # universal features

Importing the package is cheap: torch, timm and the models load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import limits
from .errors import (
    CheckpointError,
    DuplicateNameError,
    ImageNotFoundError,
    IncompatibleConfigError,
    InvalidImageError,
    MedusaZooError,
    HeadMismatchError,
    ImageTooLargeError,
    ResourceLimitError,
    StateDictMismatchError,
    UnknownBackboneError,
    UnknownModelError,
    UnknownNameError,
    UnknownTaskError,
)

__version__ = "0.1.0"

_LAZY = {
    "load": "api",
    "build_model": "api",
    "list_models": "api",
    "model_info": "api",
    "ModelInfo": "api",
    "get_task": "tasks",
    "Task": "tasks",
    "MultiTaskNet": "models",
    "Features": "models",
    "MultiTaskOutput": "models",
    "finetune": "training.finetune",
    "FinetuneResult": "training.finetune",
}

__all__ = sorted(
    [
        *_LAZY,
        "CheckpointError",
        "DuplicateNameError",
        "ImageNotFoundError",
        "IncompatibleConfigError",
        "InvalidImageError",
        "MedusaZooError",
        "HeadMismatchError",
        "ImageTooLargeError",
        "ResourceLimitError",
        "limits",
        "StateDictMismatchError",
        "UnknownBackboneError",
        "UnknownModelError",
        "UnknownNameError",
        "UnknownTaskError",
        "__version__",
    ]
)

if TYPE_CHECKING:
    from .api import ModelInfo, build_model, list_models, load, model_info
    from .models import Features, MultiTaskNet, MultiTaskOutput
    from .tasks import Task, get_task
    from .training.finetune import FinetuneResult, finetune


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'medusa_zoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
