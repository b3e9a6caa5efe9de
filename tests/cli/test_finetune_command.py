"""``medusa-zoo finetune``: a head for a new task from two folders of PNGs, saved and loadable; typed errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import medusa_zoo
from medusa_zoo.cli import main
from medusa_zoo.cli.finetune import DEFAULT_TRUNK

SIZE = 64


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def folders(root: Path, count: int = 6) -> tuple[Path, Path]:
    """``count`` images whose right half is bright, and masks saying which half (class 0 or 1)."""
    images, masks = root / "images", root / "masks"
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        image = rng.integers(0, 60, (SIZE, SIZE, 3), dtype=np.uint8)
        image[:, SIZE // 2 :] += 180
        mask = np.zeros((SIZE, SIZE), dtype=np.uint8)
        mask[:, SIZE // 2 :] = 1
        Image.fromarray(image).save(images / f"room{i}.jpg")
        Image.fromarray(mask).save(masks / f"room{i}.png")
    return images, masks


def test_finetune_trains_saves_and_the_head_loads_on_a_fresh_trunk(tmp_path: Path, capsys) -> None:
    images, masks = folders(tmp_path)
    out = tmp_path / "halves_head"
    argv = ["finetune", "--task", "halves", "--kind", "dense_classification", "--labels", "dark", "bright",
            "--images", str(images), "--masks", str(masks), "--val-images", str(images), "--val-masks", str(masks),
            "--steps", "3", "--batch-size", "2", "--threads", "1", "--device", "cpu", "--no-progress",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert (out / "head.json").is_file() and (out / "head.safetensors").is_file()
    assert f"wrote {out.resolve()}/head.json and head.safetensors: task 'halves' (segmentation)" in printed
    assert "parameters" in printed and "3 steps" in printed and "validation: mIoU" in printed
    record = json.loads((out / "head.json").read_text())
    assert record["task"]["labels"] == ["dark", "bright"]
    assert f"trained {record['parameters']:,} of " in printed
    model = medusa_zoo.load(DEFAULT_TRUNK, device="cpu")
    task = model.load_head(out)
    assert task.name == "halves" and list(task.labels) == ["dark", "bright"]
    prediction = model.predict(np.zeros((SIZE, SIZE, 3), dtype=np.uint8), tasks=["halves"])
    assert prediction["halves"].shape == (SIZE, SIZE)


def test_unmatched_folders_exit_2_naming_the_files(tmp_path: Path, capsys) -> None:
    images, masks = folders(tmp_path, count=2)
    (masks / "room1.png").rename(masks / "other.png")
    argv = ["finetune", "--task", "halves", "--kind", "dense_classification", "--out-channels", "2",
            "--images", str(images), "--masks", str(masks), "--device", "cpu", "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: train_data: images and masks are matched by file name")
    assert "room1.jpg" in err and "other.png" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_validation_folders_go_together(tmp_path: Path, capsys) -> None:
    images, masks = folders(tmp_path, count=1)
    argv = ["finetune", "--task", "halves", "--kind", "dense_classification", "--out-channels", "2",
            "--images", str(images), "--masks", str(masks), "--val-images", str(images), "--out", str(tmp_path / "o")]  # fmt: skip
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error: --val-images and --val-masks go together")


@pytest.mark.parametrize(("flag", "message"), [
    ("--images", "folder '{missing}' does not exist"),
    ("--masks", "folder '{missing}' does not exist"),
    ("--steps", "expected a positive integer"),
])  # fmt: skip
def test_a_missing_folder_or_bad_value_exits_2_before_loading(tmp_path: Path, flag: str, message: str, capsys) -> None:
    images, masks = folders(tmp_path, count=1)
    missing = tmp_path / "nowhere"
    values = {"--images": str(images), "--masks": str(masks), "--steps": "3"}
    values[flag] = "0" if flag == "--steps" else str(missing)
    argv = ["finetune", "--task", "t", "--out", str(tmp_path / "o")] + [x for kv in values.items() for x in kv]
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert f"argument {flag}: {message.format(missing=missing)}" in capsys.readouterr().err


def test_out_channels_and_labels_exclude_each_other(tmp_path: Path, capsys) -> None:
    images, masks = folders(tmp_path, count=1)
    argv = ["finetune", "--task", "t", "--out-channels", "2", "--labels", "a", "b", "--images", str(images),
            "--masks", str(masks), "--out", str(tmp_path / "o")]  # fmt: skip
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_help_shows_the_arguments(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["finetune", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert all(flag in text for flag in ("--images", "--masks", "--val-images", "--labels", "--out-channels", DEFAULT_TRUNK))
