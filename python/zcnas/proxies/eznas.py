"""EZNAS's released program as a proxy (PROXIES.md 3.2).

Reference: IntelLabs/Hardware-Aware-Automated-Machine-Learning @ fc29bc78,
``EZNAS/verify_scores.py`` (individual "darts", used for every README number),
``EZNAS/evol_utilities.py`` (statistics collection) and ``EZNAS/gp_func_defs.py`` (operations).

**Layers.** The Conv2d, BatchNorm2d and ReLU modules in registration order (``model.modules()``),
grouped into consecutive ``(ReLU, Conv2d, BatchNorm2d)`` triplets; for NAS-Bench-201 these are
exactly the ReLU-Conv-BN ops of the cells and of the reduction blocks (the stem's Conv-BN, the
shortcut's lone 1x1 conv and the head's BN-ReLU are not triplets), which is what the reference's
``create_layer_sequence`` keeps. On other models every ReLU directly followed (in registration
order) by a Conv2d and a BatchNorm2d counts, e.g. ``(relu1, conv2, bn2)`` in a Conv-BN-ReLU
chain, as the reference's positional triplets would be.

**Model prep.** A private copy in train mode with every parameter requiring grad, re-initialised
as the reference: Conv2d weights Kaiming-normal (``fan_out``, ``relu``), conv biases 0;
BatchNorm weight 1, bias 0; Linear weights N(0, 0.01), bias 0; draws from
``ctx.generator(SALT_INIT)`` in ``model.modules()`` order.

**Statistic** (the program's ARG8, ``inpactgrad_data``): one forward on the real batch
``ctx.inputs`` (the reference: batch 16), then ``logits.backward(ones)`` (the gradient of the sum
of the logits; no loss, no labels). For each triplet, G = the gradient with respect to the input
of its ReLU *through that ReLU* (what the reference's backward hook on the ReLU module sees:
grad of the ReLU output times 1[input > 0]), shape (B, C, H, W).

**Program.** Per layer: ``frobenius_norm(sigmoid(nan_to_zero(logdet(sign(G)))))``, where
``logdet`` acts batched on the trailing H x W matrices (H must equal W), giving B x C values; a
singular sign matrix gives -inf (sigmoid 0) and a negative determinant gives NaN, replaced by 0
(sigmoid 0.5), as the reference's safe logdet. The network score is the mean over layers.
Layers whose ReLU output gets no gradient (not used by the logits) are left out.

Sign: **higher = better**, as the reference ranks the released program (its evolution kept
|Kendall tau|, so the program could have been anti-correlated; the README reports positive tau
for it). NaN policy: NaN determinants as above; nothing else is replaced. Departures: the
determinant is computed in float64 (the reference uses the gradient's dtype, float32), and since
a sign matrix has integer entries its determinant is an integer, so a computed
|det| < 1/2 is taken as exactly 0 (singular, -inf): LU round-off on a singular sign matrix
would otherwise give a tiny determinant of either sign (a finite logdet, or NaN -> 0.5),
differently on different LAPACKs; ``max_chunk`` is not used (one pass, BN batch statistics).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from zcnas.exceptions import ZcnasError
from zcnas.proxies.base import PassContext, Proxy, register
from zcnas.proxies.model_io import is_relu_family

__all__ = ["SALT_INIT", "eznas_init", "eznas_layer_scores", "relu_conv_bn_triplets"]

#: Salt of ``ctx.generator`` for the re-initialisation.
SALT_INIT = 3_200_001


def relu_conv_bn_triplets(model: nn.Module) -> list[tuple[nn.Module, nn.Conv2d, nn.BatchNorm2d]]:
    """Consecutive ``(ReLU, Conv2d, BatchNorm2d)`` triplets among those modules, in order; the
    ReLU is any ReLU-family module (type name containing ``"ReLU"``: ReLU6, LeakyReLU, ...)."""
    seq = [
        m for m in model.modules() if is_relu_family(m) or isinstance(m, nn.Conv2d | nn.BatchNorm2d)
    ]
    out = []
    i = 0
    while i + 2 < len(seq):
        a, b, c = seq[i : i + 3]
        if is_relu_family(a) and isinstance(b, nn.Conv2d) and isinstance(c, nn.BatchNorm2d):
            out.append((a, b, c))
            i += 3
        else:
            i += 1
    return out


def eznas_init(model: nn.Module, generator: torch.Generator | None) -> None:
    """The reference's re-initialisation, in place (see the module docstring): Conv2d weights
    Kaiming normal (fan-out, ReLU gain: ``N(0, 2 / (k_h * k_w * out_channels))``), BatchNorm
    weight 1 / bias 0, Linear weights ``N(0, 0.01**2)``, biases 0, drawn from ``generator``
    (``None``: PyTorch's global generator). It is also NASLib's NB101 network initialisation
    (:func:`zcnas.spaces.nb101.build`)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                tmp = torch.empty(m.weight.shape, dtype=m.weight.dtype)
                nn.init.kaiming_normal_(
                    tmp, mode="fan_out", nonlinearity="relu", generator=generator
                )
                m.weight.copy_(tmp)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                if m.weight is not None:
                    m.weight.fill_(1.0)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Linear):
                tmp = torch.empty(m.weight.shape, dtype=m.weight.dtype)
                nn.init.normal_(tmp, 0.0, 0.01, generator=generator)
                m.weight.copy_(tmp)
                if m.bias is not None:
                    m.bias.zero_()


