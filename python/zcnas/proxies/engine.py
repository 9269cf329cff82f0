"""The proxy engine: :func:`score` validates a call, decides which proxies apply to the model
(:func:`applicable`), builds one :class:`PassContext` and runs the proxies on it, so that
proxies needing the same pass share one run of it."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import torch
from torch import nn

from zcnas.exceptions import ZcnasError, ZcnasWarning
from zcnas.proxies.base import PassContext, Proxy, get_proxy, list_proxies
from zcnas.proxies.model_io import ModelInputs, Probe, probe
from zcnas.proxies.passes import is_counted

__all__ = ["Applicability", "ModelInfo", "applicable", "score"]

ON_UNSUPPORTED = ("raise", "skip", "nan")


class Applicability(NamedTuple):
    """Whether a proxy applies to a model and batch, and if not, why (``reason``)."""

    ok: bool
    reason: str = ""


class ModelInfo(NamedTuple):
    """What a proxy's applicability check sees (see :attr:`Proxy.check`)."""

    model: nn.Module
    call: ModelInputs
    labels: torch.Tensor | None
    probe: Probe
    loss_fn: Any
    blocks: Any
    max_chunk: int | None


def _resolve_names(proxies: str | Iterable[str] | None) -> list[str]:
    if proxies is None:
        return list_proxies()
    names = [proxies] if isinstance(proxies, str) else list(proxies)
    if not names:
        raise ZcnasError("no proxy requested")
    for n in names:
        get_proxy(n)  # raises, listing the known ones
    return list(dict.fromkeys(names))


def _labels(
    labels: Any, call: ModelInputs, loss_fn: Any, num_classes: int | None
) -> torch.Tensor | None:
    if labels is None:
        return None
    import numpy as np

    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    if not isinstance(labels, torch.Tensor):
        raise ZcnasError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    b = call.batch_size
    if loss_fn is None:
        if labels.dim() != 1 or labels.is_floating_point() or labels.is_complex():
            raise ZcnasError(
                f"labels must be a 1-D integer tensor of class indices for the default "
                f"cross-entropy, got {labels.dtype} {tuple(labels.shape)} (pass loss_fn= "
                "for regression or dense targets)"
            )
        if labels.numel() and int(labels.min()) < 0:
            raise ZcnasError("labels must be non-negative class indices")
        if num_classes is not None and labels.numel() and int(labels.max()) >= num_classes:
            raise ZcnasError(f"labels go up to {int(labels.max())} >= num_classes={num_classes}")
    elif labels.dim() < 1:
        raise ZcnasError("labels must have the batch as their first dimension")
    if labels.shape[0] != b:
        raise ZcnasError(f"labels has {labels.shape[0]} entries but inputs has {b} samples")
    if labels.is_floating_point() and not bool(torch.isfinite(labels).all()):
        raise ZcnasError("labels contain NaN or infinite values")
    return labels


def _need_reason(need: str, proxy: Proxy, flavor: str, info: ModelInfo) -> str | None:
    model, pr = info.model, info.probe
    if need == "labels":
        return None if info.labels is not None else "needs labels (pass labels=...)"
    if need == "class_labels":
        if info.labels is None:
            return "needs labels (pass labels=...)"
        if info.labels.dim() != 1 or info.labels.is_floating_point():
            return "needs 1-D integer class labels (it groups samples by class)"
        if len(pr.output_shape) != 2:
            return f"needs (B, classes) outputs, the model gives {pr.output_shape}"
        return None
    if need == "relu":
        if flavor == "preact":
            return None if pr.preact_calls else "no element-wise activation runs in the forward"
        if pr.relu_family_inputs:
            return None
        extra = (
            f" ({pr.functional_only} other activation calls, e.g. GELU/SiLU or functional)"
            if pr.functional_only
            else ""
        )
        return (
            "needs a ReLU-family module (ReLU, ReLU6, LeakyReLU, ...) in the forward"
            f"{extra}; flavor='preact' uses the sign of every activation's pre-activation"
        )
    if need == "conv_or_linear":
        if any(is_counted(m) for m in model.modules()):
            return None
        return "needs an nn.Conv2d or nn.Linear layer in the model"
    if need == "batchnorm":
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            return None
        return "needs a BatchNorm layer in the model"
    if need == "global_pool":
        return None if pr.global_pool_ran else "needs an nn.AdaptiveAvgPool2d in the forward"
    if need == "float_input":
        x = info.call.primary
        if x.is_floating_point():
            return None
        return (
            f"needs a floating-point input (it differentiates or replaces it); the primary "
            f"input is {x.dtype}"
        )
    return None  # relu_conv_bn, blocks: checked by the proxy's own check


