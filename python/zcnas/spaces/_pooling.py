"""Faster CPU paths for the cell spaces' pooling ops, bit-for-bit equal to PyTorch's kernels:
``avg_pool_3x3`` (:class:`AvgPool3x3`) and max pooling (:class:`MaxPool2d`).

**Average pooling** (3x3, stride 1, padding 1, ``count_include_pad=False``).
PyTorch's CPU ``avg_pool2d`` kernel for NCHW tensors walks every output pixel and sums its
window in a scalar loop; on NB201 cells that one op was 45% of the torch time of the
13-proxy call (issue 16's profile). Here the window sum is nine whole-tensor additions of
shifted views of the zero-padded input, in the kernel's own order (window row-major, starting
from the top-left element), divided by the same per-pixel element count. Adding a padding
zero leaves a float sum unchanged, so the forward is bitwise equal to the kernel. The backward
is the adjoint, ``g / count`` summed over the nine shifted windows in the order the kernel
scatters them (outputs row-major), also bitwise equal to ``avg_pool2d_backward``; and the
adjoint's own backward is the forward again, which is what PyTorch's double backward of
``avg_pool2d_backward`` computes, so grasp's Hessian-gradient product is unchanged too.
(Checked bitwise in ``tests/spaces/test_pooling.py``.)

The fast path is taken for 4-D float32/float64 CPU inputs; anything else (CUDA, half
precision, other pooling parameters) uses ``nn.AvgPool2d``'s own kernel.

**Max pooling** (NB101's ``maxpool3x3`` and stack downsampling, DARTS/NB301 ``max_pool_3x3``).
PyTorch's CPU ``max_pool2d`` for NCHW tensors is a scalar loop per output pixel: 40-170 ms
forward on a (30, 128, 32, 32) tensor, where its channels-last kernel (vectorised over
channels) takes 3-5 ms. Both kernels scan each window in the same order and keep the first
maximum (``val > max || isnan(val)``), so they give the same values and the same argmax
indices. :class:`MaxPool2d` converts a contiguous NCHW input to channels-last, pools there,
and returns a contiguous NCHW output; its backward scatters through PyTorch's own
``max_pool2d_with_indices_backward`` (channels-last, same per-channel output order) and
returns a contiguous NCHW gradient, and the double backward is the gather at the argmax
indices that PyTorch's double backward computes. The tensors that leave the op (output,
gradients) have the same layout as with ``nn.MaxPool2d``, so the kernels around it are not
changed either. (Checked bitwise in ``tests/spaces/test_pooling.py``, ties and NaN included.)

Under ``torch.func`` transforms (``vmap``, ``grad``, ``jacrev``, ...) and in TorchScript
(``torch.jit.script``) both modules run PyTorch's own kernels: the custom autograd functions
of the fast paths support neither.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AvgPool3x3", "MaxPool2d"]


def _plain_tensor(x: torch.Tensor) -> bool:
    """False under ``torch.func`` transforms (vmap, grad, jacrev, ...), which the custom
    autograd functions here do not support: the modules then run PyTorch's own kernels (same
    values)."""
    functorch = getattr(torch._C, "_functorch", None)
    wrapped = getattr(functorch, "is_functorch_wrapped_tensor", None)
    active = getattr(torch._C, "_are_functorch_transforms_active", None)
    if wrapped is not None and wrapped(x):
        return False
    return not (active is not None and active())


def _fast_input(x: torch.Tensor) -> bool:
    """The input side of both fast paths: a plain (not ``torch.func``-wrapped) 4-D float32 /
    float64 CPU tensor."""
    return (
        _plain_tensor(x)
        and x.dim() == 4
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
    )


def _counts(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """Elements of each 3x3 window inside an ``h x w`` image, shape ``(h, w)``."""
    idx_h = torch.arange(h, device=like.device)
    idx_w = torch.arange(w, device=like.device)
    rows = (idx_h + 1).clamp(max=h - 1) - (idx_h - 1).clamp(min=0) + 1
    cols = (idx_w + 1).clamp(max=w - 1) - (idx_w - 1).clamp(min=0) + 1
    return (rows[:, None] * cols[None, :]).to(like.dtype)


def _window_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum of the nine shifted 3x3 neighbours of every pixel (zeros outside), row-major."""
    h, w = t.shape[-2:]
    p = F.pad(t, (1, 1, 1, 1))
    acc = p[..., 0:h, 0:w].clone()
    for i in range(3):
        for j in range(3):
            if i or j:
                acc.add_(p[..., i : i + h, j : j + w])
    return acc


