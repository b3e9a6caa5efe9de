"""Head structure: Medusa heads are independent of each other, MTI-Net couples its tasks."""

from __future__ import annotations

import pytest
import torch

import medusa_zoo
from medusa_zoo.backbones import FeatureInfo
from medusa_zoo.heads import MedusaHead, build_decoder

INFO = FeatureInfo(channels=(8, 16, 24, 32), strides=(4, 8, 16, 32))


def _features(batch: int = 2, size: int = 64) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, c, size // s, size // s, generator=g) for c, s in zip(INFO.channels, INFO.strides)]


def _perturb(module: torch.nn.Module) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p))


def _outputs(decoder: torch.nn.Module) -> dict[str, torch.Tensor]:
    decoder.eval()
    with torch.no_grad():
        return decoder(_features())[0]


def test_medusa_heads_do_not_read_each_other() -> None:
    decoder = build_decoder("medusa", INFO, {"semseg": 5, "depth": 1}, {})
    before = _outputs(decoder)
    _perturb(decoder.heads["depth"])
    after = _outputs(decoder)
    assert torch.equal(before["semseg"], after["semseg"])
    assert not torch.equal(before["depth"], after["depth"])


@pytest.mark.parametrize(("head", "depth_module"), [("mtinet", "refine.3.depth"), ("padnet", "initial_features.depth")])
def test_task_interaction_decoders_couple_tasks(head: str, depth_module: str) -> None:
    decoder = build_decoder(head, INFO, {"semseg": 5, "depth": 1}, {})
    before = _outputs(decoder)
    _perturb(decoder.get_submodule(depth_module))
    after = _outputs(decoder)
    assert not torch.equal(before["semseg"], after["semseg"]), "distillation should carry depth into semseg"


def test_padnet_supervises_its_fused_initial_prediction() -> None:
    decoder = build_decoder("padnet", INFO, {"semseg": 5, "depth": 1}, {})
    logits, deep = decoder(_features())
    assert logits["semseg"].shape == (2, 5, 16, 16)
    assert [tuple(d.shape) for d in deep["depth"]] == [(2, 1, 16, 16)]


@pytest.mark.parametrize("head", ["medusa", "mtinet"])
def test_deep_supervision_at_every_level(head: str) -> None:
    decoder = build_decoder(head, INFO, {"semseg": 5, "depth": 1}, {})
    logits, deep = decoder(_features())
    for task, k in (("semseg", 5), ("depth", 1)):
        assert logits[task].shape == (2, k, 16, 16)  # finest level; the network resizes to the input
        assert [tuple(d.shape) for d in deep[task]] == [(2, k, 64 // s, 64 // s) for s in INFO.strides]


@pytest.mark.parametrize(
    "options", [{"mask": "spatial"}, {"mask": "none"}, {"scale_attention": False}, {"refine_blocks": 0}]
)
def test_medusa_ablations_build_and_run(options: dict) -> None:
    head = MedusaHead(INFO.channels, 3, **options)
    final, initial = head(_features())
    assert final.shape == (2, 3, 16, 16) and len(initial) == 4
    if options.get("mask") == "spatial":
        assert head.attend[0].mask[3].out_channels == 1
    if options.get("mask") == "none":
        assert isinstance(head.attend[0], torch.nn.Identity)


def test_medusa_default_follows_the_design() -> None:
    head = MedusaHead((18, 36, 72, 144), 40)
    assert head.attend[0].mask[0].out_channels == 8  # max(C/4, 8)
    assert head.attend[3].mask[0].out_channels == 36
    assert head.attend[3].mask[3].out_channels == 144  # full channel mask
    assert len(head.refine[0]) == 2
    assert head.fusion.fuse[0].in_channels == 270


def test_hrnet18_backbone_contract() -> None:
    model = medusa_zoo.load("mtl_hrnet18", tasks=["depth"], pretrained=False)
    assert model.feature_info == FeatureInfo((18, 36, 72, 144), (4, 8, 16, 32))
    resnet = medusa_zoo.load("mtl_resnet18", tasks=["depth"], pretrained=False)
    assert resnet.feature_info == FeatureInfo((64, 128, 128, 128), (4, 8, 8, 8))  # capped at 128
    light = medusa_zoo.load("mtl_regnetx002", tasks=["depth"], pretrained=False)
    assert sum(p.numel() for p in light.backbone.parameters()) <= 3_000_000
