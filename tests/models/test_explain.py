"""``model.explain``: Medusa's Multi-Scale Attention and Shared Feature Attention, per task, at the image's size.

The bundled default model loads once per module (offline, from the package); the forced-attention
and error tests use tiny random ``*_regnetx002`` networks.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import medusa_zoo
from medusa_zoo import MultiTaskNet
from medusa_zoo.errors import ImageTooLargeError, IncompatibleConfigError, InvalidImageError, UnknownTaskError
from medusa_zoo.heads import MedusaHead
from medusa_zoo.limits import limits
from medusa_zoo.models.explain import SCALE_COLOURS, attention_picture, scale_colours


@pytest.fixture(scope="module")
def model() -> MultiTaskNet:
    return medusa_zoo.load("medusa_efficientnet_lite0", device="cpu")


def _image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(3, h, w, generator=torch.Generator().manual_seed(seed))


def _tiny(tasks: list[str], head: str = "medusa", **options: object) -> MultiTaskNet:
    torch.manual_seed(0)
    return medusa_zoo.load(f"{head}_regnetx002", tasks=tasks, pretrained=False, device="cpu", **options)


def _check_weights(weights: torch.Tensor, count: int, h: int, w: int) -> None:
    assert weights.shape == (count, h, w) and weights.dtype == torch.float32
    assert float(weights.min()) >= 0.0 and float(weights.max()) <= 1.0
    torch.testing.assert_close(weights.sum(dim=0), torch.ones(h, w), atol=1e-5, rtol=0)


@pytest.mark.parametrize("h,w", [(37, 53), (1, 1)])
def test_weights_sum_to_one_at_the_images_own_size(model: MultiTaskNet, h: int, w: int) -> None:
    out = model.explain(_image(h, w))
    assert set(out) == set(model.tasks)
    strides = list(model.feature_info.strides)
    for name, maps in out.items():
        assert set(maps) == {"scales", "scale_weights", "mask_energy"}, name
        assert maps["scales"] == strides
        _check_weights(maps["scale_weights"], len(strides), h, w)
        energy = maps["mask_energy"]
        assert energy.shape == (len(strides),) and bool(((energy > 0) & (energy < 1)).all()), (name, energy)
        assert not maps["scale_weights"].is_inference()  # ordinary tensors, like predict's


def test_mask_maps_on_request(model: MultiTaskNet) -> None:
    maps = model.explain(_image(40, 30), tasks="depth", mask_maps=True)["depth"]
    assert maps["mask_maps"].shape == (4, 40, 30)
    assert float(maps["mask_maps"].min()) >= 0.0 and float(maps["mask_maps"].max()) <= 1.0


def test_weights_are_the_heads_softmax_at_the_design_size(model: MultiTaskNet) -> None:
    """At the design size nothing is fitted or padded: the maps are the head's own softmax, upsampled."""
    image = _image(*model.config.preprocessing.input_size)
    head = model.decoder.heads["semseg"]
    with torch.no_grad(), head.record_attention() as record:
        model(model.normalize(image[None]), ["semseg"])
    expected = torch.nn.functional.interpolate(record.scale_weights, size=image.shape[-2:], mode="bilinear")[0]
    torch.testing.assert_close(model.explain(image, tasks=["semseg"])["semseg"]["scale_weights"], expected)
    energy = torch.stack([m.mean() for m in record.masks])
    torch.testing.assert_close(model.explain(image, tasks="semseg")["semseg"]["mask_energy"], energy)


def test_forced_scale_dominates_everywhere() -> None:
    net = _tiny(["semseg", "depth"])
    head = net.decoder.heads["depth"]
    count = len(net.feature_info.strides)
    for k in range(count):
        with torch.no_grad():
            for i, conv in enumerate(head.scale_logits):
                conv.weight.zero_()
                conv.bias.fill_(100.0 if i == k else 0.0)
        weights = net.explain(_image(29, 45), tasks=["depth"])["depth"]["scale_weights"]
        _check_weights(weights, count, 29, 45)
        assert float(weights[k].min()) > 0.999, (k, float(weights[k].min()))
        picture = attention_picture(weights)
        assert picture.shape == (29, 45, 3) and picture.dtype == np.uint8
        assert (picture == SCALE_COLOURS[k].astype(np.uint8)).all()


