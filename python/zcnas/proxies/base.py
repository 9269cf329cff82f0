"""The contract between the proxy engine and the proxies.

A proxy is a :class:`Proxy`: a name, the flavors (reference implementations) it can follow, what
it needs (labels, ReLUs, ...) and a ``compute(ctx, flavor) -> float`` function. ``compute`` gets
its tensors from a :class:`PassContext`, whose :meth:`PassContext.cached` memoises every pass by a
key, so that proxies that need the same pass (for example the cross-entropy backward on real
data) share one run of it. Every registered score is **higher = better** (signs flipped where
the reference's raw value is lower = better, as grasp's reference does). A score that is NaN or
infinite is returned as such and flagged by the engine, never replaced by a magic number
(NASLib's -1e8 only under ``flavor="naslib"`` post-processing, where that is the reference).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import torch

from zcnas.exceptions import ZcnasError
from zcnas.proxies._copy import module_copy
from zcnas.proxies.model_io import ModelInputs, default_output

#: What a proxy may need from the caller or the model, checked before any work is done by
#: :func:`zcnas.proxies.applicable`:
#:
#: * ``labels``: targets for the loss (class indices for the default cross-entropy);
#: * ``class_labels``: 1-D integer class labels and ``(B, classes)`` outputs (epe_nas);
#: * ``relu``: a ReLU-family module that runs (flavor ``preact``: any element-wise activation);
#: * ``conv_or_linear``: an ``nn.Conv2d`` or ``nn.Linear`` (the layers the references score);
#: * ``batchnorm``: a BatchNorm layer;
#: * ``global_pool``: an ``nn.AdaptiveAvgPool2d`` that runs (zen reads its input);
#: * ``float_input``: one floating-point input tensor (the proxy differentiates or replaces it);
#: * ``relu_conv_bn``: ReLU-family -> Conv2d -> BatchNorm2d triplets on square maps (EZNAS);
#: * ``blocks``: a chain of blocks (AZ-NAS), found or given with ``blocks=``.
NEEDS = frozenset(
    {
        "labels",
        "class_labels",
        "relu",
        "conv_or_linear",
        "batchnorm",
        "global_pool",
        "float_input",
        "relu_conv_bn",
        "blocks",
    }
)

#: The passes over the real batch that can share one forward: the cross-entropy gradient
#: (``grad``), grasp's Hessian-gradient product (``hessian``), the input Jacobian
#: (``jacobian``) and the binary ReLU codes (``codes``). See :mod:`zcnas.proxies.passes`.
DATA_PASSES = frozenset({"grad", "hessian", "jacobian", "codes"})


@dataclass
class PassContext:
    """What one ``score`` call gives its proxies.

    Attributes:
        model: the caller's model. Proxies must not modify it: use :meth:`model_copy`.
        inputs: the primary input tensor ``(B, ...)`` (already normalised), on the model's
            device in its dtype (see ``call`` for models with several inputs).
        labels: ``(B,)`` class indices, or None.
        num_classes: output classes of the model (from a forward on one input if not given).
        seed: seed for every random draw of the call (Gaussian inputs, Rademacher vectors, ...).
        max_chunk: largest batch run at once; passes split larger batches and combine chunks
            so that results equal the full-batch ones.
        flavor: the flavor the caller asked for (each proxy resolves its own default).
        planned: the :data:`DATA_PASSES` that the requested proxies read, set by the engine
            before any pass runs, so that they can be computed from one forward.
        call: the model's full call (several inputs, keyword inputs); None means
            ``model(inputs)``. ``inputs`` is always its primary tensor.
        output_fn: maps the model's output to the scored tensor (default
            :func:`~zcnas.proxies.model_io.default_output`).
        loss_fn: ``loss_fn(output, labels) -> scalar`` with mean reduction (default
            cross-entropy on class indices).
        blocks: AZ-NAS's blocks (names or submodules), or None to find them.
        notes: what passes report back to the engine (e.g. values replaced by -1e8).
    """

    model: torch.nn.Module
    inputs: torch.Tensor
    labels: torch.Tensor | None = None
    num_classes: int | None = None
    seed: int = 0
    max_chunk: int | None = None
    flavor: str | None = None
    planned: frozenset[str] = frozenset()
    call: ModelInputs | None = None
    output_fn: Callable[[Any], Any] | None = None
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    blocks: Any = None
    notes: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _cache: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    def model_call(self) -> ModelInputs:
        """The model's call (``model(inputs)`` when none was given)."""
        return self.call if self.call is not None else ModelInputs((self.inputs,))

    def forward(
        self,
        model: torch.nn.Module,
        sl: slice | None = None,
        x: torch.Tensor | None = None,
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        """Run ``model`` on the batch (rows ``sl``), or with the primary input replaced by
        ``x``, and return the scored output tensor (``output_fn`` applied). ``dtype`` casts
        the other floating inputs (for a copy of the model cast to it)."""
        call = self.model_call()
        if x is not None:
            call = call.with_primary(x)
        elif sl is not None:
            call = call.batch_slice(sl)
        if dtype is not None:
            call = call.map(lambda t: t.to(dtype) if t.is_floating_point() else t)
        out = (self.output_fn or default_output)(call.call(model))
        if not isinstance(out, torch.Tensor):
            raise ZcnasError(f"output_fn must return a tensor, got {type(out).__name__}")
        return out

    def loss(self, out: torch.Tensor, sl: slice) -> torch.Tensor:
        """The mean loss of rows ``sl`` weighted by ``chunk / B`` (chunk losses add up to the
        full-batch mean): cross-entropy on class indices, or ``loss_fn``."""
        if self.labels is None:
            raise ZcnasError("this proxy needs labels (pass labels=...)")
        y = self.labels[sl]
        if self.loss_fn is None:
            if out.dim() < 2:
                raise ZcnasError(
                    f"cross-entropy needs outputs (B, classes, ...), got {tuple(out.shape)}; "
                    "pass loss_fn= for other outputs"
                )
            if y.numel() and int(y.max()) >= out.shape[1]:
                raise ZcnasError(
                    f"labels go up to {int(y.max())} but the model has {out.shape[1]} outputs"
                )
            try:
                loss = torch.nn.functional.cross_entropy(out, y)
            except (RuntimeError, ValueError) as exc:
                raise ZcnasError(
                    f"the default loss (cross-entropy on class indices) failed on outputs "
                    f"{tuple(out.shape)} and labels {tuple(y.shape)} ({exc}); for other "
                    "outputs pass loss_fn= and labels shaped for it (e.g. "
                    "zcnas.spaces.tnb101.loss_fn(task))"
                ) from exc
        else:
            try:
                loss = self.loss_fn(out, y)
            except (RuntimeError, ValueError) as exc:
                raise ZcnasError(
                    f"loss_fn failed on outputs {tuple(out.shape)} and labels "
                    f"{tuple(y.shape)}: {exc}"
                ) from exc
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise ZcnasError("loss_fn must return a scalar tensor (use mean reduction)")
            loss = loss.reshape(())
        return loss * (y.shape[0] / self.inputs.shape[0])

    def note(self, key: str, value: str) -> None:
        """Record something for the engine to report (e.g. ``naslib_replaced``)."""
        self.notes.setdefault(key, []).append(value)

    def cached(self, key: Hashable, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` once per ``key`` in this call and return its (shared) result."""
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def model_copy(self, dtype: torch.dtype | None = None) -> torch.nn.Module:
        """A private deep copy of the model (optionally cast), in the caller's train/eval mode."""
        m = module_copy(self.model)
        return m.to(dtype=dtype) if dtype is not None else m

    def generator(self, salt: int = 0) -> torch.Generator:
        """A CPU generator seeded from ``seed`` (and a per-use ``salt``)."""
        g = torch.Generator()
        g.manual_seed(int(self.seed) * 1_000_003 + salt)
        return g

    def chunks(self) -> list[slice]:
        """Slices of the batch no larger than ``max_chunk`` (one slice if unset)."""
        b = self.inputs.shape[0]
        step = b if not self.max_chunk else max(1, int(self.max_chunk))
        return [slice(i, min(b, i + step)) for i in range(0, b, step)]


@dataclass(frozen=True)
class Proxy:
    """A registered zero-cost proxy.

    Attributes:
        name: registry name (``synflow``, ``nwot``, ...).
        compute: ``compute(ctx, flavor) -> float``; higher = better.
        flavors: reference implementations it can follow; the first is the default.
        needs: subset of :data:`NEEDS`.
        passes: the :data:`DATA_PASSES` it reads (for planning; reading others still works).
        family: short tag for documentation (``gradient``, ``activation``, ``aznas`` ...).
        doc: one paragraph: formula, reference, sign convention, departures.
        min_batch: the smallest batch on which the proxy is not degenerate (a correlation
            or kernel over samples needs two).
        train_mode: runs the model in train mode on the batch (BatchNorm then needs more
            than one value per channel).
        check: ``check(info, flavor) -> reason or None``, the proxy's own applicability
            test beyond ``needs`` (``info`` is a :class:`zcnas.proxies.engine.ModelInfo`:
            the model, its call, labels and the probe's findings).
    """

    name: str
    compute: Callable[[PassContext, str], float]
    flavors: tuple[str, ...] = ("default",)
    needs: frozenset[str] = frozenset()
    passes: frozenset[str] = frozenset()
    family: str = ""
    doc: str = ""
    min_batch: int = 1
    train_mode: bool = True
    check: Callable[[Any, str], str | None] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.needs) - NEEDS
        if unknown:
            raise ZcnasError(f"proxy {self.name!r}: unknown needs {sorted(unknown)}")
        unknown = set(self.passes) - DATA_PASSES
        if unknown:
            raise ZcnasError(f"proxy {self.name!r}: unknown passes {sorted(unknown)}")
        if not self.flavors:
            raise ZcnasError(f"proxy {self.name!r}: needs at least one flavor")

    @property
    def default_flavor(self) -> str:
        return self.flavors[0]

    def resolve_flavor(self, flavor: str | None) -> str:
        """The flavor to use: the requested one if this proxy has it, else its default."""
        return flavor if flavor in self.flavors else self.default_flavor


_REGISTRY: dict[str, Proxy] = {}


def register(proxy: Proxy, overwrite: bool = False) -> Proxy:
    """Add a proxy to the registry (timm's convention: a name is registered once unless
    ``overwrite=True``).

    ``proxy.compute(ctx, flavor)`` receives the call's :class:`PassContext` and returns one
    float, higher = better; the engine then scores it like the built-in proxies (README:
    "Your own proxy").

    Raises:
        ZcnasError: the name is taken and ``overwrite`` is False.

    >>> import torch
    >>> from torch import nn
    >>> from zcnas.proxies import Proxy, register, score, unregister
    >>> def n_weights(ctx, flavor):
    ...     return float(sum(p.numel() for p in ctx.model.parameters() if p.dim() > 1))
    >>> _ = register(Proxy("n_weights", n_weights, doc="weight count; higher = better"))
    >>> score(nn.Sequential(nn.Linear(4, 3)), torch.randn(2, 4), proxies=["n_weights"])
    {'n_weights': 12.0}
    >>> _ = unregister("n_weights")
    """
    if proxy.name in _REGISTRY and not overwrite:
        raise ZcnasError(
            f"proxy {proxy.name!r} is already registered (pass overwrite=True to replace it)"
        )
    _REGISTRY[proxy.name] = proxy
    return proxy


def unregister(name: str) -> Proxy:
    """Remove a proxy from the registry and return it.

    Raises:
        ZcnasError: no proxy has that name.
    """
    get_proxy(name)
    return _REGISTRY.pop(name)


def is_proxy(name: str) -> bool:
    """Whether a proxy called ``name`` is registered."""
    return name in _REGISTRY


def get_proxy(name: str) -> Proxy:
    """The registered proxy called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ZcnasError(
            f"unknown proxy {name!r}{hint}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def list_proxies(pattern: str = "*") -> list[str]:
    """Registered proxy names matching a shell-style ``pattern``, sorted."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))
