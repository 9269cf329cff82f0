"""The cell spaces' fast avg_pool_3x3 equals PyTorch's ``nn.AvgPool2d`` kernel bit for bit:
forward, backward and double backward (grasp's Hessian-gradient product goes through it)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zcnas.spaces._pooling import AvgPool3x3


def _native() -> nn.AvgPool2d:
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


@pytest.mark.parametrize(
    ("shape", "dtype", "channels_last"),
    [
        ((3, 4, 8, 8), torch.float32, False),
        ((2, 5, 7, 9), torch.float64, False),
        ((2, 3, 1, 1), torch.float32, False),
        ((1, 2, 1, 6), torch.float32, False),
        ((2, 3, 2, 5), torch.float64, False),
        ((4, 8, 16, 16), torch.float32, True),
    ],
)
def test_forward_backward_double_backward_bitwise(shape, dtype, channels_last):
    gen = torch.Generator().manual_seed(sum(shape))
    x0 = torch.randn(shape, generator=gen, dtype=dtype)
    if channels_last:
        x0 = x0.contiguous(memory_format=torch.channels_last)
    g = torch.randn(shape, generator=gen, dtype=dtype)
    v = torch.randn(shape, generator=gen, dtype=dtype)
    results = []
    for pool in (_native(), AvgPool3x3()):
        x = x0.clone().requires_grad_(True)
        y = pool(x)
        (gx,) = torch.autograd.grad(y, x, g, create_graph=True)
        # double backward: d/dx and d/dg of <gx, v>, the shape of grasp's Hessian product
        gg = g.clone().requires_grad_(True)
        (gx2,) = torch.autograd.grad(pool(x), x, gg, create_graph=True)
        (dg,) = torch.autograd.grad((gx2 * v).sum(), gg)
        results.append((y.detach(), gx.detach(), dg))
    for a, b in zip(*results, strict=True):
        assert a.shape == b.shape
        assert torch.equal(a, b), (a - b).abs().max()


def test_is_an_avgpool_and_falls_back():
    pool = AvgPool3x3()
    assert isinstance(pool, nn.AvgPool2d)
    assert pool.extra_repr() == _native().extra_repr()
    assert pool.state_dict() == {}
    x = torch.randn(2, 3, 6, 6).to(torch.bfloat16)  # not a fast-path dtype: native kernel
    assert torch.equal(pool(x), _native()(x))
    x3 = torch.randn(3, 6, 6)  # unbatched 3-D input: native kernel
    assert torch.equal(pool(x3), _native()(x3))


def test_gradcheck():
    x = torch.randn(2, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(AvgPool3x3(), (x,))
    assert torch.autograd.gradgradcheck(AvgPool3x3(), (x,))


def test_nb201_cells_use_it():
    from zcnas.spaces import nb201

    model = nb201.build("|avg_pool_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|none~1|none~2|")
    assert any(isinstance(m, AvgPool3x3) for m in model.modules())