class _BoxAvg(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return _window_sum(x) / _counts(x.shape[-2], x.shape[-1], x)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return _BoxAvgAdjoint.apply(g)


class _BoxAvgAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return _window_sum(g / _counts(g.shape[-2], g.shape[-1], g))

    @staticmethod
    def backward(ctx, gg: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return _BoxAvg.apply(gg)


class AvgPool3x3(nn.AvgPool2d):
    """``nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)`` with a faster,
    bitwise-equal CPU path (see the module docstring). It is an ``nn.AvgPool2d`` (same
    attributes, ``repr`` and state dict), so code that looks for pooling layers finds it.
    """

    def __init__(self) -> None:
        super().__init__(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():  # TorchScript: the native kernel
            return F.avg_pool2d(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.ceil_mode,
                self.count_include_pad,
                self.divisor_override,
            )
        return self._eager(x)

    @torch.jit.unused
    def _eager(self, x: torch.Tensor) -> torch.Tensor:
        fast = (
            _fast_input(x)
            and self.kernel_size == 3
            and self.stride == 1
            and self.padding == 1
            and not self.count_include_pad
            and not self.ceil_mode
            and self.divisor_override is None
        )
        return _BoxAvg.apply(x) if fast else super().forward(x)


# ------------------------------------------------------------------------------ max pooling


def _pair(v: int | tuple[int, ...]) -> list[int]:
    return [int(v), int(v)] if isinstance(v, int) else [int(t) for t in v]


class _MaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, k: list[int], s: list[int], p: list[int]) -> torch.Tensor:  # type: ignore[override]
        x_cl = x.contiguous(memory_format=torch.channels_last)
        y, idx = torch.ops.aten.max_pool2d_with_indices(x_cl, k, s, p, [1, 1], False)
        ctx.save_for_backward(x_cl, idx)
        ctx.params = (k, s, p)
        return y.contiguous()

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        x_cl, idx = ctx.saved_tensors
        return _MaxPoolAdjoint.apply(g, x_cl, idx, ctx.params), None, None, None


class _MaxPoolAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, g: torch.Tensor, x_cl: torch.Tensor, idx: torch.Tensor, params):  # type: ignore[override]
        k, s, p = params
        g_cl = g.contiguous(memory_format=torch.channels_last)
        gx = torch.ops.aten.max_pool2d_with_indices_backward(
            g_cl, x_cl, k, s, p, [1, 1], False, idx
        )
        ctx.save_for_backward(idx)
        return gx.contiguous()

    @staticmethod
    def backward(ctx, gg: torch.Tensor):  # type: ignore[override]
        (idx,) = ctx.saved_tensors
        i = idx.contiguous()
        out = gg.contiguous().flatten(2).gather(2, i.flatten(2)).view(i.shape)
        return out, None, None, None


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` with a faster, bitwise-equal CPU path (see the module docstring).

    It is an ``nn.MaxPool2d`` (same constructor, attributes, ``repr`` and empty state dict),
    so code that looks for pooling layers (FLOPs counting) finds it. The fast path is taken
    for contiguous NCHW float32/float64 CPU inputs without ``dilation``, ``ceil_mode`` or
    ``return_indices``; anything else runs ``nn.MaxPool2d``'s own kernel.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():  # TorchScript: the native kernel
            return F.max_pool2d(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.dilation,
                ceil_mode=self.ceil_mode,
                return_indices=self.return_indices,
            )
        return self._eager(x)

    @torch.jit.unused
    def _eager(self, x: torch.Tensor) -> torch.Tensor:
        fast = (
            _fast_input(x)
            and x.is_contiguous()
            and not self.return_indices
            and not self.ceil_mode
            and _pair(self.dilation) == [1, 1]
        )
        if not fast:
            return super().forward(x)
        k = _pair(self.kernel_size)
        s = _pair(self.stride if self.stride is not None else self.kernel_size)
        return _MaxPool.apply(x, k, s, _pair(self.padding))
