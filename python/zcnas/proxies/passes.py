"""Shared passes of the proxies, memoised on a :class:`~zcnas.proxies.base.PassContext`.

Every pass runs on a private copy of the caller's model (``ctx.model_copy()``) put in **train
mode** (BN uses batch statistics, as in foresight/NASLib where the copy inherits the benchmark
model's train mode; fisher sets it explicitly). A pass is memoised with ``ctx.cached(key, ...)``,
so proxies that need the same pass share one run of it: grad_norm, snip, plain, fisher and
grasp's first pass share :func:`grad_pass`; jacov and epe_nas share :func:`jacobian_pass`.

Chunking (``ctx.max_chunk``). Gradient passes run one forward/backward per chunk and weight each
chunk's mean loss by ``chunk_size / B``, so the summed gradients equal the gradient of the
full-batch mean loss. This **departs from NASLib's OOM path**, which sums unweighted chunk means
(gradients about ``n_chunks`` times larger) and keeps only the last chunk in grasp's first pass.
Activation-based passes (Jacobian rows, ReLU codes, fisher's per-sample terms) concatenate the
per-chunk results over the batch. Chunked and unchunked results are equal up to float rounding
for models without cross-sample coupling; a BatchNorm in train mode normalises each chunk with
that chunk's statistics, so with BN the chunked values differ (as they do in the reference's
OOM path).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from zcnas.exceptions import ZcnasError
from zcnas.proxies.base import PassContext

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def is_counted(mod: nn.Module) -> bool:
    """The layers foresight/NASLib score: ``nn.Conv2d`` and ``nn.Linear``."""
    return isinstance(mod, (nn.Conv2d, nn.Linear))


def counted_layers(model: nn.Module) -> list[nn.Module]:
    """Every ``Conv2d``/``Linear`` of ``model`` in ``modules()`` order."""
    return [m for m in model.modules() if is_counted(m)]


def logits_of(out: Any) -> torch.Tensor:
    """The model's output, which must be a logits tensor ``(B, classes)``."""
    if not isinstance(out, torch.Tensor):
        raise ZcnasError(
            f"the model must return a logits tensor, got {type(out).__name__} "
            "(wrap models returning tuples, e.g. xautodl's (features, logits))"
        )
    if out.dim() != 2:
        raise ZcnasError(
            f"the model must return logits of shape (B, classes), got {tuple(out.shape)}"
        )
    return out


def _bypass_bn(model: nn.Module) -> None:
    """Replace every BatchNorm's forward by the identity (bypassed, not removed), as
    ``get_prunable_copy(bn=False)`` does."""
    for m in model.modules():
        if isinstance(m, _BN_TYPES):
            m.forward = _identity  # type: ignore[method-assign]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def prepared_copy(ctx: PassContext, *, bn: bool = True, dtype: torch.dtype | None = None):
    """A private train-mode copy of the model with fresh gradients (BN bypassed if not ``bn``)."""
    m = ctx.model_copy(dtype=dtype)
    m.train()
    for p in m.parameters():
        p.grad = None
    if not bn:
        _bypass_bn(m)
    return m


def data_backward(loss: torch.Tensor) -> None:
    """The backward of a data (cross-entropy) loss; one function so that tests can count runs."""
    loss.backward()


def _weights_require_grad(layers: list[nn.Module]) -> list[torch.Tensor]:
    ws = []
    for layer in layers:
        layer.weight.requires_grad_(True)
        ws.append(layer.weight)
    return ws


# ------------------------------------------------------------------------------------------
# cross-entropy forward/backward on the real batch
# ------------------------------------------------------------------------------------------


@dataclass
class GradPass:
    """Result of :func:`grad_pass`, one entry per counted layer (``modules()`` order).

    Attributes:
        weights: detached weights.
        grads: ``dL/dW`` of the full-batch mean CE loss (zeros for a layer the loss never
            reached, as the references do for a None grad).
        fisher_sq: per-sample, per-output-channel ``(sum_spatial a * dL/da)^2`` with ``a`` the
            layer output, shape ``(B, C_out)`` (summed over the calls of a layer that is
            called more than once); zeros for a layer never called.
    """

    weights: list[torch.Tensor]
    grads: list[torch.Tensor]
    fisher_sq: list[torch.Tensor]


