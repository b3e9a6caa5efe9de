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


def test_tensorflow_same_padding_exports_saves_and_runs_at_other_sizes(tmp_path: Path) -> None:
    """EfficientNet-Lite's Conv2dSame pads by math.ceil of symbolic sizes, which torch.export cannot save."""
    from timm.layers import Conv2dSame

    model = build("medusa_efficientnet_lite0")
    assert any(isinstance(m, Conv2dSame) for m in model.modules())
    program = export_program(model, tasks=["depth"], size=(64, 96))
    torch.export.save(program, str(tmp_path / "lite0.pt2"))
    loaded = torch.export.load(str(tmp_path / "lite0.pt2")).module()
    for shape in [(1, 3, 64, 96), (2, 3, 96, 160)]:
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            (depth,) = loaded(x)
            ref = model(x, ["depth"]).logits["depth"]
        assert torch.allclose(depth, ref, rtol=1e-5, atol=1e-6), shape
    assert any(isinstance(m, Conv2dSame) for m in model.modules())  # the user's model is left as it was


def test_fixed_same_padding_equals_tensorflow_padding_on_multiples_of_the_stride() -> None:
    from timm.layers import Conv2dSame

    from medusa_zoo.models.export import FixedSamePadConv

    torch.manual_seed(0)
    for kernel, stride in [(3, 2), (5, 2), (3, 1), (1, 2)]:
        conv = Conv2dSame(4, 6, kernel, stride=stride)
        fixed = FixedSamePadConv(conv)
        for h, w in [(32, 64), (6, 10)]:
            x = torch.randn(1, 4, h, w)
            assert torch.equal(fixed(x), conv(x)), (kernel, stride, h, w)
    odd = torch.randn(1, 4, 7, 9)  # why exports take multiples of the stride only: elsewhere the padding differs
    conv = Conv2dSame(4, 6, 3, stride=2)
    assert FixedSamePadConv(conv)(odd).shape == (1, 6, 3, 4) and conv(odd).shape == (1, 6, 4, 5)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["medusa_regnetx002", "medusa_efficientnet_lite0"])
def test_onnx_runtime_matches_eager_on_new_sizes(tmp_path: Path, name: str) -> None:
    import onnxruntime as ort  # in the test extra (and medusa-zoo[onnx])

    model = build(name)
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
