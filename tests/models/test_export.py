"""Export as shipped: torch.export on the network itself, and ONNX files that ONNX Runtime runs to the same numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import medusa_zoo
from medusa_zoo.errors import ExportError
from medusa_zoo.models.export import export_onnx, export_program


def build(name: str) -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(0)
    return medusa_zoo.load(name, pretrained=False, device="cpu").eval()


@pytest.mark.parametrize("head", ["medusa", "mtinet", "padnet", "mtl", "stl"])
def test_torch_export_works_on_the_network_as_it_is(head: str) -> None:
    model = build(f"{head}_regnetx002")
    x = torch.randn(1, 3, 64, 96)
    program = torch.export.export(model, (x,))
    out, ref = program.module()(x), model(x)
    assert isinstance(out, medusa_zoo.MultiTaskOutput) and list(out.logits) == list(ref.logits)
    for task in ref.logits:
        assert torch.allclose(out.logits[task], ref.logits[task], rtol=1e-5, atol=1e-6)
        assert len(out.deep_supervision[task]) == len(ref.deep_supervision[task])


def test_an_exported_program_takes_other_batch_sizes_and_image_sizes() -> None:
    model = build("medusa_regnetx002").optimize_for_inference()
    program = export_program(model, tasks=["depth", "semseg"], size=(64, 96))
    x = torch.randn(3, 3, 128, 160)
    depth, semseg = program.module()(x)
    with torch.no_grad():
        ref = model(x, ["depth", "semseg"]).logits
    assert depth.shape == (3, 1, 128, 160) and semseg.shape == (3, 40, 128, 160)
    assert torch.allclose(depth, ref["depth"], rtol=1e-5, atol=1e-6)
    assert torch.allclose(semseg, ref["semseg"], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_onnx_runtime_matches_eager_on_new_sizes(tmp_path: Path) -> None:
    import onnxruntime as ort  # in the test extra (and medusa-zoo[onnx])

    model = build("medusa_regnetx002")
    path = export_onnx(model, tmp_path / "medusa.onnx", size=(64, 96))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == list(model.tasks)
    for shape in [(1, 3, 64, 96), (2, 3, 96, 128)]:
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
        outputs = session.run(None, {"image": x.numpy()})
        with torch.no_grad():
            ref = model(x).logits
        for task, value in zip(model.tasks, outputs):
            expected = ref[task].numpy()
            assert value.shape == expected.shape
            assert np.abs(value - expected).max() <= 1e-5 * max(1.0, float(np.abs(expected).max()))


def test_export_failures_are_typed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = build("mtl_regnetx002")

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported op")

    monkeypatch.setattr(torch.export, "export", broken)
    with pytest.raises(ExportError, match="unsupported op"):
        export_program(model)