def _channel_terms(mod: nn.Module, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Per-sample, per-output-channel sum of ``a * g`` over the other dimensions."""
    prod = a * g
    if isinstance(mod, nn.Linear):  # channel is the last dimension
        return prod.reshape(prod.shape[0], -1, prod.shape[-1]).sum(1)
    return prod.reshape(prod.shape[0], prod.shape[1], -1).sum(2)


def _run_grad_pass(ctx: PassContext, bn: bool) -> GradPass:
    if ctx.labels is None:
        raise ZcnasError("the cross-entropy pass needs labels")
    model = prepared_copy(ctx, bn=bn)
    layers = counted_layers(model)
    weights = _weights_require_grad(layers)
    b_total = ctx.inputs.shape[0]
    chunk_sq: list[list[torch.Tensor | None]] = []
    current: list[torch.Tensor | None] = []

    def make_hook(i: int) -> Callable[..., None]:
        mod = layers[i]

        def fwd_hook(_m: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            if not (isinstance(out, torch.Tensor) and out.requires_grad):
                return
            a = out.detach().clone()  # safe against a later in-place op on the output

            def grad_hook(g: torch.Tensor) -> None:
                sq = _channel_terms(mod, a, g.detach()).pow(2)
                current[i] = sq if current[i] is None else current[i] + sq

            out.register_hook(grad_hook)

        return fwd_hook

    handles = [layer.register_forward_hook(make_hook(i)) for i, layer in enumerate(layers)]
    try:
        for sl in ctx.chunks():
            current[:] = [None] * len(layers)
            x, y = ctx.inputs[sl], ctx.labels[sl]
            logits = logits_of(model(x))
            if int(y.max()) >= logits.shape[1]:
                raise ZcnasError(
                    f"labels go up to {int(y.max())} but the model has {logits.shape[1]} outputs"
                )
            loss = nn.functional.cross_entropy(logits, y) * (x.shape[0] / b_total)
            data_backward(loss)
            chunk_sq.append(list(current))
    finally:
        for h in handles:
            h.remove()
    grads = [
        w.grad.detach().clone() if w.grad is not None else torch.zeros_like(w) for w in weights
    ]
    fisher_sq = []
    for i, layer in enumerate(layers):
        c_out = layer.weight.shape[0]
        parts = []
        for sq, sl in zip(chunk_sq, ctx.chunks(), strict=True):
            n = sl.stop - sl.start
            parts.append(sq[i] if sq[i] is not None else layer.weight.new_zeros(n, c_out))
        fisher_sq.append(torch.cat(parts).detach())
    return GradPass([w.detach().clone() for w in weights], grads, fisher_sq)


def grad_pass(ctx: PassContext, bn: bool = True) -> GradPass:
    """Cross-entropy forward/backward on the real batch (memoised per ``bn``)."""
    return ctx.cached(("grad", bn), lambda: _run_grad_pass(ctx, bn))


# ------------------------------------------------------------------------------------------
# grasp: Hessian-gradient product
# ------------------------------------------------------------------------------------------


def _run_hessian_grad_pass(ctx: PassContext) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    g = grad_pass(ctx).grads  # pass 1 (stop-gradient g), shared with the other proxies
    model = prepared_copy(ctx)
    layers = counted_layers(model)
    weights = _weights_require_grad(layers)
    b_total = ctx.inputs.shape[0]
    hg = [torch.zeros_like(w) for w in weights]
    for sl in ctx.chunks():
        x, y = ctx.inputs[sl], ctx.labels[sl]
        loss = nn.functional.cross_entropy(logits_of(model(x)), y) * (x.shape[0] / b_total)
        gw = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
        z = sum(
            ((gi * gwi).sum() for gi, gwi in zip(g, gw, strict=True) if gwi is not None),
            loss.new_zeros(()),
        )
        if not z.requires_grad:
            continue
        hz = torch.autograd.grad(z, weights, allow_unused=True)
        for acc, h in zip(hg, hz, strict=True):
            if h is not None:
                acc += h.detach()
    return [w.detach().clone() for w in weights], hg


def hessian_grad_pass(ctx: PassContext) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Weights and ``H g`` per counted layer, ``g`` the CE gradient (grasp, T=1, one iteration)."""
    return ctx.cached("hessian_grad", lambda: _run_hessian_grad_pass(ctx))


# ------------------------------------------------------------------------------------------
# per-sample input Jacobian (jacov, epe_nas)
# ------------------------------------------------------------------------------------------


def _run_jacobian_pass(ctx: PassContext) -> tuple[torch.Tensor, int]:
    model = prepared_copy(ctx)
    rows = []
    n_out = 0
    for sl in ctx.chunks():
        x = ctx.inputs[sl].detach().clone().requires_grad_(True)
        logits = logits_of(model(x))
        n_out = logits.shape[1]
        logits.backward(torch.ones_like(logits))
        grad = x.grad if x.grad is not None else torch.zeros_like(x)
        rows.append(grad.detach().reshape(x.shape[0], -1))
    return torch.cat(rows), n_out


def jacobian_pass(ctx: PassContext) -> tuple[torch.Tensor, int]:
    """``J = d(sum of logits)/dx`` flattened to ``(B, D)``, and the number of logits."""
    return ctx.cached("jacobian", lambda: _run_jacobian_pass(ctx))


# ------------------------------------------------------------------------------------------
# binary ReLU codes (nwot)
# ------------------------------------------------------------------------------------------


def _run_relu_codes(ctx: PassContext, visited_only: bool) -> list[torch.Tensor]:
    model = prepared_copy(ctx)
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    per_chunk: list[list[tuple[torch.Tensor, list[bool]]]] = []
    current: list[tuple[torch.Tensor, list[bool]]] = []

    def hook(_m: nn.Module, inp: Any, out: torch.Tensor) -> None:
        # the binarised ReLU input; for an in-place ReLU the input already holds relu(x),
        # whose sign pattern is the same
        code = (inp[0].detach() > 0).reshape(inp[0].shape[0], -1)
        visited = [False]
        if visited_only and isinstance(out, torch.Tensor) and out.requires_grad:

            def mark(g: torch.Tensor) -> None:
                visited[0] = True

            out.register_hook(mark)
        current.append((code, visited))

    handles = [r.register_forward_hook(hook) for r in relus]
    try:
        for sl in ctx.chunks():
            current.clear()
            x = ctx.inputs[sl]
            if visited_only:
                logits = logits_of(model(x))
                logits.sum().backward()
            else:
                with torch.no_grad():
                    logits_of(model(x))
            per_chunk.append(list(current))
    finally:
        for h in handles:
            h.remove()
    n_calls = len(per_chunk[0])
    codes = []
    for j in range(n_calls):
        if visited_only and not all(chunk[j][1][0] for chunk in per_chunk):
            continue
        codes.append(torch.cat([chunk[j][0] for chunk in per_chunk]))
    return codes


def relu_codes(ctx: PassContext, visited_only: bool = False) -> list[torch.Tensor]:
    """Per ReLU call, the ``(B, units)`` boolean codes ``[input > 0]`` of the real batch.

    ``visited_only`` keeps only the ReLUs reached by the backward of the sum of logits
    (BayesWatch's ``visited_backwards``); their codes come from the same train-mode forward.
    """
    return ctx.cached(("relu_codes", visited_only), lambda: _run_relu_codes(ctx, visited_only))


def hamming_kernel(codes: list[torch.Tensor]) -> torch.Tensor:
    """``K = sum_relu [c c^T + (1-c)(1-c)^T]`` (float64, ``units - Hamming distance``)."""
    if not codes:
        raise ZcnasError("nwot: no ReLU was called in the forward pass")
    n = codes[0].shape[0]
    k = torch.zeros(n, n, dtype=torch.float64)
    for c in codes:
        cf = c.to(torch.float64).cpu()
        k += cf @ cf.T + (1.0 - cf) @ (1.0 - cf).T
    return k


# ------------------------------------------------------------------------------------------
# synflow
# ------------------------------------------------------------------------------------------


def _run_synflow_pass(ctx: PassContext, bn: bool) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    model = prepared_copy(ctx, bn=bn, dtype=torch.float64)
    with torch.no_grad():
        for t in model.state_dict().values():  # every entry, incl. biases and BN stats
            if t.is_floating_point():
                t.abs_()
    layers = counted_layers(model)
    weights = _weights_require_grad(layers)
    shape = (1, *ctx.inputs.shape[1:])
    x = torch.ones(shape, dtype=torch.float64, device=ctx.inputs.device)
    r = logits_of(model(x)).sum()
    r.backward()
    grads = [w.grad.detach() if w.grad is not None else torch.zeros_like(w) for w in weights]
    return [w.detach() for w in weights], grads


def synflow_pass(ctx: PassContext, bn: bool = False):
    """Weights and ``dR/dW`` of ``R = sum(logits)`` on an all-ones ``(1, C, H, W)`` float64
    input, on a float64 copy with every state-dict entry replaced by its absolute value and BN
    bypassed (``bn=False``, NASLib/foresight ``synflow``) or kept in train mode (``synflow_bn``).
    """
    return ctx.cached(("synflow", bn), lambda: _run_synflow_pass(ctx, bn))


# ------------------------------------------------------------------------------------------
# zen
# ------------------------------------------------------------------------------------------


def _run_zen_pass(ctx: PassContext, gamma: float) -> tuple[float, float]:
    model = prepared_copy(ctx)
    gen = ctx.generator(salt=0x2E4)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                w = torch.randn(m.weight.shape, generator=gen, dtype=m.weight.dtype)
                m.weight.copy_(w)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, _BN_TYPES):
                if m.affine:
                    m.weight.fill_(1.0)
                    m.bias.zero_()
                if m.track_running_stats:
                    m.reset_running_stats()  # a fresh network's BN, as in the reference
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        raise ZcnasError("zen needs an nn.AdaptiveAvgPool2d (its input is the pre-GAP feature)")
    feats: list[torch.Tensor] = []
    handles = [p.register_forward_hook(lambda _m, inp, _o: feats.append(inp[0])) for p in pools]
    shape = tuple(ctx.inputs.shape)
    dt, dev = ctx.inputs.dtype, ctx.inputs.device
    x = torch.randn(shape, generator=gen, dtype=dt).to(dev)
    eps = torch.randn(shape, generator=gen, dtype=dt).to(dev)
    try:
        with torch.no_grad():
            model(x)
            f1 = feats[-1]
            model(x + gamma * eps)
            f2 = feats[-1]
    finally:
        for h in handles:
            h.remove()
    diff = (f1 - f2).abs().reshape(f1.shape[0], -1).sum(1).mean()
    log_bn = 0.0
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            if m.running_var is None:
                raise ZcnasError("zen needs BatchNorm2d layers that track running statistics")
            log_bn += math.log(math.sqrt(float(m.running_var.mean())))
    return float(diff), log_bn


def zen_pass(ctx: PassContext, gamma: float = 1e-2) -> tuple[float, float]:
    """Zen-score parts: ``mean_batch sum |f(x) - f(x + gamma eps)|`` on the pre-GAP feature
    (input of the last ``nn.AdaptiveAvgPool2d`` call) and ``sum_BN2d log sqrt(mean running_var)``.

    Runs the full batch at once under ``no_grad`` (``max_chunk`` is ignored: chunking would
    change the BN running statistics the score reads).
    """
    return ctx.cached(("zen", gamma), lambda: _run_zen_pass(ctx, gamma))
