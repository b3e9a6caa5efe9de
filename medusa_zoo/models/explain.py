"""What a Medusa network attends to: the maps behind ``MultiTaskNet.explain`` and a picture of them.

Each Medusa task head has two attentions (``shared/DESIGN.md`` 1.2): Shared Feature Attention
(SFA), a sigmoid mask over each scale's backbone features, and Multi-Scale Attention (MSA), a
per-pixel softmax over the S scales that weights them before they are fused. :func:`explain`
runs the images exactly as ``predict`` does (same fitting into the design size, padding,
batching and cropping) with the heads recording both, and brings the maps back to each image's
own size, so they line up pixel for pixel with ``predict``'s outputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from typing import Any, Protocol

import numpy as np
import torch

from ..backbones import FeatureInfo
from ..errors import IncompatibleConfigError, InvalidImageError
from ..heads import HEADS, IndependentHeads, MedusaHead
from ..heads.medusa import AttentionRecord
from ..inputs import ImageInput, to_image_list
from ..resize import bilinear
from .config import ModelConfig
from .fitting import fitted_size, resize, target_size
from .inference import check_batch_size, requested_tasks

Explanation = dict[str, Any]  # one task's maps: see explain()

# one colour per scale, finest first (distinct hues that stay apart for the common colour blindnesses)
SCALE_COLOURS = np.array(
    [[0, 114, 178], [230, 159, 0], [0, 158, 115], [204, 121, 167], [86, 180, 233], [213, 94, 0], [240, 228, 66]],
    dtype=np.float32,
)


class Explainable(Protocol):
    """What explaining needs of a network (a ``MultiTaskNet``): its parts and predict's batching."""

    config: ModelConfig
    tasks: dict[str, Any]
    decoder: Any
    feature_info: FeatureInfo

    def __call__(self, x: torch.Tensor, tasks: Sequence[str] | None = None) -> Any: ...

    def _eval(self) -> AbstractContextManager[None]: ...

    def _batches(
        self, tensors: list[torch.Tensor], batch_size: int = 8, canvas: tuple[int, int] | None = None
    ) -> Iterator[tuple[list[int], torch.Tensor, tuple[int, int]]]: ...


def explain(
    model: Explainable,
    images: ImageInput | Sequence[ImageInput],
    tasks: Sequence[str] | None = None,
    batch_size: int = 8,
    *,
    size: int | Sequence[int] | None = None,
    native: bool = False,
    mask_maps: bool = False,
) -> dict[str, Explanation] | list[dict[str, Explanation]]:
    """Per image and task, Medusa's attention at the image's own size (``MultiTaskNet.explain``).

    Takes ``predict``'s images and options and runs them the same way, so the maps line up pixel
    for pixel with its outputs. Returns one dict per image (a list for lists and BCHW tensors)
    mapping each task in ``tasks`` (default: all) to CPU float32 tensors:

    - ``"scales"``: the S strides of the shared features, finest first (e.g. ``[4, 8, 16, 32]``);
    - ``"scale_weights"``: (S, H, W), the Multi-Scale Attention softmax over the scales, in [0, 1]
      and summing to 1 at every pixel (bilinearly resized from the finest scale, as predict
      resizes logits);
    - ``"mask_energy"``: (S,), the Shared Feature Attention mask averaged over its channels and
      the image's pixels at each scale (padding left out): the share of that scale's shared
      features the task keeps, in [0, 1];
    - ``"mask_maps"`` (only with ``mask_maps=True``): (S, H, W), the mask's channel mean at each
      pixel (opt-in since it costs S floats per pixel per task).

    Heads without both attentions raise :class:`IncompatibleConfigError` (see :func:`attention_heads`).
    """
    wanted, batch_size = requested_tasks(tasks, model.tasks), check_batch_size(batch_size)
    heads = attention_heads(model, wanted)
    canvas = target_size(model.config.preprocessing.input_size, size, native)
    tensors, batched = to_image_list(images, min_size=1)
    sizes = [(int(t.shape[-2]), int(t.shape[-1])) for t in tensors]
    if canvas is not None:
        tensors = [resize(t, fitted_size(s, canvas)) for t, s in zip(tensors, sizes)]
    strides = list(model.feature_info.strides)
    results: list[dict[str, Explanation]] = [{} for _ in tensors]
    with model._eval(), torch.inference_mode():
        for indices, batch, fitted in model._batches(tensors, batch_size, canvas):
            records = _run_recorded(model, heads, batch)
            for name, record in records.items():
                for row, index in enumerate(indices):
                    place = _Placement(row, tuple(batch.shape[-2:]), fitted, sizes[index])
                    results[index][name] = _task_maps(record, place, strides, mask_maps)
    results = [{t: _owned(maps) for t, maps in result.items()} for result in results]
    return results if batched else results[0]


