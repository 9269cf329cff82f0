"""The proxy engine: :func:`score` validates a call, builds one :class:`PassContext` and runs the
requested proxies on it, so that proxies needing the same pass share one run of it."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch import nn

from zcnas.exceptions import ZcnasError
from zcnas.proxies.base import PassContext, get_proxy, list_proxies


def _as_tensor(x, what: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ZcnasError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
    return x


def _resolve_names(proxies: str | Iterable[str] | None) -> list[str]:
    if proxies is None:
        return list_proxies()
    names = [proxies] if isinstance(proxies, str) else list(proxies)
    if not names:
        raise ZcnasError("no proxy requested")
    for n in names:
        get_proxy(n)  # raises, listing the known ones
    return list(dict.fromkeys(names))


def _missing(need: str, model: nn.Module, labels: torch.Tensor | None) -> str | None:
    mods = list(model.modules())
    if need == "labels" and labels is None:
        return "labels (pass labels=...)"
    if need == "relu" and not any(isinstance(m, nn.ReLU) for m in mods):
        return "an nn.ReLU module in the model"
    if need == "conv_or_linear" and not any(isinstance(m, (nn.Conv2d, nn.Linear)) for m in mods):
        return "an nn.Conv2d or nn.Linear layer in the model"
    if need == "batchnorm" and not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) for m in mods
    ):
        return "a BatchNorm layer in the model"
    if need == "global_pool" and not any(isinstance(m, nn.AdaptiveAvgPool2d) for m in mods):
        return "an nn.AdaptiveAvgPool2d in the model"
    return None


def score(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor | None = None,
    proxies: str | Iterable[str] | None = None,
    *,
    flavor: str | Mapping[str, str] | None = None,
    seed: int = 0,
    max_chunk: int | None = None,
    num_classes: int | None = None,
) -> dict[str, float]:
    """Zero-cost proxy scores of ``model`` on one minibatch.

    Args:
        model: any ``nn.Module`` mapping ``(B, C, H, W)`` to logits ``(B, classes)``. It is
            never modified: every pass runs on a private copy (parameters, buffers incl. BN
            running stats, ``requires_grad`` flags, train/eval mode and hooks are untouched).
            Passes put their copy in train mode (BN on batch statistics), as the references.
            Hooks the caller registered are deep-copied with the model, so they also fire
            on the private copies during the passes (as with the references' deepcopy).
        inputs: the minibatch, a 4-D float tensor, already normalised; moved to the model's
            device.
        labels: ``(B,)`` integer class indices, needed by the gradient proxies and epe_nas.
        proxies: a name, a list of names, or None for every registered proxy.
        flavor: one flavor for all proxies (a proxy without it uses its default) or a mapping
            ``{proxy: flavor}`` (an unknown flavor there is an error). Defaults: each proxy's
            first flavor (``naslib`` for the Suite-Zero proxies).
        seed: seed of every random draw (Gaussian inputs, re-inits); the global torch RNG
            state is restored afterwards, so nothing leaks to the caller.
        max_chunk: largest sub-batch run at once (see :mod:`zcnas.proxies.passes`).
        num_classes: the model's output count; if given, labels are checked against it.

    Returns:
        ``{name: score}`` in request order; higher = better. NaN/inf are returned as computed
        (except under the ``naslib`` flavor's post-processing) and flagged by a
        ``RuntimeWarning``.

    Raises:
        ZcnasError: unknown proxy or flavor, bad inputs/labels, or a proxy's need missing
            (labels, an nn.ReLU, ...) -- all checked before any pass runs.
    """
    if not isinstance(model, nn.Module):
        raise ZcnasError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    names = _resolve_names(proxies)
    inputs = _as_tensor(inputs, "inputs")
    if inputs.dim() != 4:
        raise ZcnasError(f"inputs must be 4-D (B, C, H, W), got shape {tuple(inputs.shape)}")
    if not inputs.is_floating_point():
        raise ZcnasError(f"inputs must be a float tensor, got {inputs.dtype}")
    if inputs.shape[0] < 1:
        raise ZcnasError("inputs must hold at least one sample")
    if labels is not None:
        labels = _as_tensor(labels, "labels")
        if labels.dim() != 1 or labels.is_floating_point() or labels.is_complex():
            raise ZcnasError(
                f"labels must be a 1-D integer tensor, got {labels.dtype} {tuple(labels.shape)}"
            )
        if labels.shape[0] != inputs.shape[0]:
            raise ZcnasError(
                f"labels has {labels.shape[0]} entries but inputs has {inputs.shape[0]} samples"
            )
        if labels.numel() and int(labels.min()) < 0:
            raise ZcnasError("labels must be non-negative class indices")
        if num_classes is not None and labels.numel() and int(labels.max()) >= num_classes:
            raise ZcnasError(f"labels go up to {int(labels.max())} >= num_classes={num_classes}")
    if max_chunk is not None and int(max_chunk) < 1:
        raise ZcnasError(f"max_chunk must be >= 1, got {max_chunk}")

    chosen: dict[str, str] = {}
    for n in names:
        p = get_proxy(n)
        if isinstance(flavor, Mapping):
            fl = flavor.get(n)
            if fl is not None and fl not in p.flavors:
                raise ZcnasError(f"proxy {n!r} has no flavor {fl!r}; it has {list(p.flavors)}")
            chosen[n] = p.resolve_flavor(fl)
        else:
            chosen[n] = p.resolve_flavor(flavor)
        for need in sorted(p.needs):
            what = _missing(need, model, labels)
            if what is not None:
                raise ZcnasError(f"proxy {n!r} needs {what}")
    if isinstance(flavor, Mapping):
        extra = set(flavor) - set(names)
        if extra:
            raise ZcnasError(f"flavor given for proxies not requested: {sorted(extra)}")

    param = next(model.parameters(), None)
    if param is not None:
        inputs = inputs.to(param.device)
        if labels is not None:
            labels = labels.to(param.device)
    labels = labels.long() if labels is not None else None
    ctx = PassContext(
        model=model,
        inputs=inputs.detach(),
        labels=labels,
        num_classes=num_classes,
        seed=int(seed),
        max_chunk=None if max_chunk is None else int(max_chunk),
        flavor=None if isinstance(flavor, Mapping) else flavor,
        planned=frozenset().union(*(get_proxy(n).passes for n in names)),
    )
    devices = [inputs.device.index or 0] if inputs.device.type == "cuda" else []
    out: dict[str, float] = {}
    with torch.random.fork_rng(devices=devices), torch.enable_grad():
        # dropout and other global-RNG users inside the passes see a seeded, private stream
        torch.manual_seed(int(ctx.generator(salt=0x5EED).initial_seed()) % (2**63))
        for n in names:
            out[n] = float(get_proxy(n).compute(ctx, chosen[n]))
    bad = [n for n, v in out.items() if not math.isfinite(v)]
    if bad:
        warnings.warn(f"non-finite scores: {bad}", RuntimeWarning, stacklevel=2)
    return out