def _reason(proxy: Proxy, flavor: str, info: ModelInfo) -> str | None:
    for need in sorted(proxy.needs):
        r = _need_reason(need, proxy, flavor, info)
        if r is not None:
            return r
    b = info.call.batch_size
    if b < proxy.min_batch:
        return f"needs a batch of at least {proxy.min_batch} samples, got {b}"
    if proxy.train_mode and info.probe.bn_min_values is not None:
        chunk = b if not info.max_chunk else min(b, int(info.max_chunk))
        smallest = min(chunk, b % chunk or chunk)
        if smallest * info.probe.bn_min_values < 2:
            return (
                "runs BatchNorm in train mode, which needs more than one value per channel: "
                "use a batch (and max_chunk) of at least 2"
            )
    if proxy.check is not None:
        return proxy.check(info, flavor)
    return None


def resolve_flavors(
    proxies: str | Iterable[str] | None, flavor: str | Mapping[str, str] | None = None
) -> dict[str, str]:
    """The flavor each requested proxy runs with, checked before any model is touched.

    Args:
        proxies: one proxy name, an iterable of names (duplicates count once), or None for
            every registered proxy (:func:`score` then leaves out those that do not apply to
            the model).
        flavor: None (each proxy's default), one flavor name (proxies that have it use it,
            the others their default; at least one requested proxy must have it), or a
            ``{proxy: flavor}`` mapping (each key must be a requested proxy, each value one
            of its flavors or None for its default; proxies not in the mapping run their
            default).

    Returns:
        ``{proxy name: flavor}`` in request order: the flavor :func:`score` runs each with.

    Raises:
        ZcnasError: an unknown proxy, a flavor no requested proxy has, a mapping entry for a
            proxy not requested, or a flavor the named proxy lacks.
    """
    return _flavors(_resolve_names(proxies), flavor, proxies is not None)


def _flavors(
    names: list[str], flavor: str | Mapping[str, str] | None, explicit: bool
) -> dict[str, str]:
    chosen: dict[str, str] = {}
    if isinstance(flavor, Mapping):
        extra = set(flavor) - set(names)
        if extra:
            raise ZcnasError(f"flavor given for proxies not requested: {sorted(extra)}")
        for n in names:
            p = get_proxy(n)
            fl = flavor.get(n)
            if fl is not None and fl not in p.flavors:
                raise ZcnasError(f"proxy {n!r} has no flavor {fl!r}; it has {list(p.flavors)}")
            chosen[n] = p.resolve_flavor(fl)
        return chosen
    if flavor is not None and not any(flavor in get_proxy(n).flavors for n in names):
        have = sorted({f for n in names for f in get_proxy(n).flavors})
        raise ZcnasError(
            f"no {'requested' if explicit else 'registered'} proxy has flavor {flavor!r} "
            f"(flavors: {', '.join(have)})"
        )
    for n in names:
        chosen[n] = get_proxy(n).resolve_flavor(flavor)
    return chosen


