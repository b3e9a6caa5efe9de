"""CUDA checks (run with ``pytest -m gpu`` on a machine with a GPU; skipped elsewhere)."""

from __future__ import annotations

import pytest
import torch

import medusa_zoo

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_auto_device_is_cuda() -> None:
    model = medusa_zoo.load("medusa_regnetx002", tasks=["depth"], pretrained=False, device="auto")
    assert model.device.type == "cuda"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_matches_float32(dtype: str, tmp_path) -> None:
    torch.manual_seed(0)
    reference = medusa_zoo.load("medusa_hrnet18", tasks=["semseg", "depth", "normals"], pretrained=False, device="cuda")
    reference.save_pretrained(tmp_path)
    half = medusa_zoo.load(f"local-dir:{tmp_path}", device="cuda", dtype=dtype)
    image = torch.rand(3, 240, 320)
    full, low = reference.predict(image), half.predict(image)
    assert low["depth"].device.type == "cpu" and low["depth"].dtype == torch.float32
    assert (full["semseg"] == low["semseg"]).float().mean() > 0.95
    assert torch.allclose(full["depth"], low["depth"], rtol=0.05, atol=0.05)
    cosine = (full["normals"] * low["normals"]).sum(dim=0)
    assert cosine.mean() > 0.99


def test_cuda_and_cpu_agree(tmp_path) -> None:
    torch.manual_seed(0)
    cpu = medusa_zoo.load("mtinet_hrnet18", pretrained=False, device="cpu")
    cpu.save_pretrained(tmp_path)
    gpu = medusa_zoo.load(f"local-dir:{tmp_path}", device="cuda")
    image = torch.rand(3, 128, 160)
    a, b = cpu.predict(image), gpu.predict(image)
    assert torch.allclose(a["depth"], b["depth"], atol=1e-3)


@pytest.mark.parametrize("amp", ["bf16", "fp16", None])
def test_training_on_cuda_with_amp_and_channels_last_learns_and_resumes(amp: str | None, tmp_path) -> None:
    from medusa_zoo.training import recipe_from_dict, train

    raw = {
        "format": "medusa_zoo.recipe/1", "name": "cuda_tiny", "dataset": "synthrooms",
        "architectures": ["medusa_regnetx002"], "tasks": ["semseg", "depth", "edge"],
        "data": {"seed": 0, "resolution": [64, 96], "sizes": {"train": 16}}, "train_size": [64, 96],
        "eval_images": 4, "lr": 1e-3, "batch_size": 4, "steps": 6, "checkpoint_every": 3, "log_every": 1,
        "num_workers": 0, "amp": amp, "channels_last": True,
    }  # fmt: skip
    recipe = recipe_from_dict(raw)
    first = train(recipe, "medusa_regnetx002", out=tmp_path / "run", device="cuda", progress=False, stop_after=3)
    assert first.model.device.type == "cuda" and first.steps == 3
    result = train(recipe, "medusa_regnetx002", out=tmp_path / "run", device="cuda", progress=False)
    assert result.steps == 6 and (tmp_path / "run" / "model" / "model.safetensors").is_file()
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    assert result.metrics["depth"]["rmse"] > 0


def test_optimized_network_on_cuda_equals_eager_and_runs_one_task() -> None:
    torch.manual_seed(0)
    model = medusa_zoo.load("medusa_hrnet18", tasks=["semseg", "depth"], pretrained=False, device="cuda")
    x = torch.randn(2, 3, 96, 128, device="cuda")
    with torch.no_grad():
        eager = model(x).logits
        model.optimize_for_inference()
        fast = model(x).logits
        one = model(x, ["depth"]).logits
    for task, value in eager.items():
        assert float((fast[task] - value).abs().max()) <= 1e-3 * float(value.abs().max())
    assert list(one) == ["depth"] and torch.allclose(one["depth"], fast["depth"], rtol=1e-5, atol=1e-5)
