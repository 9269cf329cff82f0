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

from zcnas import kernels
from zcnas.exceptions import ZcnasError
from zcnas.proxies.base import DATA_PASSES, PassContext
from zcnas.proxies.model_io import PreactRecorder, is_relu_family

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


def math_attention():
    """A context selecting PyTorch's math attention backend, the one that supports the double
    backward of grasp's Hessian-gradient product (the fused CPU/CUDA kernels do not)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(SDPBackend.MATH)


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


def data_backward(
    loss: torch.Tensor,
    weights: list[torch.Tensor],
    *,
    create_graph: bool = False,
    retain_graph: bool = False,
) -> tuple[torch.Tensor | None, ...]:
    """``dL/dW`` of a data (cross-entropy) loss (None for a weight the loss never reaches).

    One function for every cross-entropy backward, so that tests can count them. Tensor hooks
    on the activations fire during it (fisher's per-sample terms).
    """
    return torch.autograd.grad(
        loss, weights, create_graph=create_graph, retain_graph=retain_graph, allow_unused=True
    )


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


class _FisherRecorder:
    """Hooks recording fisher's per-sample, per-channel ``(sum a * dL/da)^2`` of every counted
    layer's output ``a`` while :attr:`active` (so other backwards through the same graph do not
    count), one list per chunk."""

    def __init__(self, layers: list[nn.Module]) -> None:
        self.layers = layers
        self.active = True
        self.per_chunk: list[list[torch.Tensor | None]] = []
        self.handles = [m.register_forward_hook(self._make(i)) for i, m in enumerate(layers)]

    def _make(self, i: int) -> Callable[..., None]:
        mod = self.layers[i]

        def fwd_hook(_m: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            if not (isinstance(out, torch.Tensor) and out.requires_grad):
                return
            a = out.detach().clone()  # safe against a later in-place op on the output
            current = self.per_chunk[-1]

            def grad_hook(g: torch.Tensor) -> None:
                if self.active:
                    sq = _channel_terms(mod, a, g.detach()).pow(2)
                    current[i] = sq if current[i] is None else current[i] + sq

            out.register_hook(grad_hook)

        return fwd_hook

    def start_chunk(self) -> None:
        self.per_chunk.append([None] * len(self.layers))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def result(self, chunks: list[slice]) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.layers):
            c_out = layer.weight.shape[0]
            parts = [
                sq[i] if sq[i] is not None else layer.weight.new_zeros(sl.stop - sl.start, c_out)
                for sq, sl in zip(self.per_chunk, chunks, strict=True)
            ]
            out.append(torch.cat(parts).detach())
        return out


def _grads_or_zeros(
    grads: tuple[torch.Tensor | None, ...], weights: list[torch.Tensor]
) -> list[torch.Tensor]:
    return [
        torch.zeros_like(w) if g is None else g.detach().clone()
        for g, w in zip(grads, weights, strict=True)
    ]


def _run_grad_pass(ctx: PassContext, bn: bool) -> GradPass:
    if ctx.labels is None:
        raise ZcnasError("the cross-entropy pass needs labels")
    model = prepared_copy(ctx, bn=bn)
    layers = counted_layers(model)
    weights = _weights_require_grad(layers)
    grads = [torch.zeros_like(w) for w in weights]
    fisher = _FisherRecorder(layers)
    try:
        for sl in ctx.chunks():
            fisher.start_chunk()
            loss = ctx.loss(ctx.forward(model, sl), sl)
            for acc, g in zip(grads, data_backward(loss, weights), strict=True):
                if g is not None:
                    acc += g
    finally:
        fisher.remove()
    return GradPass([w.detach().clone() for w in weights], grads, fisher.result(ctx.chunks()))


def grad_pass(ctx: PassContext, bn: bool = True) -> GradPass:
    """Cross-entropy forward/backward on the real batch (memoised per ``bn``)."""
    if bn:
        _joint(ctx)
    return ctx.cached(("grad", bn), lambda: _run_grad_pass(ctx, bn))


# ------------------------------------------------------------------------------------------
# grasp: Hessian-gradient product
# ------------------------------------------------------------------------------------------


def _run_hessian_grad_pass(ctx: PassContext) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    g = grad_pass(ctx).grads  # pass 1 (stop-gradient g), shared with the other proxies
    model = prepared_copy(ctx)
    layers = counted_layers(model)
    weights = _weights_require_grad(layers)
    hg = [torch.zeros_like(w) for w in weights]
    for sl in ctx.chunks():
        loss = ctx.loss(ctx.forward(model, sl), sl)
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
    _joint(ctx)

    def run() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        with math_attention():
            return _run_hessian_grad_pass(ctx)

    return ctx.cached("hessian_grad", run)


# ------------------------------------------------------------------------------------------
# per-sample input Jacobian (jacov, epe_nas)
# ------------------------------------------------------------------------------------------


def _run_jacobian_pass(ctx: PassContext) -> tuple[torch.Tensor, int]:
    model = prepared_copy(ctx)
    rows = []
    n_out = 0
    for sl in ctx.chunks():
        x = ctx.inputs[sl].detach().clone().requires_grad_(True)
        logits = ctx.forward(model, x=x)
        n_out = logits.shape[1] if logits.dim() > 1 else 1
        logits.backward(torch.ones_like(logits))
        grad = x.grad if x.grad is not None else torch.zeros_like(x)
        rows.append(grad.detach().reshape(x.shape[0], -1))
    return torch.cat(rows), n_out


def jacobian_pass(ctx: PassContext) -> tuple[torch.Tensor, int]:
    """``J = d(sum of logits)/dx`` flattened to ``(B, D)``, and the number of logits."""
    _joint(ctx)
    return ctx.cached("jacobian", lambda: _run_jacobian_pass(ctx))


# ------------------------------------------------------------------------------------------
# binary ReLU codes (nwot)
# ------------------------------------------------------------------------------------------


def _run_relu_codes(ctx: PassContext, visited_only: bool) -> list[torch.Tensor]:
    model = prepared_copy(ctx)
    relus = [m for m in model.modules() if is_relu_family(m)]
    per_chunk: list[list[tuple[torch.Tensor, list[bool]]]] = []
    current: list[tuple[torch.Tensor, list[bool]]] = []

    def hook(_m: nn.Module, inp: Any, out: torch.Tensor) -> None:
        # the binarised ReLU input; for an in-place ReLU the input already holds relu(x),
        # whose sign pattern is the same
        code = _code_of(inp)
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
            if visited_only:
                logits = ctx.forward(model, sl)
                logits.sum().backward()
            else:
                with torch.no_grad():
                    ctx.forward(model, sl)
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


def _run_preact_codes(ctx: PassContext) -> list[torch.Tensor]:
    model = prepared_copy(ctx)
    per_chunk = []
    for sl in ctx.chunks():
        rec = PreactRecorder()
        with torch.no_grad(), rec:
            ctx.forward(model, sl)
        per_chunk.append(rec.calls)
    if len({len(c) for c in per_chunk}) != 1:
        raise ZcnasError("the number of activation calls differs between chunks")
    return [torch.cat([c[j] for c in per_chunk]) for j in range(len(per_chunk[0]))]


def preact_codes(ctx: PassContext) -> list[torch.Tensor]:
    """Per element-wise activation call (module or functional, see
    :data:`~zcnas.proxies.model_io.PREACT_FUNCTIONS`), the ``(B, units)`` boolean codes
    ``[pre-activation > 0]`` of the real batch (train-mode forward, BN kept): the ``preact``
    generalisation of the ReLU codes to GELU, SiLU, Hardswish, Mish, ... For a ReLU-family
    model it equals :func:`relu_codes` (same codes, same order)."""
    return ctx.cached("preact_codes", lambda: _run_preact_codes(ctx))


def relu_codes(ctx: PassContext, visited_only: bool = False) -> list[torch.Tensor]:
    """Per ReLU-family call, the ``(B, units)`` boolean codes ``[input > 0]`` of the real batch.

    The ReLU family is every module whose type name contains ``"ReLU"`` (NASLib's nwot rule:
    ReLU, ReLU6, LeakyReLU, PReLU, RReLU); the code is the sign of the module's input, the
    pre-activation. ``visited_only`` keeps only the ReLUs reached by the backward of the sum
    of logits (BayesWatch's ``visited_backwards``); their codes come from the same train-mode
    forward.
    """
    if not visited_only:
        _joint(ctx)
    return ctx.cached(("relu_codes", visited_only), lambda: _run_relu_codes(ctx, visited_only))


def hamming_kernel(codes: list[torch.Tensor]) -> torch.Tensor:
    """``K = sum_relu [c c^T + (1-c)(1-c)^T]`` (float64, ``units - Hamming distance``).

    Computed by the Rust kernel :func:`zcnas.kernels.hamming_kernel` on the codes of every
    ReLU call side by side: bit-packed rows, popcounts in integers, so K is exact (the
    references sum float products per layer, also exact below 2**24 units per layer).
    """
    if not codes:
        raise ZcnasError("nwot: no activation was called in the forward pass")
    return torch.from_numpy(kernels.hamming_kernel(torch.cat(codes, dim=1).cpu()))


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
    r = ctx.forward(model, x=x, dtype=torch.float64).sum()
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
            ctx.forward(model, x=x)
            f1 = feats[-1]
            ctx.forward(model, x=x + gamma * eps)
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


def _code_of(inp: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """A ReLU call's binary code ``[input > 0]`` as ``(B, units)`` bool; for an in-place ReLU
    the input already holds relu(x), whose sign pattern is the same."""
    return (inp[0].detach() > 0).reshape(inp[0].shape[0], -1)


# ------------------------------------------------------------------------------------------
# the joint pass: one forward for the cross-entropy gradient, grasp, the Jacobian and codes
# ------------------------------------------------------------------------------------------


def _joint_plan(ctx: PassContext) -> frozenset[str]:
    """The planned data passes to compute from one forward, or nothing.

    Only when at least two are planned and the batch is one chunk: grasp's Hessian-gradient
    product needs the full-batch gradient ``g`` before its per-chunk backward, so chunked runs
    keep the separate passes.
    """
    want = ctx.planned & DATA_PASSES
    if len(want) < 2 or len(ctx.chunks()) != 1:
        return frozenset()
    if want & {"grad", "hessian"} and ctx.labels is None:
        return frozenset()
    return want | {"grad"} if "hessian" in want else want


def _joint(ctx: PassContext) -> None:
    plan = _joint_plan(ctx)
    if plan:

        def run() -> None:
            with math_attention():
                try:
                    _run_joint_pass(ctx, plan)
                except RuntimeError:
                    if "hessian" not in plan:
                        raise
                    # a module without a double backward (e.g. Hardsigmoid): the other passes
                    # still share one forward; grasp's own pass then fails alone
                    _run_joint_pass(ctx, plan - {"hessian"})

        ctx.cached("joint", run)


def _run_joint_pass(ctx: PassContext, plan: frozenset[str]) -> None:
    """Fill the cache entries of the planned passes from one train-mode forward.

    On one private copy: forward the real batch (the input requiring grad if the Jacobian is
    planned; ReLU codes recorded by forward hooks), then on the same graph
    ``g = dL/dW`` of the cross-entropy (with ``create_graph`` if grasp is planned; fisher's
    hooks active only here), grasp's ``H g = d(g_graph . g)/dW``, and ``J = d(sum logits)/dx``.
    Each result equals its separate pass (same copy state, same batch, same formulas); only
    the number of forwards changes.
    """
    model = prepared_copy(ctx)
    layers = counted_layers(model)
    weights = _weights_require_grad(layers)
    sl = ctx.chunks()[0]
    x = ctx.inputs.detach().clone().requires_grad_("jacobian" in plan)
    codes: list[torch.Tensor] = []
    code_handles = []
    if "codes" in plan:
        relus = [m for m in model.modules() if is_relu_family(m)]
        code_handles = [
            r.register_forward_hook(lambda _m, inp, _out: codes.append(_code_of(inp)))
            for r in relus
        ]
    fisher = _FisherRecorder(layers) if "grad" in plan else None
    try:
        if fisher is not None:
            fisher.start_chunk()
        logits = ctx.forward(model, x=x) if "jacobian" in plan else ctx.forward(model, sl)
        if fisher is not None:
            hess = "hessian" in plan
            gw = data_backward(
                ctx.loss(logits, sl),
                weights,
                create_graph=hess,
                retain_graph=hess or "jacobian" in plan,
            )
            fisher.active = False
            grads = _grads_or_zeros(gw, weights)
            detached = [w.detach().clone() for w in weights]
            ctx.cached(("grad", True), lambda: GradPass(detached, grads, fisher.result([sl])))
            if hess:
                z = sum(
                    (
                        (g * gwi).sum()
                        for g, gwi in zip(grads, gw, strict=True)
                        if gwi is not None and gwi.requires_grad
                    ),
                    logits.new_zeros(()),
                )
                hz = (
                    torch.autograd.grad(
                        z, weights, retain_graph="jacobian" in plan, allow_unused=True
                    )
                    if z.requires_grad
                    else (None,) * len(weights)
                )
                hg = _grads_or_zeros(hz, weights)
                ctx.cached("hessian_grad", lambda: (detached, hg))
        if "jacobian" in plan:
            (gx,) = torch.autograd.grad(logits.sum(), x, allow_unused=True)
            jac = (gx if gx is not None else torch.zeros_like(x)).detach().reshape(x.shape[0], -1)
            n_out = logits.shape[1] if logits.dim() > 1 else 1
            ctx.cached("jacobian", lambda: (jac, n_out))
        if "codes" in plan:
            ctx.cached(("relu_codes", False), lambda: list(codes))
    finally:
        for h in code_handles:
            h.remove()
        if fisher is not None:
            fisher.remove()
