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
