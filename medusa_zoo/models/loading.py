"""Building a network from a saved folder (``config.json`` + ``model.safetensors``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError
from .network import MultiTaskNet
from .serialization import WEIGHTS_NAME, load_state_strict, read_config, read_weights


def load_folder(directory: str | Path, pretrained: bool = True) -> MultiTaskNet:
    """The network saved in ``directory`` by ``save_pretrained``; strict: every tensor must match.

    ``pretrained=False`` builds the same architecture with random weights. The network is
    returned in training mode on the CPU, as built; :func:`medusa_zoo.load` places it.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory} is not a folder; pass 'local-dir:' followed by a folder from save_pretrained()")
    model = MultiTaskNet(read_config(directory))
    if pretrained:
        weights = directory / WEIGHTS_NAME
        load_state_strict(model, read_weights(weights), str(weights))
    return model
