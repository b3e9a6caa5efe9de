"""Textures cut from photographs, for SynthRooms scenes that look a little more like photos.

Opt-in (``SynthRooms(photo_textures=p)``; recipes: ``"data": {"photo_textures": p}``): each
distinct material of a scene swaps its procedural pattern for a photographic one with probability
``p``. The swap draws from its own random stream (``SeedSequence([seed, split, index, 1])``), so
geometry, colours, lights and therefore every label stay those of the same sample without photo
textures: only the image changes, which makes an ablation of the textures exact.

The patterns are 64x64 grey levels cut from scikit-image's sample photographs (brick, grass and
gravel, released into the public domain; the wooden table of ``coffee``, CC0) and stored in
``photo_textures.npy`` (uint8), so rendering needs no scikit-image and stays bit-identical.
:func:`build_photo_textures` (maintainers; needs scikit-image) rebuilds that file.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np

from .scene import Material, Scene
from .textures import TEX_SIZE, TEXTURE_KINDS, texture_bank

__all__ = ["PHOTO_KINDS", "full_bank", "photo_bank", "photo_texture_index", "with_photo_textures", "build_photo_textures"]

PHOTO_KINDS: tuple[str, ...] = ("brick", "grass", "gravel", "wood_photo")
_VARIANTS = 3
_FILE = Path(__file__).with_name("photo_textures.npy")
#: (photo, top, left, side) of each cut: three per kind, ``side`` pixels averaged down to 64x64.
_CUTS = {
    "brick": ("brick", ((0, 0, 256), (256, 128, 256), (64, 256, 256))),
    "grass": ("grass", ((0, 0, 256), (256, 256, 256), (128, 64, 128))),
    "gravel": ("gravel", ((0, 0, 256), (256, 256, 256), (64, 320, 128))),
    "wood_photo": ("coffee", ((150, 472, 128), (200, 0, 64), (0, 420, 64))),
}


@functools.lru_cache(maxsize=1)
def photo_bank() -> np.ndarray:
    """All photo textures as float32 in [0, 1], flattened in :data:`PHOTO_KINDS` order, 3 variants each."""
    stored = np.load(_FILE, allow_pickle=False)
    if stored.shape != (len(PHOTO_KINDS) * _VARIANTS, TEX_SIZE, TEX_SIZE) or stored.dtype != np.uint8:
        raise ValueError(f"{_FILE} holds {stored.shape} {stored.dtype}; rebuild it with build_photo_textures()")
    bank = (stored.astype(np.float32) / np.float32(255)).ravel()
    bank.setflags(write=False)
    return bank


@functools.lru_cache(maxsize=1)
def full_bank() -> np.ndarray:
    """What the renderer looks textures up in: the procedural bank, then the photo textures (so
    procedural textures keep their offsets and scenes without photo textures render as before)."""
    bank = np.concatenate([texture_bank(), photo_bank()])
    bank.setflags(write=False)
    return bank


def photo_texture_index(kind: str, variant: int) -> int:
    """Index of a photo texture in the renderer's bank, after every procedural one."""
    return len(TEXTURE_KINDS) * 3 + PHOTO_KINDS.index(kind) * _VARIANTS + variant


def with_photo_textures(scene: Scene, rng: np.random.Generator, probability: float) -> Scene:
    """``scene`` with each distinct non-emissive material's texture swapped for a photo one with ``probability``."""
    if probability <= 0:
        return scene
    swapped: dict[int, Material] = {}

    def swap(material: Material) -> Material:
        if id(material) not in swapped:
            draw, kind, variant = rng.random(), int(rng.integers(len(PHOTO_KINDS))), int(rng.integers(_VARIANTS))
            keep = material.emission > 0 or draw >= probability
            texture = photo_texture_index(PHOTO_KINDS[kind], variant)
            swapped[id(material)] = material if keep else dataclasses.replace(material, texture=texture)
        return swapped[id(material)]

    shell = tuple(swap(m) for m in scene.shell)
    items = tuple(dataclasses.replace(item, material=swap(item.material)) for item in scene.wall_items)
    pieces = tuple(dataclasses.replace(piece, material=swap(piece.material)) for piece in scene.pieces)
    return dataclasses.replace(scene, shell=shell, wall_items=items, pieces=pieces)


def build_photo_textures(path: Path = _FILE) -> np.ndarray:
    """Cut the textures from scikit-image's photos and write them to ``path`` (maintainers only)."""
    import skimage.data

    tiles = []
    for kind in PHOTO_KINDS:
        photo, cuts = _CUTS[kind]
        image = getattr(skimage.data, photo)().astype(np.float64)
        grey = image if image.ndim == 2 else image @ np.array([0.299, 0.587, 0.114])
        for top, left, side in cuts:
            block = side // TEX_SIZE
            patch = grey[top : top + side, left : left + side].reshape(TEX_SIZE, block, TEX_SIZE, block).mean(axis=(1, 3))
            low, high = np.percentile(patch, (1, 99))
            tiles.append(np.clip((patch - low) / max(high - low, 1e-6) * 255 + 0.5, 0, 255).astype(np.uint8))
    out = np.stack(tiles)
    np.save(path, out)
    return out
