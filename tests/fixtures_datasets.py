"""Tiny NYUD-v2 and PASCAL-Context folders in the MTL reference code's layouts, with known content.

Each writer fills ``root`` with random but seeded files in exactly the on-disk formats of the
real datasets (JPEG images, label PNGs, ``.npy`` arrays, ``.mat`` files with the real
structures) and returns, per image name, the arrays a correct loader must give back.  The
expected values are computed here independently of :mod:`medusa_zoo.data`, from the
conventions of the reference code, so that tests compare against them and not the loader's
own helpers.  Edges are the exception: a test checks them against the known boundary.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.io
from PIL import Image

__all__ = [
    "write_nyud_fixture", "write_pascal_fixture", "write_parts_cache", "NORMALS_VALID_SAMPLE", "NORMALS_INVALID_SAMPLE",
]

NORMALS_VALID_SAMPLE = (440, 158, 284)  # wall, floor, person: NYUD-like PASCAL-Context classes
NORMALS_INVALID_SAMPLE = (360, 420, 187)  # sky, tree, grass: not in NYUD
# PASCAL-Part names used below -> the reference's 6-part index (restated, not imported).
_PARTS = {"head": 1, "hair": 1, "neck": 2, "torso": 2, "ruarm": 3, "llarm": 4, "lhand": 4,
          "luleg": 5, "rlleg": 6, "rfoot": 6}
_OBJ_DTYPE = [("class", object), ("class_ind", object), ("mask", object), ("parts", object)]
_PART_DTYPE = [("part_name", object), ("mask", object)]


def _write_split(path: str, names: Sequence[str]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(f"{n}\n" for n in names))


def _write_jpeg(path: str, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Write a random JPEG; return what decoding it gives, as uint8 (3, H, W)."""
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path, quality=95)
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).transpose(2, 0, 1).copy()


def _makedirs(root: str, folders: Sequence[str]) -> None:
    for folder in folders:
        os.makedirs(os.path.join(root, folder), exist_ok=True)


