"""SynthRooms' opt-in photo textures change the image only, deterministically, and come from the shipped file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medusa_zoo.data import DATASETS
from medusa_zoo.data.synthrooms import SynthRooms
from medusa_zoo.data.synthrooms.dataset import SPLITS, sample_rng
from medusa_zoo.data.synthrooms.photo_textures import (
    PHOTO_KINDS,
    build_photo_textures,
    photo_bank,
    photo_texture_index,
    with_photo_textures,
)
from medusa_zoo.data.synthrooms.sampling import sample_scene
from medusa_zoo.errors import DatasetError

LABELS = ("semseg", "depth", "normals", "edge", "saliency", "parts")


def test_photo_textures_change_the_image_and_no_label() -> None:
    plain = SynthRooms("val", size=3, resolution=(48, 64))
    photo = SynthRooms("val", size=3, resolution=(48, 64), photo_textures=1.0)
    for index in range(3):
        a, b = plain.arrays(index), photo.arrays(index)
        for name in LABELS:
            assert np.array_equal(a[name], b[name]), name
        assert not np.array_equal(a["image"], b["image"])


def test_photo_textures_are_deterministic() -> None:
    first = SynthRooms("train", size=2, resolution=(48, 64), photo_textures=0.5).arrays(1)
    again = SynthRooms("train", size=2, resolution=(48, 64), photo_textures=0.5).arrays(1)
    assert all(np.array_equal(first[k], again[k]) for k in first)


def test_a_material_shared_by_pieces_stays_shared() -> None:
    scene = sample_scene(sample_rng(0, "train", 5), (48, 64))
    swapped = with_photo_textures(scene, np.random.Generator(np.random.PCG64(1)), 1.0)
    textures: dict[int, set[int]] = {}
    for before, after in zip(scene.pieces, swapped.pieces):
        textures.setdefault(id(before.material), set()).add(after.material.texture)
    assert any(sum(p.material is q.material for q in scene.pieces) > 1 for p in scene.pieces)  # a table's legs
    assert all(len(t) == 1 for t in textures.values())
    photo_range = range(photo_texture_index(PHOTO_KINDS[0], 0), photo_texture_index(PHOTO_KINDS[-1], 2) + 1)
    assert all(next(iter(t)) in photo_range for t in textures.values())
    assert with_photo_textures(scene, np.random.Generator(np.random.PCG64(1)), 0.0) is scene


def test_the_shipped_textures_are_the_ones_the_code_cuts(tmp_path: Path) -> None:
    shipped = np.load(Path(__import__("medusa_zoo.data.synthrooms.photo_textures", fromlist=["_FILE"])._FILE))
    assert np.array_equal(build_photo_textures(tmp_path / "rebuilt.npy"), shipped)
    assert photo_bank().min() >= 0 and photo_bank().max() <= 1 and photo_bank().std() > 0.1


def test_bad_probability_and_the_recipe_option() -> None:
    with pytest.raises(DatasetError, match="photo_textures"):
        SynthRooms("val", size=1, photo_textures=1.5)
    dataset = DATASETS.get("synthrooms").build("val", ["depth"], 2, photo_textures=0.25)
    assert dataset.photo_textures == 0.25 and SPLITS["val"] == 1
