"""MTI-Net's auxiliary tasks: supervised inside the decoder (deep supervision, FPM, distillation
source), never a distillation receiver, no final head, no output; saved and reloaded strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import medusa_zoo
from medusa_zoo.backbones import FeatureInfo
from medusa_zoo.errors import IncompatibleConfigError
from medusa_zoo.heads import build_decoder
from medusa_zoo.models.config import ModelConfig

INFO = FeatureInfo(channels=(8, 16, 24, 32), strides=(4, 8, 16, 32))
MAIN = {"semseg": 5, "depth": 1}
AUX = {"normals": 3, "edge": 1}


def _features(batch: int = 2, size: int = 64) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, c, size // s, size // s, generator=g) for c, s in zip(INFO.channels, INFO.strides)]


def _decoder(aux: dict[str, int] | None = None, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_decoder("mtinet", INFO, MAIN, {"auxiliary": AUX if aux is None else aux})


def _images() -> torch.Tensor:
    return torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))


def _model(seed: int = 0) -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(seed)
    return medusa_zoo.load("mtinet_regnetx002", tasks=["semseg", "depth"], pretrained=False, auxiliary=AUX).eval()


def test_auxiliary_tasks_are_deep_supervised_but_have_no_final_output() -> None:
    decoder = _decoder()
    assert decoder.tasks == ["semseg", "depth"]
    logits, deep = decoder(_features())
    assert list(logits) == ["semseg", "depth"]
    assert list(deep) == ["semseg", "depth", "normals", "edge"]
    for name, k in {**MAIN, **AUX}.items():
        assert [tuple(d.shape) for d in deep[name]] == [(2, k, 16, 16), (2, k, 8, 8), (2, k, 4, 4), (2, k, 2, 2)]
    assert logits["semseg"].shape == (2, 5, 16, 16) and logits["depth"].shape == (2, 1, 16, 16)
    _, subset = decoder(_features(), ["semseg"])  # a chosen subset of outputs: no auxiliary predictions
    assert list(subset) == ["semseg"]


def test_auxiliary_tasks_feed_the_fpm_and_distillation_but_receive_none() -> None:
    decoder = _decoder()
    for name in AUX:
        assert name not in decoder.aggregate
        for fpm in decoder.propagate:
            assert name in fpm.tasks and name in fpm.gates
        for distill in decoder.distill:
            assert name in distill.tasks  # a source ...
            assert not [k for k in distill.adapters if k.startswith(f"{name}__from__")]  # ... never a receiver
            assert f"semseg__from__{name}" in distill.adapters and f"depth__from__{name}" in distill.adapters


def test_auxiliary_modules_learn_from_their_loss_and_shape_the_main_outputs() -> None:
    decoder = _decoder()
    _, deep = decoder(_features())
    sum(d.square().mean() for d in deep["normals"]).backward()
    for s in range(4):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in decoder.refine[s]["normals"].parameters())
        assert all(p.grad is not None for p in decoder.initial[s]["normals"].parameters())
        assert all(p.grad is None for p in decoder.initial[s]["edge"].parameters())
    assert all(p.grad is None for p in decoder.aggregate.parameters()), "the aux loss reaches no final head"

    decoder.zero_grad(set_to_none=True)
    logits, _ = decoder(_features())
    logits["semseg"].square().mean().backward()  # the main loss reaches the aux refinement (a source)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in decoder.refine[0]["normals"].parameters())
    assert all(p.grad is None for p in decoder.initial[0]["normals"].parameters())


def test_without_auxiliary_tasks_the_decoder_is_unchanged() -> None:
    torch.manual_seed(0)
    plain = build_decoder("mtinet", INFO, MAIN, {})
    empty = _decoder(aux={})
    assert plain.state_dict().keys() == empty.state_dict().keys()
    assert all(torch.equal(v, empty.state_dict()[k]) for k, v in plain.state_dict().items())


def test_one_main_task_with_an_auxiliary_task_distils() -> None:
    decoder = build_decoder("mtinet", INFO, {"depth": 1}, {"auxiliary": {"normals": 3}})
    logits, deep = decoder(_features())
    assert list(logits) == ["depth"] and list(deep) == ["depth", "normals"]
    with pytest.raises(IncompatibleConfigError, match="needs at least two"):
        build_decoder("mtinet", INFO, {"depth": 1}, {})


@pytest.mark.parametrize(
    ("options", "phrase"),
    [
        ({"auxiliary": {"depth": 1}}, "also among the tasks"),
        ({"auxiliary": {"normals": 0}}, "output channels of 'normals'"),
        ({"auxiliary": {"normals": True}}, "output channels of 'normals'"),
        ({"auxiliary": {"normals": "3"}}, "output channels of 'normals'"),
        ({"auxiliary": {"normals": 10**9}}, "output channels of 'normals'"),
        ({"auxiliary": ["normals"]}, "must map at most"),
        ({"auxiliary": {"": 3}}, "must map at most"),
    ],
)
def test_bad_auxiliary_options_are_refused(options: dict, phrase: str) -> None:
    with pytest.raises(IncompatibleConfigError, match=phrase):
        build_decoder("mtinet", INFO, MAIN, options)


def test_only_mtinet_takes_auxiliary_tasks() -> None:
    with pytest.raises(IncompatibleConfigError, match=r"takes no option\(s\) \['auxiliary'\]"):
        build_decoder("medusa", INFO, MAIN, {"auxiliary": AUX})


def test_a_config_with_bad_auxiliary_tasks_is_refused() -> None:
    config = _model().config.to_dict()
    assert config["head_options"] == {"auxiliary": AUX}
    assert ModelConfig.from_dict(json.loads(json.dumps(config))).head_options == {"auxiliary": AUX}
    for bad in ({"normals": -3}, {"semseg": 5}, "normals"):
        broken = {**config, "head_options": {"auxiliary": bad}}
        with pytest.raises(IncompatibleConfigError, match="auxiliary"):
            medusa_zoo.MultiTaskNet(ModelConfig.from_dict(broken))


def test_a_model_with_auxiliary_tasks_saves_and_reloads_strictly(tmp_path: Path) -> None:
    model = _model()
    out = model(_images())
    assert set(out.logits) == {"semseg", "depth"} and set(out.deep_supervision) == {
        "semseg",
        "depth",
        "normals",
        "edge",
    }
    assert list(model.predict(torch.rand(3, 64, 96))) == ["semseg", "depth"]
    assert any(k.startswith("decoder.refine.0.normals.") for k in model.state_dict())
    model.save_pretrained(tmp_path)
    again = medusa_zoo.load(f"local-dir:{tmp_path}")  # strict: every aux weight must have its module
    assert again.config.head_options == {"auxiliary": AUX}
    assert list(again.tasks) == ["semseg", "depth"]
    reloaded = again(_images())
    for name in ("semseg", "depth"):
        assert torch.equal(out.logits[name], reloaded.logits[name])
    for name in ("normals", "edge"):
        assert all(torch.equal(a, b) for a, b in zip(out.deep_supervision[name], reloaded.deep_supervision[name]))


def test_adding_a_task_keeps_working_beside_auxiliary_tasks(tmp_path: Path) -> None:
    model = _model()
    before = model(_images())
    model.add_task("saliency")
    middle = model(_images())
    assert list(middle.logits) == ["semseg", "depth", "saliency"]
    assert list(middle.deep_supervision) == ["semseg", "depth", "saliency", "normals", "edge"]
    for name in ("semseg", "depth"):
        assert torch.equal(before.logits[name], middle.logits[name])
    assert "semseg__from__normals" in model.decoder.distill[0].adapters
    assert "saliency__from__normals" in model.decoder.distill[0].adapters  # the new task reads the aux tasks too
    model.save_pretrained(tmp_path)
    again = medusa_zoo.load(f"local-dir:{tmp_path}")
    assert again.config.head_options == {"auxiliary": AUX, "attached": ["saliency"]}
    assert torch.equal(again(_images()).logits["saliency"], middle.logits["saliency"])
    with pytest.raises(IncompatibleConfigError, match="'normals' is an auxiliary task"):
        model.add_task("normals")
    assert list(model.tasks) == ["semseg", "depth", "saliency"]
    model.remove_task("saliency")
    assert torch.equal(model(_images()).logits["semseg"], before.logits["semseg"])
