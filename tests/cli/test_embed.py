"""``python -m medusa_zoo embed``: a folder of images to an embeddings file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from medusa_zoo.cli import main
from medusa_zoo.embeddings import load_embeddings


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray((rng.random((40, 56, 3)) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def test_cli_writes_a_file_and_reports_shape(tmp_path, capsys) -> None:
    folder = _folder(tmp_path)
    out = tmp_path / "cli.safetensors"
    argv = ["--model", "medusa_efficientnet_lite0.synthrooms", "--images", str(folder), "--out", str(out),
            "--size", "64", "64", "--batch-size", "2", "--device", "cpu", "--no-progress"]
    assert main(["embed", *argv]) == 0
    printed = capsys.readouterr().out
    assert str(out.resolve()) in printed and "(3, 256)" in printed
    loaded = load_embeddings(out)
    assert loaded.vectors.shape == (3, 256) and loaded.metadata["model"] == "medusa_efficientnet_lite0.synthrooms"
    assert main(["embed", "--model", "medusa_efficientnet_lite0.synthrooms", "--images", str(tmp_path / "nope"),
                     "--out", str(out), "--device", "cpu"]) == 2
    assert "error: image folder not found" in capsys.readouterr().err