def attention_heads(model: Explainable, tasks: Sequence[str]) -> dict[str, MedusaHead]:
    """The Medusa heads of ``tasks``; :class:`IncompatibleConfigError` when one has no MSA or no SFA."""
    decoder = model.decoder
    if not isinstance(decoder, IndependentHeads) or not all(isinstance(decoder.heads[t], MedusaHead) for t in tasks):
        head = HEADS.get(model.config.head)
        raise IncompatibleConfigError(
            f"this {head.name!r} model ({head.description}) has no scale attention and no shared-feature mask "
            "to explain: explain() shows the Multi-Scale Attention (MSA) and Shared Feature Attention (SFA) "
            "that only Medusa heads have; load a 'medusa_*' architecture (medusa_zoo.list_models('medusa*'))"
        )
    heads = {t: decoder.heads[t] for t in tasks}
    for name, head in heads.items():
        if not head.has_scale_attention:
            raise IncompatibleConfigError(
                f"task {name!r} has a Medusa head built with scale_attention=False (the ablation without MSA), "
                "so it has no scale attention to explain; explain() needs heads built with scale_attention=True "
                "(the default of every 'medusa_*' architecture)"
            )
        if not head.has_feature_mask:
            raise IncompatibleConfigError(
                f"task {name!r} has a Medusa head built with mask='none' (the ablation without SFA), so it has "
                "no feature mask to explain; explain() needs mask='channel' (the default) or mask='spatial'"
            )
    return heads


class _Placement:
    """Where one image sits in a padded batch: its row, the padded input size, its fitted
    region (top-left) and the size of the image the maps go back to."""

    def __init__(self, row: int, padded: tuple[int, int], fitted: tuple[int, int], size: tuple[int, int]) -> None:
        self.row, self.padded, self.fitted, self.size = row, padded, fitted, size

    def to_image(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, K, h, w) maps in [0, 1] of the padded batch -> (K, H, W) of this image, as predict resizes
        logits (clamped: interpolation's rounding may step a weight of 1 over by 4e-7)."""
        region = bilinear(maps[self.row : self.row + 1].float(), self.padded)[..., : self.fitted[0], : self.fitted[1]]
        return resize(region, self.size)[0].clamp_(0, 1)


def _run_recorded(model: Explainable, heads: dict[str, MedusaHead], batch: torch.Tensor) -> dict[str, AttentionRecord]:
    with ExitStack() as stack:
        records = {name: stack.enter_context(head.record_attention()) for name, head in heads.items()}
        model(batch, list(heads))
    return records


def _task_maps(record: AttentionRecord, place: _Placement, strides: list[int], mask_maps: bool) -> Explanation:
    assert record.scale_weights is not None and len(record.masks) == len(strides)  # attention_heads checked
    energy, maps = [], []
    for mask, stride in zip(record.masks, strides):
        mean = mask.float().mean(dim=1, keepdim=True)  # over channels: the share of features kept
        region = mean[place.row, 0, : math.ceil(place.fitted[0] / stride), : math.ceil(place.fitted[1] / stride)]
        energy.append(region.mean())
        if mask_maps:
            maps.append(place.to_image(mean)[0])
    out: Explanation = {
        "scales": list(strides),
        "scale_weights": place.to_image(record.scale_weights),
        "mask_energy": torch.stack(energy),
    }
    if mask_maps:
        out["mask_maps"] = torch.stack(maps)
    return out


def _owned(maps: Explanation) -> Explanation:
    """Ordinary tensors on the CPU, each owning its memory (made outside inference mode)."""
    return {k: v.cpu().clone() if isinstance(v, torch.Tensor) else v for k, v in maps.items()}


def attention_picture(weights: torch.Tensor) -> np.ndarray:
    """(H, W, 3) uint8 picture of MSA ``weights`` (S, H, W): each pixel coloured by its dominant scale.

    Scale ``i`` (finest first) has colour ``SCALE_COLOURS[i]`` (cycling past 7 scales). The colour
    is blended towards white by the pixel's uncertainty: full colour where one scale takes all the
    weight, white where all S scales weigh ``1/S``.
    """
    if not isinstance(weights, torch.Tensor) or weights.dim() != 3 or 0 in weights.shape:
        raise InvalidImageError(
            f"attention_picture takes (S, H, W) scale weights from explain(), got {_shape(weights)}"
        )
    weights = weights.detach().float().cpu()
    if not bool(torch.isfinite(weights).all()):
        raise InvalidImageError("attention_picture takes finite scale weights (explain()'s 'scale_weights')")
    count = weights.shape[0]
    top, dominant = weights.max(dim=0)
    confidence = ((top - 1 / count) / (1 - 1 / count)).clamp(0, 1) if count > 1 else torch.ones_like(top)
    colour = SCALE_COLOURS[dominant.numpy() % len(SCALE_COLOURS)]
    picture = 255 + confidence.numpy()[..., None] * (colour - 255)
    return np.round(picture).astype(np.uint8)


def scale_colours(strides: Sequence[int]) -> dict[int, tuple[int, int, int]]:
    """The legend of :func:`attention_picture`: each scale's stride -> its RGB colour."""
    return {s: tuple(int(c) for c in SCALE_COLOURS[i % len(SCALE_COLOURS)]) for i, s in enumerate(strides)}


def _shape(value: object) -> str:
    return f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
