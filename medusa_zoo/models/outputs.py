"""Typed results of the network: raw training outputs and universal features."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class MultiTaskOutput:
    """What ``forward`` returns, for training.

    ``logits`` maps each task to its final raw output (B, K, H, W) at the input's size.
    ``deep_supervision`` maps each task to its intermediate per-scale predictions
    (B, K, h_s, w_s) at their own resolutions (empty for heads without them); train them
    with the same loss and weight as the final output, resized to the label.
    """

    logits: dict[str, torch.Tensor]
    deep_supervision: dict[str, list[torch.Tensor]]


@dataclass
class Features:
    """The universal features of a batch of images, as returned by ``model.features``.

    ``maps`` are the backbone's feature maps, finest first, each (B, C_s, ceil(H/s),
    ceil(W/s)) for stride s: the representation every task head reads (for Medusa, what
    the Shared Feature Attention masks select from). ``strides`` gives s per map.
    ``embedding`` is a (B, sum of C_s) vector per image: each map averaged over space,
    concatenated finest first. Padding added for the stride is cropped away before pooling.
    """

    maps: list[torch.Tensor]
    strides: tuple[int, ...]
    embedding: torch.Tensor

    @property
    def channels(self) -> tuple[int, ...]:
        """Channels of each map."""
        return tuple(m.shape[1] for m in self.maps)


# torch.export (and the ONNX exporter built on it) flatten and rebuild outputs through pytrees:
# registering the dataclass lets ``torch.export.export(model, (x,))`` work on any network as shipped.
torch.export.register_dataclass(MultiTaskOutput, serialized_type_name="medusa_zoo.MultiTaskOutput")