def test_explain_leaves_predict_unchanged(model: MultiTaskNet) -> None:
    image = _image(50, 70, seed=3)
    before = model.predict(image)
    model.explain(image)
    after = model.predict(image)
    for name in before:
        assert torch.equal(before[name], after[name]), name
    for head in model.decoder.heads.values():
        assert head._record is None and all(not a.mask._forward_hooks for a in head.attend)


def test_explain_works_on_an_optimized_network() -> None:
    net = _tiny(["edge"]).optimize_for_inference()
    _check_weights(net.explain(_image(33, 20))["edge"]["scale_weights"], 4, 33, 20)


def test_batches_give_a_list_per_image(model: MultiTaskNet) -> None:
    out = model.explain([_image(20, 30), _image(45, 17, seed=1)], tasks=["edge", "depth"])
    assert isinstance(out, list) and len(out) == 2
    assert [set(o) for o in out] == [{"edge", "depth"}] * 2
    assert out[0]["edge"]["scale_weights"].shape[-2:] == (20, 30)
    assert out[1]["depth"]["scale_weights"].shape[-2:] == (45, 17)
    alone = model.explain(_image(45, 17, seed=1), tasks="depth")["depth"]["scale_weights"]
    torch.testing.assert_close(out[1]["depth"]["scale_weights"], alone)
    stacked = model.explain(torch.stack([_image(24, 24), _image(24, 24, seed=2)]), tasks="edge")
    assert isinstance(stacked, list) and len(stacked) == 2


@pytest.mark.parametrize("head", ["mtinet", "mtl", "stl", "padnet"])
def test_networks_without_attention_say_so(head: str) -> None:
    net = _tiny(["depth"] if head == "stl" else ["semseg", "depth"], head)
    with pytest.raises(IncompatibleConfigError, match=f"this '{head}' model .* no scale attention.*'medusa_\\*'"):
        net.explain(_image(32, 32))


@pytest.mark.parametrize(
    "options,message", [({"scale_attention": False}, "scale_attention=False"), ({"mask": "none"}, "mask='none'")]
)
def test_medusa_ablations_say_what_they_lack(options: dict[str, object], message: str) -> None:
    net = _tiny(["depth"], **options)
    with pytest.raises(IncompatibleConfigError, match=f"task 'depth' has a Medusa head built with {message}"):
        net.explain(_image(32, 32))


def test_bad_inputs_are_typed(model: MultiTaskNet) -> None:
    with pytest.raises(UnknownTaskError, match="nope"):
        model.explain(_image(8, 8), tasks=["nope"])
    with pytest.raises(InvalidImageError, match="batch_size"):
        model.explain(_image(8, 8), batch_size=0)
    with pytest.raises(InvalidImageError, match="native=True or size="):
        model.explain(_image(8, 8), size=64, native=True)
    with limits(max_image_pixels=100), pytest.raises(ImageTooLargeError):
        model.explain(_image(20, 20))


def test_attention_picture_blends_towards_white_when_unsure() -> None:
    uniform = attention_picture(torch.full((4, 3, 5), 0.25))
    assert (uniform == 255).all()
    half = torch.tensor([0.625, 0.125, 0.125, 0.125]).view(4, 1, 1).expand(4, 2, 2)
    expected = np.round(255 + 0.5 * (SCALE_COLOURS[0] - 255)).astype(np.uint8)
    assert (attention_picture(half) == expected).all()
    assert scale_colours([4, 8]) == {
        4: tuple(int(c) for c in SCALE_COLOURS[0]),
        8: tuple(int(c) for c in SCALE_COLOURS[1]),
    }
    with pytest.raises(InvalidImageError, match=r"\(S, H, W\) scale weights"):
        attention_picture(torch.ones(3, 3))
    with pytest.raises(InvalidImageError, match="finite"):
        attention_picture(torch.full((2, 2, 2), float("nan")))


def test_heads_record_nothing_outside_the_block() -> None:
    head = MedusaHead([8, 16], 2)
    features = [torch.rand(1, 8, 8, 8), torch.rand(1, 16, 4, 4)]
    with head.record_attention() as record:
        head(features)
    assert record.scale_weights.shape == (1, 2, 8, 8) and [m.shape[1] for m in record.masks] == [8, 16]
    head(features)  # a later pass leaves the closed record alone
    assert len(record.masks) == 2 and head._record is None