def _prepare(
    model: Any,
    inputs: Any,
    labels: Any,
    *,
    output_fn: Any,
    loss_fn: Any,
    blocks: Any,
    max_chunk: int | None,
    num_classes: int | None,
) -> ModelInfo:
    if not isinstance(model, nn.Module):
        raise ZcnasError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if max_chunk is not None and int(max_chunk) < 1:
        raise ZcnasError(f"max_chunk must be >= 1, got {max_chunk}")
    if output_fn is not None and not callable(output_fn):
        raise ZcnasError("output_fn must be callable (model output -> tensor)")
    if loss_fn is not None and not callable(loss_fn):
        raise ZcnasError("loss_fn must be callable (output, labels) -> scalar tensor")
    call = ModelInputs.from_user(inputs).to_model(model)
    lab = _labels(labels, call, loss_fn, num_classes)
    if lab is not None:
        dev = call.primary.device
        lab = lab.to(dev)
        if loss_fn is None:
            lab = lab.long()
        elif lab.is_floating_point():
            lab = lab.to(call.primary.dtype if call.float_primary else lab.dtype)
    pr = probe(model, call, output_fn)
    return ModelInfo(model, call, lab, pr, loss_fn, blocks, max_chunk)


def _plan(
    model: Any,
    inputs: Any,
    labels: Any,
    proxies: str | Iterable[str] | None,
    flavor: str | Mapping[str, str] | None,
    **kwargs: Any,
) -> tuple[dict[str, str], ModelInfo, dict[str, str | None]]:
    """Names, flavors, the prepared call and each proxy's reason not to apply (None: it does)."""
    names = _resolve_names(proxies)
    chosen = _flavors(names, flavor, proxies is not None)
    info = _prepare(model, inputs, labels, **kwargs)
    return chosen, info, {n: _reason(get_proxy(n), chosen[n], info) for n in names}


def applicable(
    model: nn.Module,
    inputs: Any,
    labels: Any = None,
    proxies: str | Iterable[str] | None = None,
    *,
    flavor: str | Mapping[str, str] | None = None,
    output_fn: Callable[[Any], Any] | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    blocks: Any = None,
    max_chunk: int | None = None,
) -> dict[str, Applicability]:
    """Which proxies apply to ``model`` on this batch, and why the others do not.

    Runs one eval-mode forward of a private copy on at most two samples (the probe) and checks
    every proxy's needs (:data:`zcnas.proxies.base.NEEDS`), minimum batch and own check. No
    proxy pass runs, so a proxy reported applicable can still fail on a model that breaks its
    assumptions at run time; :func:`score` with ``proxies=None`` then skips it as well.

    Args:
        model, inputs, labels, flavor, output_fn, loss_fn, blocks, max_chunk: as in
            :func:`score`.
        proxies: names to check (default: every registered proxy).

    Returns:
        ``{name: Applicability(ok, reason)}`` in name order; ``reason`` is empty when ``ok``.

    Raises:
        ZcnasError: bad inputs/labels, or the model's forward fails on them.

    >>> import torch
    >>> from torch import nn
    >>> mlp = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 3))
    >>> a = applicable(mlp, torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]))
    >>> a["snip"].ok, a["nwot"].ok
    (True, False)
    >>> applicable(mlp, torch.randn(5, 4), flavor="preact", proxies="nwot")["nwot"].ok
    True
    """
    _, _, reasons = _plan(
        model,
        inputs,
        labels,
        proxies,
        flavor,
        output_fn=output_fn,
        loss_fn=loss_fn,
        blocks=blocks,
        max_chunk=max_chunk,
        num_classes=None,
    )
    return {n: Applicability(r is None, r or "") for n, r in reasons.items()}


