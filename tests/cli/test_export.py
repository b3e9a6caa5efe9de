"""``python -m medusa_zoo export``: a torch.export program file that loads and runs at other sizes."""

from __future__ import annotations

from pathlib import Path

import torch

import medusa_zoo
from medusa_zoo.cli import main


def test_export_writes_a_program_that_runs_at_another_size(tmp_path: Path, capsys) -> None:
    out = tmp_path / "mtl.pt2"
    assert main(["export", "--model", "medusa_efficientnet_lite0.synthrooms", "--out", str(out), "--tasks", "depth",
                 "--size", "64", "64"]) == 0  # fmt: skip
    assert "outputs ['depth']" in capsys.readouterr().out
    program = torch.export.load(str(out))
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        (depth,) = program.module()(x)
    model = medusa_zoo.load("medusa_efficientnet_lite0.synthrooms", device="cpu")
    with torch.no_grad():
        expected = model(x, ["depth"]).logits["depth"]
    assert depth.shape == (2, 1, 96, 128)
    assert float((depth - expected).abs().max()) <= 1e-4 * float(expected.abs().max())


def test_export_refuses_an_unknown_format(tmp_path: Path, capsys) -> None:
    assert main(["export", "--model", "medusa_regnetx002", "--out", str(tmp_path / "m.tflite")]) == 2
    assert "must end in .onnx or .pt2" in capsys.readouterr().err
