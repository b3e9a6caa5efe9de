"""The public API: names and registries, model_info, load options, predict's input handling."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import medusa_zoo
from medusa_zoo.errors import DuplicateNameError, MedusaZooError
from medusa_zoo.registry import Registry


@pytest.fixture(scope="module")
def light() -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(0)
    return medusa_zoo.load("medusa_regnetx002", tasks=["semseg", "depth"], pretrained=False, device="cpu")


def test_import_is_light() -> None:
    code = "import sys, medusa_zoo; print(sorted(m for m in ('torch', 'timm', 'numpy', 'PIL') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_list_models_sorted_and_filtered() -> None:
    names = medusa_zoo.list_models()
    assert names == sorted(names)
    for expected in ("medusa_hrnet18", "mtinet_hrnet18", "mtl_resnet50", "stl_regnetx002", "medusa_resnet18"):
        assert expected in names
    assert medusa_zoo.list_models("medusa_*") == [n for n in names if n.startswith("medusa_")]
    assert medusa_zoo.list_models("*_hrnet18") == [
        "medusa_hrnet18", "mtinet_hrnet18", "mtl_hrnet18", "padnet_hrnet18", "stl_hrnet18"
    ]
    assert medusa_zoo.list_models(pretrained=True) == [
        "medusa_efficientnet_lite0.synthrooms", "medusa_efficientnet_lite0.synthrooms-no-normals", "mtinet_efficientnet_lite0.synthrooms"
    ]
    assert medusa_zoo.list_models("mtinet_*", pretrained=True) == ["mtinet_efficientnet_lite0.synthrooms"]


def test_unknown_name_suggests_closest() -> None:
    with pytest.raises(medusa_zoo.UnknownModelError, match="medusa_hrnet18") as info:
        medusa_zoo.load("medusa_hrnet81", pretrained=False)
    assert "medusa_hrnet18" in info.value.suggestions
    assert isinstance(info.value, LookupError) and isinstance(info.value, MedusaZooError)


def test_registry_refuses_duplicates() -> None:
    registry: Registry[int] = Registry("thing")
    registry.register("a", 1)
    with pytest.raises(DuplicateNameError, match="already registered"):
        registry.register("a", 2)
    assert registry.get("a") == 1


@pytest.mark.parametrize("name", ["medusa_hrnet18", "medusa_hrnet18.nosuchtag"])
def test_pretrained_without_checkpoint_says_what_to_do(name: str) -> None:
    with pytest.raises(medusa_zoo.MedusaZooError, match="pretrained=False"):
        medusa_zoo.load(name)
    with pytest.raises(medusa_zoo.UnknownModelError, match="medusa_hrnet18"):
        medusa_zoo.load("medusa_hrnet81.synthrooms")


def test_model_info_measures_params_and_flops() -> None:
    info = medusa_zoo.model_info("medusa_regnetx002", tasks=["semseg", "depth"])
    model = medusa_zoo.load("medusa_regnetx002", tasks=["semseg", "depth"], pretrained=False, device="cpu")
    assert info.params == sum(p.numel() for p in model.parameters())
    assert info.tasks == {"semseg": 40, "depth": 1}
    assert info.input_size == (192, 256) and info.independent_heads
    # Doubling the image area roughly doubles the FLOPs of a fully convolutional network.
    from medusa_zoo.models.flops import measure_cost

    config = model.config
    small, large = measure_cost(config, (192, 256)), measure_cost(config, (384, 256))
    assert info.gflops == pytest.approx(small.gflops, abs=1e-3)
    assert 1.9 < large.flops / small.flops < 2.1


def test_head_options_reach_the_head() -> None:
    spatial = medusa_zoo.load("medusa_regnetx002", tasks=["depth"], pretrained=False, mask="spatial")
    channel = medusa_zoo.load("medusa_regnetx002", tasks=["depth"], pretrained=False)
    assert sum(p.numel() for p in spatial.parameters()) < sum(p.numel() for p in channel.parameters())
    assert spatial.config.head_options == {"mask": "spatial"}
    with pytest.raises(medusa_zoo.IncompatibleConfigError, match="mask must be one of"):
        medusa_zoo.load("medusa_regnetx002", pretrained=False, mask="diagonal")
    with pytest.raises(medusa_zoo.IncompatibleConfigError, match="takes no option"):
        medusa_zoo.load("mtl_regnetx002", pretrained=False, mask="spatial")


def test_task_count_rules() -> None:
    with pytest.raises(medusa_zoo.IncompatibleConfigError, match="one model per task"):
        medusa_zoo.load("stl_regnetx002", tasks=["semseg", "depth"], pretrained=False)
    for joint in ("mtinet_regnetx002", "padnet_regnetx002"):
        with pytest.raises(medusa_zoo.IncompatibleConfigError, match="at least two"):
            medusa_zoo.load(joint, tasks=["semseg"], pretrained=False)
    with pytest.raises(medusa_zoo.IncompatibleConfigError, match="unique"):
        medusa_zoo.load("mtl_regnetx002", tasks=["depth", "depth"], pretrained=False)
    custom = medusa_zoo.get_task("semseg", num_classes=21)
    model = medusa_zoo.load("mtl_regnetx002", tasks=[custom], pretrained=False)
    assert model.predict(torch.rand(3, 64, 64))["semseg"].max() < 21


def test_any_timm_backbone_by_name() -> None:
    model = medusa_zoo.build_model("medusa", "resnet10t", tasks=["depth"])
    assert min(model.feature_info.strides) >= 4
    assert model.predict(torch.rand(3, 64, 64))["depth"].shape == (64, 64)
    with pytest.raises(medusa_zoo.UnknownBackboneError, match="not a timm model"):
        medusa_zoo.build_model("medusa", "hrnet19", tasks=["depth"])


def test_devices_and_dtypes() -> None:
    if not torch.cuda.is_available():
        with pytest.raises(medusa_zoo.IncompatibleConfigError, match="CUDA"):
            medusa_zoo.load("mtl_regnetx002", pretrained=False, device="cuda")
        with pytest.raises(medusa_zoo.IncompatibleConfigError, match="float16 needs a CUDA"):
            medusa_zoo.load("mtl_regnetx002", pretrained=False, device="cpu", dtype="float16")
    model = medusa_zoo.load("mtl_regnetx002", tasks=["semseg", "depth"], pretrained=False, dtype="bfloat16")
    assert model.dtype == torch.bfloat16 and model.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    out = model.predict(torch.rand(3, 64, 64))
    assert out["depth"].dtype == torch.float32 and out["semseg"].dtype == torch.int64


def test_predict_lists_keep_each_size(light: medusa_zoo.MultiTaskNet) -> None:
    images = [torch.rand(3, 64, 80), np.zeros((50, 40, 3), np.uint8), torch.rand(3, 64, 80)]
    outputs = light.predict(images, tasks=["depth"])
    assert [tuple(o["depth"].shape) for o in outputs] == [(64, 80), (50, 40), (64, 80)]
    assert all(set(o) == {"depth"} for o in outputs)
    single = light.predict(images[1])
    assert torch.equal(single["depth"], outputs[1]["depth"])  # batching does not change results
    batch = light.predict(torch.rand(2, 3, 64, 64))
    assert isinstance(batch, list) and len(batch) == 2


def test_predict_restores_training_mode(light: medusa_zoo.MultiTaskNet) -> None:
    light.train()
    light.predict(torch.rand(3, 64, 64))
    assert light.training
    light.eval()


def test_predict_padding_does_not_leak_into_a_stride_multiple_crop(light: medusa_zoo.MultiTaskNet) -> None:
    image = torch.rand(3, 64, 64)
    with torch.no_grad():
        direct = light(light.normalize(image[None])).logits["depth"][0, 0].clamp(min=0)
    assert torch.allclose(light.predict(image, native=True)["depth"], direct, atol=1e-6)


def test_unknown_task_in_predict(light: medusa_zoo.MultiTaskNet) -> None:
    with pytest.raises(medusa_zoo.UnknownTaskError, match="its tasks are"):
        light.predict(torch.rand(3, 64, 64), tasks=["normals"])


@pytest.mark.parametrize(
    ("make_input", "error", "phrase"),
    [
        (lambda tmp: [], medusa_zoo.InvalidImageError, "no images given"),
        (lambda tmp: np.zeros((0, 5, 3), np.uint8), medusa_zoo.InvalidImageError, "no pixels"),
        (lambda tmp: torch.rand(5, 64, 64), medusa_zoo.InvalidImageError, "expected 1, 3 or 4 channels"),
        (lambda tmp: torch.full((3, 64, 64), float("nan")), medusa_zoo.InvalidImageError, "NaN"),
        (lambda tmp: _text_file(tmp), medusa_zoo.InvalidImageError, "not an image file"),
        (lambda tmp: tmp / "missing.jpg", medusa_zoo.ImageNotFoundError, "missing.jpg"),
    ],
    ids=["empty-list", "zero-rows", "5-channels", "nan", "text-file", "missing-path"],
)
def test_bad_inputs_raise_documented_errors(light, tmp_path, make_input, error, phrase) -> None:
    for method in (light.predict, light.features):
        with pytest.raises(error, match=phrase) as info:
            method(make_input(tmp_path))
        assert isinstance(info.value, MedusaZooError)


def test_features_refuses_mixed_sizes(light: medusa_zoo.MultiTaskNet) -> None:
    with pytest.raises(medusa_zoo.InvalidImageError, match="one size"):
        light.features([torch.rand(3, 64, 64), torch.rand(3, 96, 64)])
    feats = light.features([torch.rand(3, 64, 96), torch.rand(3, 64, 96)])
    assert feats.embedding.shape == (2, sum(light.feature_info.channels))


def _text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not an image")
    return str(path)


def test_bad_option_values_are_config_errors() -> None:
    with pytest.raises(medusa_zoo.IncompatibleConfigError, match="cannot be built"):
        medusa_zoo.load("medusa_regnetx002", pretrained=False, refine_blocks="two")


def test_outputs_are_ordinary_tensors_for_downstream_training(light: medusa_zoo.MultiTaskNet) -> None:
    prediction = light.predict(torch.rand(3, 64, 64))["depth"]
    feats = light.features(torch.rand(2, 3, 64, 64))
    assert not prediction.is_inference() and not feats.embedding.is_inference()
    probe = torch.nn.Linear(feats.embedding.shape[1], 1)
    loss = (probe(feats.embedding).squeeze(1) - prediction.mean()).pow(2).mean()
    loss.backward()  # would raise for inference tensors saved for backward
    assert probe.weight.grad is not None and not feats.embedding.requires_grad
