"""NYUD-v2 and PASCAL-Context loaders read back tiny fixture folders in the MTL reference layouts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage
from torch.utils.data import default_collate
from torchvision import tv_tensors
from torchvision.transforms import v2

from medusa_zoo.data import nyud, pascal
from medusa_zoo.data.nyud import NYUDv2
from medusa_zoo.data.pascal import PascalContext
from medusa_zoo.errors import DatasetError, DatasetNotFoundError
from medusa_zoo.tasks import HUMAN_PART_LABELS, NYUD_LABELS, PASCAL_LABELS

from tests.fixtures_datasets import (
    NORMALS_INVALID_SAMPLE,
    NORMALS_VALID_SAMPLE,
    write_nyud_fixture,
    write_parts_cache,
    write_pascal_fixture,
)

SIZE = (24, 32)
FORMAT = {  # key -> (dtype, shape without H, W, tv_tensor type)
    "image": (torch.uint8, (3,), tv_tensors.Image),
    "semseg": (torch.int64, (), tv_tensors.Mask),
    "human_parts": (torch.int64, (), tv_tensors.Mask),
    "depth": (torch.float32, (1,), tv_tensors.Mask),
    "edge": (torch.float32, (1,), tv_tensors.Mask),
    "saliency": (torch.float32, (1,), tv_tensors.Mask),
    "normals": (torch.float32, (3,), tv_tensors.Mask),
}


@pytest.fixture
def nyud_root(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "NYUD_MT"
    return root, write_nyud_fixture(root, size=SIZE)


@pytest.fixture
def pascal_root(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "PASCAL_MT"
    return root, write_pascal_fixture(root, size=SIZE)


DATASETS = {"nyud": (NYUDv2, write_nyud_fixture), "pascal": (PascalContext, write_pascal_fixture)}


def _make(kind: str, tmp_path: Path) -> tuple[type, Path, dict]:
    cls, writer = DATASETS[kind]
    root = tmp_path / kind
    return cls, root, writer(root, size=SIZE)


def _check_format(sample: dict, tasks: tuple[str, ...], dataset: str, split: str) -> None:
    assert set(sample) == {"image", "meta", *tasks}
    for key in ("image", *tasks):
        dtype, lead, kind = FORMAT[key]
        assert isinstance(sample[key], kind), key
        assert sample[key].dtype == dtype, key
        assert tuple(sample[key].shape) == (*lead, *SIZE), key
    meta = sample["meta"]
    assert meta["dataset"] == dataset and meta["split"] == split
    assert isinstance(meta["name"], str) and isinstance(meta["index"], int)


# --------------------------------------------------------------------------------------------- NYUD
@pytest.mark.parametrize("split", ["train", "val"])
def test_nyud_reads_back_fixture(nyud_root, split):
    root, expected = nyud_root
    ds = NYUDv2(root, split=split)
    assert len(ds) == (3 if split == "train" else 2)
    for i in range(len(ds)):
        s = ds[i]
        _check_format(s, nyud.TASKS, "nyud", split)
        assert s["meta"]["index"] == i
        exp = expected[s["meta"]["name"]]
        np.testing.assert_array_equal(s["image"].numpy(), exp["image"])
        np.testing.assert_array_equal(s["semseg"].numpy(), exp["semseg"])
        np.testing.assert_array_equal(s["depth"].numpy(), exp["depth"])
        np.testing.assert_allclose(s["normals"].numpy(), exp["normals"], atol=1e-6)
        np.testing.assert_array_equal(s["edge"].numpy(), exp["edge"])


def test_nyud_conventions(nyud_root):
    root, _ = nyud_root
    s = NYUDv2(root, tasks=["semseg", "depth", "normals"])[0]
    assert s["semseg"][0, :3].tolist() == [255, 0, 39]  # raw 0 (unlabelled), 1, 40
    assert int(s["semseg"][s["semseg"] != 255].max()) <= len(NYUD_LABELS) - 1
    assert (s["depth"][0, 1, :5] == 0).all()
    norms = s["normals"].norm(dim=0)
    assert (s["normals"][:, 2, :4] == 0).all()
    valid = norms > 0
    torch.testing.assert_close(norms[valid], torch.ones_like(norms[valid]))
    assert nyud.SEMSEG_LABELS == NYUD_LABELS and len(nyud.SEMSEG_LABELS) == 40


def test_nyud_bad_content_names_the_file(nyud_root):
    root, _ = nyud_root
    Image.fromarray(np.full(SIZE, 41, np.uint8)).save(root / "segmentation" / "0001.png")
    np.save(root / "normals" / "0002.npy", np.full((*SIZE, 3), 128.0, np.float32))  # an image encoding
    ds = NYUDv2(root)
    with pytest.raises(DatasetError, match=r"segmentation.*0001\.png.*0\.\.40"):
        ds[0]
    with pytest.raises(DatasetError, match=r"normals.*0002\.npy.*\[-1, 1\]"):
        ds[1]
    np.save(root / "depth" / "0003.npy", np.ones((SIZE[0] - 1, SIZE[1]), np.float32))
    with pytest.raises(DatasetError, match=r"0003\.npy.*23x32 but the image is 24x32"):
        ds[2]


# ------------------------------------------------------------------------------------------- PASCAL
@pytest.mark.parametrize("split", ["train", "val"])
def test_pascal_reads_back_fixture(pascal_root, split):
    root, expected = pascal_root
    ds = PascalContext(root, split=split)
    assert len(ds) == (4 if split == "train" else 2)
    for i in range(len(ds)):
        s = ds[i]
        _check_format(s, pascal.TASKS, "pascal_context", split)
        exp = expected[s["meta"]["name"]]
        for key in ("image", "semseg", "human_parts", "saliency"):
            np.testing.assert_array_equal(s[key].numpy(), exp[key], err_msg=key)
        np.testing.assert_allclose(s["normals"].numpy(), exp["normals"], atol=1e-6)


def test_pascal_label_conventions(pascal_root):
    root, expected = pascal_root
    ds = PascalContext(root)
    s = ds[0]
    assert s["semseg"][0, :3].tolist() == [255, 255, 255]  # ignore kept
    assert s["saliency"][0, 0, :2].tolist() == [0.0, 1.0]  # 127 -> 0, 128 -> 1 (v / 255 > 0.5)
    assert set(s["saliency"].unique().tolist()) <= {0.0, 1.0}
    half = SIZE[1] // 2
    assert (s["normals"][:, :, half:] == 0).all()  # LabelMap class without NYUD counterpart
    torch.testing.assert_close(s["normals"][:, :, :half].norm(dim=0), torch.ones(SIZE[0], half))
    assert set(NORMALS_VALID_SAMPLE) <= pascal.NORMALS_VALID_CONTEXT_LABELS
    assert not set(NORMALS_INVALID_SAMPLE) & pascal.NORMALS_VALID_CONTEXT_LABELS
    assert len(pascal.NORMALS_VALID_CONTEXT_LABELS) == 170 and 427 in pascal.NORMALS_VALID_CONTEXT_LABELS
    unmasked = PascalContext(root, tasks=["normals"], mask_normals=False)[0]["normals"]
    assert (unmasked.norm(dim=0) > 0.99).all()
    assert pascal.SEMSEG_LABELS == PASCAL_LABELS and pascal.HUMAN_PART_LABELS == HUMAN_PART_LABELS


def test_pascal_human_parts(pascal_root):
    root, expected = pascal_root
    ds = PascalContext(root, tasks=["human_parts"], parts_only_with_humans=False)
    parts = {ds[i]["meta"]["name"]: ds[i]["human_parts"] for i in range(len(ds))}
    first = parts["2008_000001"]  # two persons (the second overwrites) and a dog
    assert set(first.unique().tolist()) == set(range(7))
    assert first[11, 5] == 4  # second person's hand drawn over the first's torso
    assert first[4, SIZE[1] - 3] == 1  # second person's head
    for name in ("2008_000002", "2008_000003", "2008_000004"):  # dog only, person without parts, no object
        assert (parts[name] == 0).all()
    assert {n for n, e in expected.items() if e["has_person"]} >= {"2008_000001", "2008_000003"}


def test_pascal_parts_only_with_humans(pascal_root):
    root, expected = pascal_root
    train = ["2008_000001", "2008_000002", "2008_000003", "2008_000004"]
    with_person = [n for n in train if expected[n]["has_person"]]
    only_parts = PascalContext(root, tasks=["human_parts"])  # reference default: filter
    assert only_parts.names == with_person == ["2008_000001", "2008_000003"]
    assert [only_parts[i]["meta"]["index"] for i in range(len(only_parts))] == [0, 1]
    assert PascalContext(root, tasks=["human_parts", "semseg"]).names == train
    assert PascalContext(root, tasks=["semseg", "human_parts"], parts_only_with_humans=True).names == with_person
    write_parts_cache(root, "train", {n: ([15] if n == "2008_000004" else [12]) for n in train})
    assert PascalContext(root, tasks=["human_parts"]).names == ["2008_000004"]  # the cache wins
    with pytest.raises(DatasetError, match="human_parts"):
        PascalContext(root, tasks=["semseg"], parts_only_with_humans=True)


def test_pascal_edges_follow_label_boundary(pascal_root):
    root, expected = pascal_root
    s = PascalContext(root, tasks=["edge"])[0]
    edge = s["edge"][0].numpy()
    b = expected[s["meta"]["name"]]["boundary"]
    assert set(np.unique(edge).tolist()) <= {0.0, 1.0}
    assert edge[:, : b - 1].sum() == 0 and edge[:, b + 1:].sum() == 0
    assert (edge[1:-1, b - 1:b + 1].sum(axis=1) == 1).all()  # thinned to exactly one pixel per row


def test_thin_and_label_edges_match_reference_ops():
    square = np.zeros((7, 7), np.uint8)  # scikit-image's documented example of morphology.thin
    square[1:-1, 2:-2] = 1
    square[0, 1] = 1
    want = np.zeros((7, 7), bool)
    want[0, 1] = want[1, 2] = want[2, 3] = want[3, 3] = want[4, 3] = True
    np.testing.assert_array_equal(pascal.thin(square), want)
    labels = np.zeros((12, 12), np.uint16)
    labels[3:9, 3:9] = 5  # a square region: its boundary becomes a closed 1-pixel-wide loop
    edge = pascal.label_edges(labels)
    assert edge.dtype == np.float32 and edge.shape == (1, 12, 12)
    edge = edge[0]
    assert edge[2:10, 2:10].sum() == edge.sum() and edge[4:7, 4:7].sum() == 0  # only next to the label change
    _, regions = ndimage.label(edge == 0)  # 4-connected: the loop separates inside from outside
    assert regions == 2 and edge.sum() < 2 * 4 * 6  # thinner than the 2-pixel Laplacian band


def test_pascal_prefers_voc12_semseg(pascal_root):
    root, _ = pascal_root
    (root / "semseg" / "VOC12").mkdir()
    Image.fromarray(np.full(SIZE, 7, np.uint8)).save(root / "semseg" / "VOC12" / "2008_000001.png")
    ds = PascalContext(root, tasks=["semseg"])
    assert (ds[0]["semseg"] == 7).all() and not (ds[1]["semseg"] == 7).all()
    Image.fromarray(np.full(SIZE, 21, np.uint8)).save(root / "semseg" / "VOC12" / "2008_000002.png")
    with pytest.raises(DatasetError, match=r"VOC12.*2008_000002\.png.*255"):
        ds[1]


# ------------------------------------------------------------------------------------------- shared
@pytest.mark.parametrize("kind,tasks", [("nyud", ("depth",)), ("nyud", ("edge", "semseg")),
                                        ("pascal", ("saliency",)), ("pascal", ("normals", "semseg")), ("pascal", ())])
def test_task_subset(tmp_path, kind, tasks):
    cls, root, _ = _make(kind, tmp_path)
    ds = cls(root, tasks=list(tasks))
    assert ds.tasks == tuple(t for t in cls.TASKS if t in tasks)
    assert set(ds[0]) == {"image", "meta", *tasks}


@pytest.mark.parametrize("kind", ["nyud", "pascal"])
def test_transform_and_collate(tmp_path, kind):
    cls, root, _ = _make(kind, tmp_path)
    seen = []

    def transform(sample):
        seen.append(sorted(sample))
        return v2.RandomHorizontalFlip(p=1.0)(sample)

    plain, flipped = cls(root), cls(root, transform=transform)
    s0, s1 = plain[1], flipped[1]
    assert seen == [sorted(s0)]
    for key in ("image", *cls.TASKS):
        torch.testing.assert_close(s1[key], s0[key].flip(-1))
    assert s1["meta"] == s0["meta"]
    resized = cls(root, transform=v2.Resize((12, 16)))[0]
    assert resized["semseg"].shape == (12, 16) and set(resized["semseg"].unique().tolist()) <= set(
        s0["semseg"].unique().tolist()) | set(plain[0]["semseg"].unique().tolist())  # nearest, no new labels
    batch = default_collate([plain[i] for i in range(len(plain))])
    assert batch["image"].shape == (len(plain), 3, *SIZE) and batch["semseg"].dtype == torch.int64
    assert batch["meta"]["name"] == plain.names and batch["meta"]["index"].tolist() == list(range(len(plain)))
    assert plain[-1]["meta"]["index"] == len(plain) - 1
    with pytest.raises(IndexError):
        plain[len(plain)]


@pytest.mark.parametrize("kind", ["nyud", "pascal"])
def test_missing_paths_raise_dataset_not_found(tmp_path, kind):
    cls, root, _ = _make(kind, tmp_path)
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetNotFoundError, match=f"{re.escape(str(missing))}.*Expected this layout"):
        cls(missing)
    split_file = cls(root, split="val").split_file()
    os.remove(split_file)
    with pytest.raises(DatasetNotFoundError, match=f"{re.escape(split_file)}.*Expected this layout") as info:
        cls(root, split="val")
    assert isinstance(info.value, FileNotFoundError)
    ds = cls(root)
    gone = [p for p in ds.task_paths("semseg", ds.names[1])] + [ds.image_path(ds.names[2])]
    for p in gone:
        os.remove(p)
    with pytest.raises(DatasetNotFoundError, match=rf"2 missing file.*first missing: '{re.escape(gone[0])}'"):
        cls(root)
    os.remove(ds.task_paths("edge", ds.names[0])[0])
    with pytest.raises(DatasetNotFoundError, match="3 missing file"):
        cls(root)


@pytest.mark.parametrize("kind", ["nyud", "pascal"])
def test_unneeded_missing_files_are_fine(tmp_path, kind):
    cls, root, _ = _make(kind, tmp_path)
    ds = cls(root)
    os.remove(ds.task_paths("edge", ds.names[0])[0])
    keep = [t for t in cls.TASKS if t not in ("edge", "normals")]  # PASCAL normals also read the LabelMap
    assert len(cls(root, tasks=keep)) == len(ds)


@pytest.mark.parametrize("kind", ["nyud", "pascal"])
def test_unknown_split_or_task(tmp_path, kind):
    cls, root, _ = _make(kind, tmp_path)
    with pytest.raises(DatasetError, match="valid splits: train, val"):
        cls(root, split="test")
    with pytest.raises(DatasetError, match=r"'sal'.*valid tasks: " + ", ".join(cls.TASKS)):
        cls(root, tasks=["semseg", "sal"])
