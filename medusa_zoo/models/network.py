"""The multi-task network: a backbone, a decoder and the task definitions.

``forward`` is for training (normalised tensors in, raw logits out); ``predict`` and
``features`` are for users (any images in, post-processed outputs out).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import FeatureInfo, TimmBackbone
from ..errors import InvalidImageError, UnknownTaskError
from ..heads import build_decoder
from ..inputs import ImageInput, to_image_list
from ..tasks import Task
from .config import ModelConfig
from .outputs import Features, MultiTaskOutput

if TYPE_CHECKING:
    from ..hub.manifest import CheckpointEntry

Prediction = dict[str, torch.Tensor]


class MultiTaskNet(nn.Module):
    """Backbone + decoder + tasks, built from a :class:`ModelConfig` with random weights.

    Load trained weights with :func:`medusa_zoo.load`; build untrained ones with
    :func:`medusa_zoo.load` (``pretrained=False``) or :func:`medusa_zoo.build_model`.
    """

    def __init__(self, config: ModelConfig, backbone_pretrained: bool = False) -> None:
        super().__init__()
        self.backbone = TimmBackbone(config.backbone, pretrained=backbone_pretrained)
        self.config = ModelConfig(
            config.head, self.backbone.spec, config.tasks, config.head_options, config.preprocessing, config.arch
        )
        self.tasks: dict[str, Task] = {t.name: t for t in config.tasks}
        out_channels = {t.name: t.out_channels for t in config.tasks}
        self.decoder = build_decoder(config.head, self.backbone.feature_info, out_channels, config.head_options)
        mean = torch.tensor(config.preprocessing.mean).view(1, 3, 1, 1)
        std = torch.tensor(config.preprocessing.std).view(1, 3, 1, 1)
        self.register_buffer("pixel_mean", mean, persistent=False)
        self.register_buffer("pixel_std", std, persistent=False)

    @property
    def feature_info(self) -> FeatureInfo:
        """Channels and stride of each level the heads read."""
        return self.backbone.feature_info

    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """Floating point type of the weights."""
        return next(self.parameters()).dtype

    def forward(self, x: torch.Tensor) -> MultiTaskOutput:
        """Raw outputs for a normalised batch (B, 3, H, W) whose sides are multiples of the max stride."""
        logits, deep = self.decoder(self.backbone(x))
        size = x.shape[-2:]
        logits = {t: F.interpolate(v, size=size, mode="bilinear", align_corners=False) for t, v in logits.items()}
        return MultiTaskOutput(logits, deep)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> the backbone's input distribution, on the model's device."""
        images = images.to(self.device)
        return ((images - self.pixel_mean) / self.pixel_std).to(self.dtype)

    def predict(
        self,
        images: ImageInput | Sequence[ImageInput],
        tasks: Sequence[str] | None = None,
        batch_size: int = 8,
    ) -> Prediction | list[Prediction]:
        """Post-processed predictions at each image's own size, on the CPU.

        Accepts a path, PIL image, HxWx3 numpy array, CHW / BCHW tensor (uint8, or float in
        [0, 1]) or a list of these. Returns one dict per image (a list for lists and BCHW
        tensors) mapping each requested task to: segmentation (H, W) int64 labels, depth
        (H, W) metres, normals (3, H, W) unit vectors, edge / saliency (H, W) probabilities.
        Same-size images run together, ``batch_size`` at a time. The network runs under
        ``torch.inference_mode``; the returned tensors are ordinary ones (usable as training
        targets), each owning its memory.
        """
        wanted = self._task_names(tasks)
        tensors, batched = to_image_list(images, min_size=self.feature_info.max_stride)
        results: list[Prediction] = [{} for _ in tensors]
        with self._eval(), torch.inference_mode():
            for indices, batch, (h, w) in self._batches(tensors, batch_size):
                logits = self(batch).logits
                for name in wanted:
                    prediction = self.tasks[name].postprocess(logits[name][..., :h, :w]).cpu()
                    for row, index in enumerate(indices):
                        results[index][name] = prediction[row]
        results = [{name: value.clone() for name, value in result.items()} for result in results]
        return results if batched else results[0]

    @torch.no_grad()
    def features(self, images: ImageInput | Sequence[ImageInput]) -> Features:
        """Universal features of one image or a batch of same-size images (see :class:`Features`).

        Computed without gradients but outside inference mode, so the tensors can feed a
        downstream model that is being trained.
        """
        tensors, _ = to_image_list(images, min_size=self.feature_info.max_stride)
        sizes = {tuple(t.shape[-2:]) for t in tensors}
        if len(sizes) > 1:
            raise InvalidImageError(
                f"features() of several images needs them at one size, got {sorted(sizes)}; "
                "resize them to one size or call features() once per image"
            )
        with self._eval():
            [(_, batch, (h, w))] = list(self._batches(tensors, batch_size=len(tensors)))
            maps = self.backbone(batch)
        strides = self.feature_info.strides
        maps = [m[..., : math.ceil(h / s), : math.ceil(w / s)] for m, s in zip(maps, strides)]
        embedding = torch.cat([m.float().mean(dim=(2, 3)) for m in maps], dim=1)
        return Features(maps, strides, embedding)

    def colorize(self, prediction: Prediction) -> dict[str, np.ndarray]:
        """(H, W, 3) uint8 pictures of one image's predictions, keyed by task."""
        return {name: self.tasks[name].colorize(value) for name, value in prediction.items()}

    def save_pretrained(self, directory: str | Path, **card: Any) -> Path:
        """Write ``config.json``, ``model.safetensors`` and a ``README.md`` card into ``directory``.

        ``card`` keywords (``metrics``, ``recipe``, ``license``) are added to the card.
        """
        from .serialization import save_pretrained

        return save_pretrained(self, directory, **card)

    def push_to_hub(self, repo_id: str, **options: Any) -> CheckpointEntry:
        """Upload to the Hub and return (and print) the pinned ``checkpoints.json`` entry.

        See :func:`medusa_zoo.hub.push_to_hub` for the options (``name``, ``metrics``,
        ``recipe``, ``license``, ``private``, ``token``, ``branch``, ``endpoint``).
        """
        from ..hub.publish import push_to_hub

        return push_to_hub(self, repo_id, **options)

    def _task_names(self, tasks: Sequence[str] | None) -> list[str]:
        if tasks is None:
            return list(self.tasks)
        if isinstance(tasks, str):
            tasks = [tasks]
        unknown = [t for t in tasks if t not in self.tasks]
        if unknown:
            raise UnknownTaskError(f"this model has no task(s) {unknown}; its tasks are {list(self.tasks)}")
        return list(tasks)

    def _batches(
        self, tensors: list[torch.Tensor], batch_size: int = 8
    ) -> Iterator[tuple[list[int], torch.Tensor, tuple[int, int]]]:
        """Group same-size images, normalise and pad them to the stride; yield (indices, batch, size)."""
        groups: dict[tuple[int, int], list[int]] = {}
        for index, tensor in enumerate(tensors):
            groups.setdefault((tensor.shape[-2], tensor.shape[-1]), []).append(index)
        stride = self.feature_info.max_stride
        for (h, w), indices in groups.items():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                batch = self.normalize(torch.stack([tensors[i] for i in chunk]))
                batch = F.pad(batch, (0, -w % stride, 0, -h % stride))
                yield chunk, batch, (h, w)

    @contextmanager
    def _eval(self) -> Iterator[None]:
        """Evaluation mode for the duration of a call, restoring the previous mode after."""
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)
