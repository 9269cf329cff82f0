"""ZiCo: inverse coefficient of variation of the weight gradients (PROXIES.md 2.13).

Reference: SLDGroup/ZiCo @ b0fec659, ``ZeroShotProxy/compute_zico.py`` (and AZ-NAS's NB201 port
``NB201/ZeroShotProxy/compute_zico_score.py``, whose None-gradient guard is followed here).

For real minibatches b = 1..n with labels, on a private copy of the model in train mode (default
init, no re-initialisation; every parameter requires grad): zero the gradients
(``set_to_none``), forward, cross-entropy with mean reduction, backward, and record the flattened
``weight.grad`` of every ``Conv2d`` and ``Linear`` (``named_modules()`` order). Per layer l, per
weight element theta: mu = mean_b |g_b| and sigma = std_b(g_b) (population std, ddof 0; with two
batches sigma = |g_1 - g_2| / 2). Then::

    zico = sum_l log( sum_{theta: sigma != 0} mu / sigma )

Layers whose inner sum is 0 (every sigma is 0) are skipped, as the reference's ``tmpsum == 0``
check; layers whose weight gradient is None are skipped (the original crashes; AZ-NAS's port
skips them). A model with no counted layer scores 0.0, as the reference's initial sum.

**Batches.** The reference uses 2 loader batches (``--maxbatch 2``; 64 images each in AZ-NAS's
NB201 port, 128 in ZiCo's ImageNet scripts). The registered proxy ``zico`` splits the engine's
one minibatch ``ctx.inputs`` into 2 consecutive parts (``torch.tensor_split``: the first gets
the extra sample of an odd batch), each run as its own forward/backward, so a batch of 128 gives
the reference's 2 x 64. :func:`zico_score` takes any list of ``(inputs, labels)`` batches.

Sign: **higher = better**, as the reference ranks it. NaN policy: none; a NaN gradient gives a
NaN score, returned as such. Departures: the per-element statistics are computed in float64
from the float32 gradients (the reference computes them in NumPy on float32 arrays); each batch
runs in one pass (BN batch statistics), ``max_chunk`` is not used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from zcnas import kernels
from zcnas.exceptions import ZcnasError
from zcnas.proxies._copy import module_copy
from zcnas.proxies.base import PassContext, Proxy, register
from zcnas.proxies.model_io import ModelInputs, default_output

__all__ = ["N_BATCHES", "zico_from_grads", "zico_score"]

#: Number of minibatches the registered proxy splits ``ctx.inputs`` into (reference: 2).
N_BATCHES = 2


def zico_from_grads(grads: dict[str, list[np.ndarray]]) -> float:
    """ZiCo from recorded gradients: ``grads[layer]`` holds one flattened gradient per batch.

    >>> g = {"a": [np.array([1.0, 2.0]), np.array([3.0, 2.0])]}  # mu/sigma = 2/1; sigma=0 dropped
    >>> round(zico_from_grads(g), 6) == round(float(np.log(2.0)), 6)
    True
    """
    # per layer: mean |g| / std (ddof 0) over batches, zero-std weights dropped, log of the
    # sum; a zero sum skips the layer (the reference) -- the Rust kernel zcnas.kernels.zico
    return kernels.zico(np.stack(per_batch) for per_batch in grads.values())


def _logits(out: Any) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise ZcnasError(f"ZiCo needs a model returning a logits tensor, got {type(out).__name__}")
    return out


def zico_score(
    model: nn.Module,
    batches: Sequence[tuple[Any, torch.Tensor]],
    loss_fn: Any = None,
    output_fn: Any = None,
) -> float:
    """ZiCo of ``model`` (not modified) over real ``(inputs, labels)`` batches.

    Args:
        model: the network; a deep copy is put in train mode and used.
        batches: at least 2 ``(inputs, labels)`` pairs (the reference uses 2); ``inputs`` is a
            tensor or a :class:`~zcnas.proxies.model_io.ModelInputs` (several inputs).
        loss_fn: default ``nn.CrossEntropyLoss()`` (mean reduction).
        output_fn: model output -> scored tensor (default
            :func:`~zcnas.proxies.model_io.default_output`).

    Returns:
        The ZiCo score (higher = better).

    Raises:
        ZcnasError: fewer than 2 batches, or a batch without labels.
    """
    batches = list(batches)
    if len(batches) < 2:
        raise ZcnasError(f"ZiCo needs at least 2 minibatches (std across them), got {len(batches)}")
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    net = module_copy(model)
    for p in net.parameters():
        p.requires_grad_(True)
    net.train()
    layers = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    grads: dict[str, list[np.ndarray]] = {}
    skip: set[str] = set()
    with torch.enable_grad():
        for x, y in batches:
            if y is None:
                raise ZcnasError("ZiCo needs labels (cross-entropy on real data)")
            net.zero_grad(set_to_none=True)
            raw = x.call(net) if isinstance(x, ModelInputs) else net(x)
            loss = loss_fn(_logits((output_fn or default_output)(raw)), y)
            loss.backward()
            for name, mod in layers:
                g = mod.weight.grad
                if g is None:
                    skip.add(name)
                    continue
                grads.setdefault(name, []).append(g.detach().reshape(-1).cpu().double().numpy())
    return zico_from_grads({n: v for n, v in grads.items() if n not in skip})


def _compute(ctx: PassContext, flavor: str) -> float:
    if flavor != "zico":
        raise ZcnasError(f"zico: unknown flavor {flavor!r}; expected 'zico'")
    if ctx.labels is None:
        raise ZcnasError("zico needs labels: pass labels for the minibatch (cross-entropy loss)")
    b = ctx.inputs.shape[0]
    if b < N_BATCHES:
        raise ZcnasError(f"zico splits the batch into {N_BATCHES} minibatches; got batch size {b}")
    call = ctx.model_call()
    bounds = [len(t) for t in torch.tensor_split(torch.arange(b), N_BATCHES)]
    starts = [sum(bounds[:i]) for i in range(N_BATCHES)]
    parts = [
        (call.batch_slice(slice(s, s + n)), ctx.labels[s : s + n])
        for s, n in zip(starts, bounds, strict=True)
    ]
    return zico_score(ctx.model, parts, loss_fn=ctx.loss_fn, output_fn=ctx.output_fn)


register(
    Proxy(
        name="zico",
        compute=_compute,
        flavors=("zico",),
        needs=frozenset({"labels", "conv_or_linear"}),
        family="gradient",
        min_batch=2 * N_BATCHES,
        doc="ZiCo: sum over Conv2d/Linear layers of log(sum over weights with std != 0 of "
        "mean|g| / std(g)), statistics across 2 minibatches (the batch split in two halves), "
        "CE loss, train mode, default init (SLDGroup/ZiCo compute_zico.py). Higher = better. "
        "Layers with None grads or all-zero std are skipped.",
    )
)