def _program(g: torch.Tensor) -> float:
    """frob(sigmoid(nan_to_zero(logdet(sign(g))))) over the trailing square matrices.

    >>> s = torch.tensor([[[1.0, 0], [0, 1]], [[0, 1], [1, 0]],
    ...                   [[1, 1], [1, 1]], [[1, 1], [-1, 1]]])  # det 1, -1, 0, 2
    >>> round(_program(s.reshape(2, 2, 2, 2)), 6) == round((0.25 + 0.25 + 0 + 4 / 9) ** 0.5, 6)
    True
    """
    sign, logabs = torch.linalg.slogdet(torch.sign(g.detach()).double())
    # sign(G) has integer entries, so det is an integer: |det| < 1/2 is round-off of a 0.
    ld = torch.where(sign < 0, torch.zeros_like(logabs), logabs)  # logdet NaN -> 0
    ld = torch.where(logabs < math.log(0.5), torch.full_like(logabs, -math.inf), ld)
    return float(torch.linalg.norm(torch.sigmoid(ld).reshape(ld.shape[0], -1)).item())


def eznas_layer_scores(model: nn.Module, inputs: torch.Tensor, seed: int = 0) -> list[float]:
    """The released program's value for every ReLU-Conv-BN layer of ``model`` (not modified).

    Returns:
        One float per triplet that received a gradient, in registration order; the registered
        ``eznas`` score is their mean.
    """
    ctx = PassContext(model=model, inputs=inputs, seed=seed)
    return _layer_scores(ctx)


def _layer_scores(ctx: PassContext) -> list[float]:
    net = ctx.model_copy()
    triplets = relu_conv_bn_triplets(net)
    if not triplets:
        raise ZcnasError("eznas needs ReLU -> Conv2d -> BatchNorm2d layers; the model has none")
    for p in net.parameters():
        p.requires_grad_(True)
    net.train()
    eznas_init(net, ctx.generator(SALT_INIT))
    outs: dict[int, list[torch.Tensor]] = {k: [] for k in range(len(triplets))}

    def make_hook(k: int):
        def hook(_mod: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            if out.requires_grad:
                out.retain_grad()
                outs[k].append(out)

        return hook

    handles = [relu.register_forward_hook(make_hook(k)) for k, (relu, _, _) in enumerate(triplets)]
    try:
        with torch.enable_grad():
            logits = ctx.forward(net)
            logits.backward(torch.ones_like(logits))
    finally:
        for h in handles:
            h.remove()
    scores = []
    for k in range(len(triplets)):
        for out in outs[k]:
            if out.grad is None:
                continue
            if out.dim() != 4 or out.shape[-1] != out.shape[-2]:
                raise ZcnasError(
                    f"eznas takes logdet over square H x W maps; a ReLU input has shape "
                    f"{tuple(out.shape)}"
                )
            g = out.grad * (out > 0).to(out.grad.dtype)
            scores.append(_program(g))
    if not scores:
        raise ZcnasError("eznas: no ReLU-Conv-BN layer received a gradient from the logits")
    return scores


def _compute(ctx: PassContext, flavor: str) -> float:
    if flavor != "eznas":
        raise ZcnasError(f"eznas: unknown flavor {flavor!r}; expected 'eznas'")
    scores = ctx.cached(("zcnas.eznas.layers",), lambda: _layer_scores(ctx))
    return float(sum(scores) / len(scores))


def _check(info: Any, flavor: str) -> str | None:
    if not relu_conv_bn_triplets(info.model):
        return "needs ReLU-family -> Conv2d -> BatchNorm2d layers (EZNAS's instances)"
    if not info.probe.relu_4d_inputs(square=True):
        return "takes log-determinants over square H x W activation maps; the model has none"
    return None


register(
    Proxy(
        name="eznas",
        compute=_compute,
        flavors=("eznas",),
        needs=frozenset({"relu", "batchnorm"}),
        check=_check,
        family="eznas",
        doc="EZNAS released program: mean over ReLU-Conv-BN layers of frob(sigmoid(logdet("
        "sign(G)))), G = gradient of the summed logits w.r.t. the ReLU input (through the "
        "ReLU), logdet batched over H x W, NaN logdet -> 0; real batch, train mode, Kaiming "
        "fan_out re-init (IntelLabs EZNAS verify_scores.py). Higher = better.",
    )
)
