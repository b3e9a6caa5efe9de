"""Inference paths: optimize_for_inference equals the eager network, and only the requested heads run."""

from __future__ import annotations

import pytest
import torch

import medusa_zoo
from medusa_zoo.errors import IncompatibleConfigError

ARCHS = medusa_zoo.list_models()


def build(name: str) -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(0)
    model = medusa_zoo.load(name, pretrained=False, device="cpu")
    model.train()
    with torch.no_grad():  # BatchNorm statistics away from their initial values, so folding has work to do
        model(torch.randn(2, 3, 64, 64))
    return model.eval()


@pytest.mark.parametrize("name", ARCHS)
def test_optimized_network_equals_the_eager_one(name: str) -> None:
    model = build(name)
    x = model.normalize(torch.rand(2, 3, 96, 64, generator=torch.Generator().manual_seed(3)))
    with torch.no_grad():
        eager = model(x)
    model.optimize_for_inference()
    assert model._optimized["batchnorm_folded"] > 0
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    with torch.no_grad():
        fast = model(x)
    for task, value in eager.logits.items():
        scale = float(value.abs().max())
        assert float((fast.logits[task] - value).abs().max()) <= 1e-4 * scale, task


@pytest.mark.parametrize("name", ARCHS)
def test_predict_of_one_task_equals_that_entry_of_a_full_predict(name: str) -> None:
    model = build(name)
    image = torch.rand(3, 70, 90, generator=torch.Generator().manual_seed(5))
    full = model.predict(image)
    for task in model.tasks:
        assert torch.equal(model.predict(image, tasks=[task])[task], full[task])


def _calls(model: medusa_zoo.MultiTaskNet, tasks: list[str] | None) -> set[str]:
    ran: set[str] = set()
    hooks = [module.register_forward_hook(lambda *_, name=name: ran.add(name))
             for name in model.tasks for module in model.decoder.task_modules(name)]  # fmt: skip
    try:
        with torch.no_grad():
            model(torch.randn(1, 3, 64, 64), tasks)
    finally:
        for hook in hooks:
            hook.remove()
    return ran


@pytest.mark.parametrize("name", ["medusa_regnetx002", "mtl_regnetx002"])
def test_independent_heads_run_only_the_requested_ones(name: str) -> None:
    model = build(name)
    assert _calls(model, None) == set(model.tasks)
    assert _calls(model, ["depth"]) == {"depth"}
    assert set(model(torch.randn(1, 3, 64, 64), ["edge", "depth"]).logits) == {"edge", "depth"}


@pytest.mark.parametrize("name", ["mtinet_regnetx002", "padnet_regnetx002"])
def test_coupled_decoders_run_the_joint_tasks_and_only_requested_attached_ones(name: str) -> None:
    model = build(name)
    model.add_task("saliency")
    joint = {"semseg", "depth", "normals", "edge"}
    assert _calls(model, ["depth"]) == joint  # the joint tasks read each other
    assert _calls(model, ["saliency"]) == joint | {"saliency"}
    assert set(model(torch.randn(1, 3, 64, 64), ["depth"]).logits) == {"depth"}


def test_an_optimized_model_refuses_to_train_change_or_save(tmp_path) -> None:
    model = build("medusa_regnetx002").optimize_for_inference()
    for action, match in [
        (lambda: model.train(), "cannot train"),
        (lambda: model.add_task("saliency"), "cannot add a task"),
        (lambda: model.save_pretrained(tmp_path), "cannot be saved"),
        (lambda: model.save_head("depth", tmp_path), "cannot save a head"),
    ]:
        with pytest.raises(IncompatibleConfigError, match=match):
            action()
    assert model.predict(torch.rand(3, 64, 64))["depth"].shape == (64, 64)  # inference still works


def test_a_bundled_checkpoint_optimizes_to_the_same_predictions() -> None:
    from medusa_zoo.data import sample_image_path

    model = medusa_zoo.load("medusa_efficientnet_lite0.synthrooms", device="cpu")
    x = model.normalize(torch.rand(1, 3, 192, 256, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        eager = model(x).logits
    before = model.predict(sample_image_path())
    model.optimize_for_inference()
    with torch.no_grad():
        fast = model(x).logits
    for task, value in eager.items():
        assert float((fast[task] - value).abs().max()) <= 1e-4 * float(value.abs().max()), task
    after = model.predict(sample_image_path())
    assert float((before["semseg"] != after["semseg"]).float().mean()) < 1e-3  # argmax ties may flip a pixel
    assert torch.allclose(before["depth"], after["depth"], rtol=1e-4, atol=1e-4)
