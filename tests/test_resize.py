"""The matrix-product bilinear resize equals F.interpolate, forwards and backwards."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from medusa_zoo.resize import bilinear, matrix_resize


@pytest.mark.parametrize("shape, size", [
    ((2, 3, 8, 10), (32, 40)), ((1, 1, 4, 5), (128, 160)), ((2, 5, 32, 40), (8, 10)),
    ((1, 2, 7, 9), (20, 13)), ((1, 4, 5, 5), (5, 9)), ((3, 2, 1, 1), (4, 6)),
])  # fmt: skip
def test_values_and_gradients_equal_interpolate(shape: tuple, size: tuple) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(*shape[:2], *size, generator=g, dtype=torch.float64)
    ours = bilinear(x, size)
    (ours * upstream).sum().backward()
    ours_grad, x.grad = x.grad.clone(), None
    reference = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    (reference * upstream).sum().backward()
    assert torch.allclose(ours, reference, rtol=1e-12, atol=1e-12)
    assert torch.allclose(ours_grad, x.grad, rtol=1e-12, atol=1e-12)


def test_matrix_products_only_while_autograd_records() -> None:
    x = torch.randn(1, 2, 4, 4)
    assert bilinear(x, (4, 4)) is x
    with torch.no_grad():
        assert torch.equal(bilinear(x.requires_grad_(), (8, 8)), F.interpolate(x, size=(8, 8), mode="bilinear"))
    y = torch.randn(1, 2, 4, 4, requires_grad=True).contiguous(memory_format=torch.channels_last)
    out = bilinear(y, (8, 8))
    assert out.grad_fn is not None and "Upsample" not in type(out.grad_fn).__name__
    assert out.is_contiguous(memory_format=torch.channels_last)
    with matrix_resize(False):
        assert "Upsample" in type(bilinear(y, (8, 8)).grad_fn).__name__
