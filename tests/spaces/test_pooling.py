"""The cell spaces' fast avg_pool_3x3 and max pooling equal PyTorch's ``nn.AvgPool2d`` /
``nn.MaxPool2d`` kernels bit for bit:
forward, backward and double backward (grasp's Hessian-gradient product goes through it)."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from zcnas.spaces._pooling import AvgPool3x3, MaxPool2d


def _three_passes(pool: nn.Module, x0: torch.Tensor, g: torch.Tensor, v: torch.Tensor):
    """(output, gradient for output gradient ``g``, double backward d<gx, v>/dg) of ``pool``
    at ``x0``: the shape of grasp's Hessian product."""
    x = x0.clone().requires_grad_(True)
    y = pool(x)
    (gx,) = torch.autograd.grad(y, x, g, create_graph=True)
    gg = g.clone().requires_grad_(True)
    (gx2,) = torch.autograd.grad(pool(x), x, gg, create_graph=True)
    (dg,) = torch.autograd.grad((gx2 * v).sum(), gg)
    return y.detach(), gx.detach(), dg


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
    results = [_three_passes(pool, x0, g, v) for pool in (_native(), AvgPool3x3())]
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


# ------------------------------------------------------------------ max pooling


@pytest.mark.parametrize(
    ("shape", "dtype", "k", "s", "p", "kind"),
    [
        ((3, 4, 8, 8), torch.float32, 3, 1, 1, "randn"),
        ((2, 5, 7, 9), torch.float64, 3, 1, 1, "relu"),  # many tied zeros
        ((2, 6, 9, 9), torch.float32, 3, 2, 1, "int"),  # ties among small integers
        ((2, 3, 8, 8), torch.float32, 2, 2, 0, "relu"),  # NB101's stack downsampling
        ((2, 3, 1, 1), torch.float32, 3, 1, 1, "randn"),
        ((2, 4, 6, 5), torch.float32, 3, 1, 1, "nan"),  # NaN wins the window, as in the kernel
        ((4, 16, 16, 16), torch.float32, 3, 1, 1, "relu"),
    ],
)
def test_maxpool_forward_backward_double_backward_bitwise(shape, dtype, k, s, p, kind):
    gen = torch.Generator().manual_seed(sum(shape) + k)
    x0 = torch.randn(shape, generator=gen, dtype=dtype)
    if kind == "relu":
        x0 = x0.relu()
    elif kind == "int":
        x0 = torch.randint(0, 3, shape, generator=gen).to(dtype)
    elif kind == "nan":
        x0[0, 1, 2, 3] = float("nan")
    out_shape = nn.MaxPool2d(k, s, p)(x0).shape
    g = torch.randn(out_shape, generator=torch.Generator().manual_seed(1), dtype=dtype)
    v = torch.randn(shape, generator=torch.Generator().manual_seed(2), dtype=dtype)
    results = [
        _three_passes(pool, x0, g, v) for pool in (nn.MaxPool2d(k, s, p), MaxPool2d(k, s, p))
    ]
    for a, b in zip(*results, strict=True):
        assert a.shape == b.shape
        assert a.stride() == b.stride()  # same layout leaves the op (NCHW contiguous)
        assert torch.equal(a.nan_to_num(7.0), b.nan_to_num(7.0)), (a - b).abs().max()
        assert torch.equal(a.isnan(), b.isnan())


def test_maxpool_is_a_maxpool_and_falls_back():
    pool = MaxPool2d(3, stride=1, padding=1)
    native = nn.MaxPool2d(3, stride=1, padding=1)
    assert isinstance(pool, nn.MaxPool2d)
    assert pool.extra_repr() == native.extra_repr()
    assert pool.state_dict() == {}
    x = torch.randn(2, 3, 6, 6)
    for xin in (
        x.to(torch.bfloat16),  # not a fast-path dtype
        x[0],  # unbatched 3-D input
        x.contiguous(memory_format=torch.channels_last),  # already channels-last
    ):
        got = pool(xin)
        assert torch.equal(got, native(xin))
        assert got.stride() == native(xin).stride()
    ind = MaxPool2d(2, return_indices=True)(x)  # indices requested: native kernel
    assert all(
        torch.equal(a, b) for a, b in zip(ind, nn.MaxPool2d(2, return_indices=True)(x), strict=True)
    )


@pytest.mark.parametrize("which", ["avg", "max", "max_s2"])
def test_torch_func_and_torchscript_fall_back(which):
    """vmap / grad / jacrev and torch.jit.script work as with PyTorch's modules (same values)."""
    from torch.func import grad, jacrev, vmap

    fast, native = {
        "avg": (AvgPool3x3(), _native()),
        "max": (MaxPool2d(3, 1, 1), nn.MaxPool2d(3, 1, 1)),
        "max_s2": (MaxPool2d(3, 2, 1), nn.MaxPool2d(3, 2, 1)),
    }[which]
    x = torch.randn(3, 2, 4, 6, 6, generator=torch.Generator().manual_seed(5)).relu()
    for f in (fast, native):
        assert torch.equal(vmap(f)(x), vmap(native)(x))
    g_fast = grad(lambda t: fast(t).square().sum())(x[0])
    assert torch.equal(g_fast, grad(lambda t: native(t).square().sum())(x[0]))
    assert torch.equal(jacrev(fast)(x[0, :1]), jacrev(native)(x[0, :1]))
    with warnings.catch_warnings():  # torch.jit.script is deprecated in recent PyTorch
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.script(fast)
    assert torch.equal(scripted(x[0]), native(x[0]))


def test_torch_func_per_sample_grads_on_a_network():
    """Per-sample gradients by vmap(grad(functional_call)) through a network with both fast
    pools (DARTS-V2, NASLib ops, eval mode) equal a loop of autograd calls."""
    from torch.func import functional_call, grad, vmap

    from zcnas.spaces import darts

    torch.manual_seed(0)
    net = darts.build(darts.DARTS_V2, C=4, layers=3, naslib_ops=True).eval()
    assert any(type(m) is MaxPool2d for m in net.modules())
    params = {k: v.detach() for k, v in net.named_parameters()}
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))

    def loss(p, xi):
        return functional_call(net, p, (xi[None],)).square().sum()

    per_sample = vmap(grad(loss), in_dims=(None, 0))(params, x)
    name = "cells.0.preprocess1.op.1.weight"
    for i in range(2):
        (g,) = torch.autograd.grad(net(x[i : i + 1]).square().sum(), [net.get_parameter(name)])
        torch.testing.assert_close(per_sample[name][i], g, rtol=1e-5, atol=1e-6)


def test_fast_paths_are_taken_in_eager_mode(monkeypatch):
    from zcnas.spaces import _pooling

    calls = []
    for fn in ("_MaxPool", "_BoxAvg"):
        cls = getattr(_pooling, fn)
        real = cls.apply
        monkeypatch.setattr(cls, "apply", lambda *a, _r=real, _n=fn: calls.append(_n) or _r(*a))
    x = torch.randn(2, 3, 8, 8)
    MaxPool2d(3, 1, 1)(x)
    AvgPool3x3()(x)
    assert calls == ["_MaxPool", "_BoxAvg"]