def write_nyud_fixture(
    root: str | os.PathLike[str],
    names_train: Sequence[str] = ("0001", "0002", "0003"),
    names_val: Sequence[str] = ("0004", "0005"),
    size: tuple[int, int] = (24, 32),
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """Write an ``NYUD_MT``-layout folder; return ``{name: {key: expected array}}`` in sample format."""
    root = os.fspath(root)
    h, w = size
    rng = np.random.default_rng(seed)
    _makedirs(root, ("images", "segmentation", "depth", "normals", "edge", "gt_sets"))
    _write_split(os.path.join(root, "gt_sets", "train.txt"), names_train)
    _write_split(os.path.join(root, "gt_sets", "val.txt"), names_val)
    expected = {}
    for name in (*names_train, *names_val):
        image = _write_jpeg(os.path.join(root, "images", f"{name}.jpg"), rng, size)
        seg = rng.integers(0, 41, size, dtype=np.uint8)
        seg[0, 0], seg[0, 1], seg[0, 2] = 0, 1, 40  # unlabelled, first and last class
        Image.fromarray(seg).save(os.path.join(root, "segmentation", f"{name}.png"))
        depth = rng.uniform(0.5, 10.0, size).astype(np.float32)
        depth[1, :5] = 0.0  # no measurement
        np.save(os.path.join(root, "depth", f"{name}.npy"), depth)
        normals = rng.normal(size=(h, w, 3))
        normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
        normals[2, :4] = 0.0  # invalid
        np.save(os.path.join(root, "normals", f"{name}.npy"), normals.astype(np.float32))
        edge = (rng.random(size) > 0.8).astype(np.float32)
        np.save(os.path.join(root, "edge", f"{name}.npy"), edge)
        expected[name] = {
            "image": image,
            "semseg": np.where(seg == 0, 255, seg.astype(np.int64) - 1),
            "depth": depth[None],
            "normals": normals.astype(np.float32).transpose(2, 0, 1),
            "edge": edge[None],
        }
    return expected


def _mask(size: tuple[int, int], rows: slice, cols: slice) -> np.ndarray:
    m = np.zeros(size, dtype=np.uint8)
    m[rows, cols] = 1
    return m


def _struct(dtype: list[tuple[str, type]], rows: list[tuple[Any, ...]]) -> np.ndarray:
    """A 1xN MATLAB struct array as scipy.io.savemat writes it."""
    out = np.zeros((1, len(rows)), dtype=dtype)
    for i, row in enumerate(rows):
        out[0, i] = row
    return out


def _person_objects(kind: int, size: tuple[int, int]) -> tuple[list[tuple[Any, ...]], np.ndarray, bool]:
    """PASCAL-Part objects for one image; ``kind`` 0: persons with parts, 1: only a dog with parts,
    2: a person without parts, 3: no object.  Returns (objects, expected parts, has a person)."""
    w = size[1]
    target = np.zeros(size, dtype=np.int64)
    if kind == 3:
        return [], target, False
    if kind == 2:
        person = ("person", np.array([[15]], np.uint8), _mask(size, slice(2, 9), slice(2, 9)), np.zeros((0, 0)))
        return [person], target, True
    parts_a = [("hair", slice(0, 2), slice(0, 6)), ("head", slice(2, 5), slice(0, 6)),
               ("neck", slice(5, 6), slice(2, 4)), ("torso", slice(6, 12), slice(0, 6)),
               ("ruarm", slice(6, 9), slice(6, 8)), ("llarm", slice(9, 12), slice(6, 8)),
               ("luleg", slice(12, 16), slice(0, 3)), ("rlleg", slice(16, 20), slice(0, 3)),
               ("rfoot", slice(20, 22), slice(0, 3))]
    parts_b = [("head", slice(3, 6), slice(w - 8, w - 2)), ("lhand", slice(10, 13), slice(5, 7))]  # overlaps A
    objects = []
    for class_name, class_ind, parts in (("person", 15, parts_a), ("dog", 12, parts_b), ("person", 15, parts_b)):
        if kind == 1 and class_ind == 15:
            continue
        part_rows = [(pname, _mask(size, r, c)) for pname, r, c in parts]
        inst = np.maximum.reduce([m for _, m in part_rows])
        objects.append((class_name, np.array([[class_ind]], np.uint8), inst, _struct(_PART_DTYPE, part_rows)))
        if class_ind == 15:
            for pname, r, c in parts:  # later parts and objects overwrite earlier ones
                target[r, c] = _PARTS[pname]
    return objects, target, kind == 0


def write_pascal_fixture(
    root: str | os.PathLike[str],
    names_train: Sequence[str] = ("2008_000001", "2008_000002", "2008_000003", "2008_000004"),
    names_val: Sequence[str] = ("2008_000005", "2008_000006"),
    size: tuple[int, int] = (24, 32),
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Write a ``PASCAL_MT``-layout folder; return ``{name: {key: expected value}}``.

    Keys: ``image``, ``semseg``, ``human_parts``, ``saliency``, ``normals`` (sample format),
    plus ``label_map`` (the written LabelMap), ``boundary`` (the LabelMap's only label change
    lies between columns ``boundary - 1`` and ``boundary``) and ``has_person``.  Image ``i``
    of the listing gets person annotations of kind ``i % 4`` (see :func:`_person_objects`).
    """
    root = os.fspath(root)
    h, w = size
    rng = np.random.default_rng(seed)
    _makedirs(root, ("JPEGImages", "semseg/pascal-context", "human_parts", "normals_distill", "sal_distill",
                     "pascal-context/trainval"))
    _write_split(os.path.join(root, "ImageSets", "Context", "train.txt"), names_train)
    _write_split(os.path.join(root, "ImageSets", "Context", "val.txt"), names_val)
    expected = {}
    for i, name in enumerate((*names_train, *names_val)):
        image = _write_jpeg(os.path.join(root, "JPEGImages", f"{name}.jpg"), rng, size)
        seg = rng.integers(0, 21, size, dtype=np.uint8)
        seg[0, :3] = 255  # ignore
        Image.fromarray(seg).save(os.path.join(root, "semseg", "pascal-context", f"{name}.png"))
        sal = rng.integers(0, 256, size, dtype=np.uint8)
        sal[0, 0], sal[0, 1] = 127, 128  # either side of the 0.5 threshold
        Image.fromarray(sal).save(os.path.join(root, "sal_distill", f"{name}.png"))
        boundary = w // 2
        label_map = np.full(size, NORMALS_VALID_SAMPLE[i % 3], dtype=np.uint16)
        label_map[:, boundary:] = NORMALS_INVALID_SAMPLE[i % 3]
        scipy.io.savemat(os.path.join(root, "pascal-context", "trainval", f"{name}.mat"), {"LabelMap": label_map})
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(os.path.join(root, "normals_distill", f"{name}.png"))
        normals = 2.0 * rgb.astype(np.float64) / 255.0 - 1.0
        normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
        normals[:, boundary:] = 0.0  # class without NYUD counterpart: invalid
        objects, parts, has_person = _person_objects(i % 4, size)
        anno = np.zeros((1, 1), dtype=[("imname", object), ("objects", object)])
        anno[0, 0] = (name, _struct(_OBJ_DTYPE, objects))
        scipy.io.savemat(os.path.join(root, "human_parts", f"{name}.mat"), {"anno": anno})
        expected[name] = {
            "image": image,
            "semseg": seg.astype(np.int64),
            "human_parts": parts,
            "saliency": (sal >= 128).astype(np.float32)[None],
            "normals": normals.astype(np.float32).transpose(2, 0, 1),
            "label_map": label_map,
            "boundary": boundary,
            "has_person": has_person,
        }
    return expected


def write_parts_cache(root: str | os.PathLike[str], split: str, categories: dict[str, list[int]]) -> str:
    """Write the reference's ``ImageSets/Parts/<split>.txt`` JSON cache ({name: [object class ids]})."""
    path = os.path.join(os.fspath(root), "ImageSets", "Parts", f"{split}.txt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(categories, f)
    return path
