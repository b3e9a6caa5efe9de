"""``predict`` runs each image at the model's design size and returns outputs at the image's own size."""

from __future__ import annotations

import pytest
import torch

import medusa_zoo
from medusa_zoo.errors import InvalidImageError
from medusa_zoo.models.fitting import fitted_size, resize, target_size


@pytest.fixture(scope="module")
def model() -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(0)
    net = medusa_zoo.load("mtl_regnetx002", pretrained=False, tasks=["semseg", "depth", "normals"]).eval()
    assert net.config.preprocessing.input_size == (192, 256)
    return net


def _seen(model: medusa_zoo.MultiTaskNet, image: torch.Tensor, **options) -> tuple[tuple[int, ...], dict]:
    """The input shape the network saw, and what predict returned."""
    seen = []
    hook = model.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape)))
    try:
        out = model.predict(image, **options)
    finally:
        hook.remove()
    return seen[0], out


def test_a_large_photo_is_fitted_into_the_design_size(model) -> None:
    image = torch.rand(3, 500, 741)
    shape, out = _seen(model, image)
    assert shape == (1, 3, 192, 256)
    assert out["semseg"].shape == (500, 741) and out["depth"].shape == (500, 741)
    assert out["normals"].shape == (3, 500, 741)
    assert torch.allclose(out["normals"].norm(dim=0), torch.ones(500, 741), atol=1e-4)


def test_a_portrait_photo_is_padded_to_the_canvas(model) -> None:
    shape, out = _seen(model, torch.rand(3, 400, 300))
    assert shape == (1, 3, 192, 256)
    assert out["semseg"].shape == (400, 300)


def test_native_runs_at_the_photos_own_size(model) -> None:
    shape, out = _seen(model, torch.rand(3, 100, 130), native=True)
    assert shape == (1, 3, 128, 160)  # padded to the stride only
    assert out["depth"].shape == (100, 130)


def test_size_chooses_another_canvas(model) -> None:
    shape, out = _seen(model, torch.rand(3, 300, 400), size=(96, 128))
    assert shape == (1, 3, 96, 128)
    assert out["depth"].shape == (300, 400)


def test_at_the_design_size_fitting_changes_nothing(model) -> None:
    image = torch.rand(3, 192, 256, generator=torch.Generator().manual_seed(1))
    fitted, native = model.predict(image), model.predict(image, native=True)
    for name in fitted:
        assert torch.equal(fitted[name], native[name]), name


def test_outputs_are_the_fitted_runs_logits_resized_back(model) -> None:
    image = torch.rand(3, 384, 512, generator=torch.Generator().manual_seed(2))  # twice the design size
    small = resize(image, (192, 256))
    with torch.no_grad():
        logits = model(model.normalize(small[None])).logits["depth"]
    expected = resize(logits, (384, 512))[0, 0].clamp(min=0)
    assert torch.allclose(model.predict(image)["depth"], expected, atol=1e-5)


def test_bad_fitting_options_are_refused(model) -> None:
    with pytest.raises(InvalidImageError, match="not both"):
        model.predict(torch.rand(3, 64, 64), native=True, size=(64, 64))
    with pytest.raises(InvalidImageError, match="size must be"):
        model.predict(torch.rand(3, 64, 64), size=(0, 64))
    assert target_size((192, 256), 128, native=False) == (128, 128)


def test_fitted_size_keeps_the_aspect_ratio() -> None:
    assert fitted_size((500, 741), (192, 256)) == (173, 256)
    assert fitted_size((400, 300), (192, 256)) == (192, 144)
    assert fitted_size((10, 10), (192, 256)) == (192, 192)
