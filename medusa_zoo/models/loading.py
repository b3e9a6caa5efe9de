"""Building a network from a saved folder (``config.json`` + ``model.safetensors``)."""

from __future__ import annotations

from pathlib import Path

from .network import MultiTaskNet
from .serialization import load_state_strict, read_weights
from .sources import read_folder


def load_folder(directory: str | Path, pretrained: bool = True) -> MultiTaskNet:
    """The network saved in ``directory`` by ``save_pretrained``; strict: every tensor must match.

    ``pretrained=False`` builds the same architecture with random weights. The network is
    returned in training mode on the CPU, as built; :func:`medusa_zoo.load` places it. Its
    :attr:`~MultiTaskNet.provenance` (name, metrics, licence, recipe) comes from the weights' header.
    """
    found = read_folder(Path(directory))
    model = MultiTaskNet(found.config)
    if pretrained:
        load_state_strict(model, read_weights(found.weights), str(found.weights))
        model._provenance = found.provenance
    return model
