"""One contract, every registered architecture, at 64x64: forward, backward, features, predict, save/load."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import medusa_zoo
from medusa_zoo.losses import task_losses

from tests.conftest import make_targets

SIZE = (64, 64)


@pytest.fixture(params=medusa_zoo.list_models())
def model(request: pytest.FixtureRequest) -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(0)
    return medusa_zoo.load(request.param, pretrained=False, device="cpu")


def test_forward_and_backward(model: medusa_zoo.MultiTaskNet) -> None:
    model.train()
    x = torch.randn(2, 3, *SIZE)
    out = model(x)
    assert set(out.logits) == set(model.tasks)
    for name, task in model.tasks.items():
        assert out.logits[name].shape == (2, task.out_channels, *SIZE)
        for aux in out.deep_supervision[name]:
            assert aux.shape[:2] == (2, task.out_channels)
    losses = task_losses(out, make_targets(model.tasks, 2, SIZE), model.tasks)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"parameters that received no gradient: {missing[:5]}"


def test_features(model: medusa_zoo.MultiTaskNet) -> None:
    image = (np.random.default_rng(0).random((*SIZE, 3)) * 255).astype(np.uint8)
    feats = model.features(image)
    info = model.feature_info
    assert feats.strides == info.strides
    assert feats.channels == info.channels
    for fmap, stride in zip(feats.maps, info.strides):
        assert fmap.shape[-2:] == (SIZE[0] // stride, SIZE[1] // stride)
        assert fmap.dtype == torch.float32
    assert feats.embedding.shape == (1, sum(info.channels))
    assert torch.allclose(feats.embedding[0, : info.channels[0]], feats.maps[0][0].mean(dim=(1, 2)))


def test_predict_shapes_and_dtypes(model: medusa_zoo.MultiTaskNet) -> None:
    image = torch.rand(3, 70, 90)  # not a stride multiple: padded, then cropped back
    out = model.predict(image)
    assert set(out) == set(model.tasks)
    for name, task in model.tasks.items():
        value = out[name]
        if task.kind == "segmentation":
            assert value.shape == (70, 90) and value.dtype == torch.int64
            assert 0 <= int(value.min()) and int(value.max()) < task.out_channels
        elif task.kind == "normals":
            assert value.shape == (3, 70, 90) and value.dtype == torch.float32
            assert torch.allclose(value.norm(dim=0), torch.ones(70, 90), atol=1e-4)
        else:
            assert value.shape == (70, 90) and value.dtype == torch.float32
            if task.kind in ("edge", "saliency"):
                assert 0 <= float(value.min()) and float(value.max()) <= 1
            else:
                assert float(value.min()) >= 0


def test_save_load_round_trip_is_bit_identical(model: medusa_zoo.MultiTaskNet, tmp_path) -> None:
    # Train-mode steps first, so BatchNorm statistics differ from their initial values.
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, *SIZE))
    model.eval()
    model.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors", "README.md"}
    again = medusa_zoo.load(f"local-dir:{tmp_path}", device="cpu")
    x = torch.randn(1, 3, *SIZE)
    with torch.no_grad():
        a, b = model(x), again(x)
    for name in model.tasks:
        assert torch.equal(a.logits[name], b.logits[name])
    image = torch.rand(3, *SIZE)
    first, second = model.predict(image), again.predict(image)
    assert all(torch.equal(first[t], second[t]) for t in first)