def score(
    model: nn.Module,
    inputs: Any,
    labels: Any = None,
    proxies: str | Iterable[str] | None = None,
    *,
    flavor: str | Mapping[str, str] | None = None,
    seed: int = 0,
    max_chunk: int | None = None,
    num_classes: int | None = None,
    output_fn: Callable[[Any], Any] | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    blocks: Any = None,
    on_unsupported: str = "raise",
) -> dict[str, float]:
    """Zero-cost proxy scores of ``model`` on one minibatch.

    Args:
        model: any ``nn.Module``. It is never modified: every pass runs on a private copy
            (parameters, buffers incl. BN running stats, ``requires_grad`` flags, train/eval
            mode and hooks are untouched). Passes put their copy in train mode (BN on batch
            statistics), as the references. Hooks the caller registered are deep-copied with
            the model, so they also fire on the private copies during the passes.
        inputs: the minibatch, already normalised: a tensor ``(B, ...)`` (images
            ``(B, C, H, W)``, MLP features ``(B, D)``, token ids ``(B, T)``, ...), or a tuple
            (``model(*inputs)``) or dict (``model(**inputs)``) whose first tensor gives the
            batch (see :mod:`zcnas.proxies.model_io`). Moved to the model's device; floating
            tensors cast to the model's dtype. NaN/inf in it is an error.
        labels: targets, first dimension the batch: ``(B,)`` integer class indices for the
            default cross-entropy, anything ``loss_fn`` takes otherwise. Needed by the
            gradient proxies and epe_nas (which needs class indices).
        proxies: a name, a list of names, or None for every registered proxy that applies
            (the others are skipped with one :class:`~zcnas.exceptions.ZcnasWarning` that
            lists them and why).
        flavor: one flavor for all proxies (a proxy without it uses its default; a flavor no
            requested proxy has is an error) or a mapping ``{proxy: flavor}`` (an unknown
            flavor there is an error). Defaults: each proxy's first flavor (``naslib`` for
            the Suite-Zero proxies).
        seed: seed of every random draw (Gaussian inputs, re-inits); the global torch RNG
            state is restored afterwards, so nothing leaks to the caller.
        max_chunk: largest sub-batch run at once (see :mod:`zcnas.proxies.passes`).
        num_classes: the model's output count; if given, labels are checked against it.
        output_fn: model output -> the tensor to score (default: a tensor, ``.logits``,
            ``["logits"]``/``["out"]``, or a tuple's first element).
        loss_fn: ``loss_fn(output, labels) -> scalar`` with mean reduction, for the gradient
            proxies (default cross-entropy), e.g. ``nn.MSELoss()`` for regression, as
            NASLib's ``ZeroCost`` predictor allows.
        blocks: AZ-NAS's blocks: names or submodules of ``model`` whose outputs are the
            features (default: found, see :func:`zcnas.proxies.aznas.find_feature_modules`).
        on_unsupported: what an explicitly requested proxy that does not apply does:
            ``"raise"`` (default, a ZcnasError naming the reason), ``"skip"`` (left out of
            the result) or ``"nan"`` (NaN, with the warning).

    Returns:
        ``{name: score}`` in request order; higher = better. NaN/inf are returned as computed
        and flagged by a ``RuntimeWarning``; under the ``naslib`` flavor, whose
        post-processing returns -1e8 for them, the same warning names the proxies.

    Raises:
        ZcnasError: unknown proxy or flavor, bad inputs/labels, the model's forward failing,
            or an explicitly requested proxy that does not apply (``on_unsupported="raise"``)
            -- all checked before any pass runs.
    """
    if on_unsupported not in ON_UNSUPPORTED:
        raise ZcnasError(f"on_unsupported must be one of {ON_UNSUPPORTED}, got {on_unsupported!r}")
    explicit = proxies is not None
    chosen, info, reasons = _plan(
        model,
        inputs,
        labels,
        proxies,
        flavor,
        output_fn=output_fn,
        loss_fn=loss_fn,
        blocks=blocks,
        max_chunk=max_chunk,
        num_classes=num_classes,
    )
    names = list(reasons)
    skipped: dict[str, str] = {}
    run: list[str] = []
    for n, r in reasons.items():
        if r is None:
            run.append(n)
        elif explicit and on_unsupported == "raise":
            raise ZcnasError(
                f"proxy {n!r} does not apply: {r} (on_unsupported='skip' or 'nan' to go on)"
            )
        else:
            skipped[n] = r

    call = info.call
    ctx = PassContext(
        model=model,
        inputs=call.primary,
        labels=info.labels,
        num_classes=num_classes,
        seed=int(seed),
        max_chunk=None if max_chunk is None else int(max_chunk),
        flavor=None if isinstance(flavor, Mapping) else flavor,
        planned=frozenset().union(*(get_proxy(n).passes for n in run)),
        call=None if call.single else call,
        output_fn=output_fn,
        loss_fn=loss_fn,
        blocks=blocks,
    )
    x = call.primary
    devices = [x.device.index or 0] if x.device.type == "cuda" else []
    out: dict[str, float] = {}
    with torch.random.fork_rng(devices=devices), torch.enable_grad():
        # dropout and other global-RNG users inside the passes see a seeded, private stream
        torch.manual_seed(int(ctx.generator(salt=0x5EED).initial_seed()) % (2**63))
        for n in names:
            if n in skipped:
                if on_unsupported == "nan" and explicit:
                    out[n] = math.nan
                continue
            try:
                value = get_proxy(n).compute(ctx, chosen[n])
                try:
                    out[n] = float(value)
                except (TypeError, ValueError):
                    raise ZcnasError(
                        f"proxy {n!r}: compute returned {type(value).__name__} {value!r:.80}, "
                        "not one number (return a float, higher = better)"
                    ) from None
            except Exception as exc:  # reported in the warning, never swallowed silently
                if explicit and on_unsupported == "raise":
                    if isinstance(exc, ZcnasError):
                        raise
                    raise ZcnasError(
                        f"proxy {n!r} failed on this model ({type(exc).__name__}: {exc}); "
                        "on_unsupported='skip' or 'nan' (zcnas score: --proxy-errors nan) "
                        "scores the others"
                    ) from exc
                kind = "" if isinstance(exc, ZcnasError) else f"{type(exc).__name__}: "
                skipped[n] = f"failed: {kind}{exc}"
                if on_unsupported == "nan" and explicit:
                    out[n] = math.nan
    for note in ctx.notes.get("warnings", []):
        warnings.warn(note, ZcnasWarning, stacklevel=2)
    if skipped:
        lines = "; ".join(f"{n}: {r}" for n, r in skipped.items())
        warnings.warn(
            f"{len(skipped)} of {len(names)} proxies not scored on {type(model).__name__}: {lines}",
            ZcnasWarning,
            stacklevel=2,
        )
    bad = [n for n, v in out.items() if not math.isfinite(v) and n not in skipped]
    replaced = [n for n in ctx.notes.get("naslib_replaced", []) if n in out]
    if bad or replaced:
        msg = f"non-finite scores: {bad}" if bad else ""
        if replaced:
            syn = " (synflow then reads its signed log, -18.42)" if "synflow" in replaced else ""
            msg += ("; " if msg else "") + (
                f"non-finite scores replaced by -1e8 by NASLib's post-processing of the "
                f"'naslib' flavor (these proxies' default){syn}: {replaced}"
            )
        if "az_trainability" in bad and out["az_trainability"] == -math.inf:
            msg += (
                " (az_trainability is -inf when a block's input gradient equals its output "
                "gradient: an identity block, as in the AZ-NAS reference)"
            )
        if {"az_expressivity", "az_progressivity"} & set(bad):
            msg += (
                " (AZ-NAS expressivity/progressivity are -inf for a NaN entropy, the reference's "
                "policy: a feature covariance with (near-)zero eigenvalues, e.g. fewer positions "
                "B*H*W than channels, can get float32 eigenvalues below zero; use a larger batch "
                "or input, or score a float64 copy: score(model.double(), x.double(), ...))"
            )
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return out
