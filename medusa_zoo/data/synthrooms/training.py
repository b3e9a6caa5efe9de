"""What the training engine needs of SynthRooms: the builder for a recipe's ``data`` options and
the training augmentation (both referenced by SynthRooms' row in :mod:`medusa_zoo.data.catalog`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ..transforms import ColorJitter, RandomCrop, RandomHorizontalFlip, RandomScale, Resize, Transform
from .dataset import SynthRooms


def from_options(
    split: str,
    tasks: Sequence[str],
    images: int | None = None,
    *,
    seed: int = 0,
    resolution: Sequence[int] = (192, 256),
    sizes: Mapping[str, int] | None = None,
    cache_dir: str | os.PathLike | None = None,
    photo_textures: float = 0.0,
) -> SynthRooms:
    """``split`` rendered at ``resolution`` from ``seed``: ``images`` samples, else ``sizes[split]``,
    else the split's default size; ``cache_dir`` keeps rendered samples on disk; ``photo_textures``
    is the share of materials wearing textures cut from photographs."""
    size = images if images is not None else (sizes or {}).get(split)
    return SynthRooms(split, size=size, seed=seed, resolution=tuple(resolution), tasks=tasks, cache_dir=cache_dir,
                      photo_textures=photo_textures)


def augmentation(size: tuple[int, int], crop: tuple[int, int] | None = None) -> list[Transform]:
    """Resize to ``size``, flip, scale uniform in [1, 1.25], random crop of ``crop`` (default
    ``size``; a smaller crop trains faster at the evaluation scale), light colour jitter (0.2
    brightness / contrast / saturation; no hue shift: the scenes' colours are random already,
    and a hue shift costs more than rendering the image)."""
    return [
        Resize(size),
        RandomHorizontalFlip(),
        RandomScale(scale_range=(1.0, 1.25)),
        RandomCrop(size if crop is None else crop),
        ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.0),
    ]
