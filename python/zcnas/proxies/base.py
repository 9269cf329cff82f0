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

import copy
import fnmatch
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import torch

from zcnas.exceptions import ZcnasError

#: What a proxy may need from the caller or the model, checked before any work is done.
#: ``global_pool``: an ``nn.AdaptiveAvgPool2d`` (zen reads its input as the pre-GAP feature).
NEEDS = frozenset({"labels", "relu", "conv_or_linear", "batchnorm", "global_pool"})

#: The passes over the real batch that can share one forward: the cross-entropy gradient
#: (``grad``), grasp's Hessian-gradient product (``hessian``), the input Jacobian
#: (``jacobian``) and the binary ReLU codes (``codes``). See :mod:`zcnas.proxies.passes`.
DATA_PASSES = frozenset({"grad", "hessian", "jacobian", "codes"})


@dataclass
class PassContext:
    """What one ``score`` call gives its proxies.

    Attributes:
        model: the caller's model. Proxies must not modify it: use :meth:`model_copy`.
        inputs: the minibatch ``(B, C, H, W)`` (already normalised), on the model's device.
        labels: ``(B,)`` class indices, or None.
        num_classes: output classes of the model (from a forward on one input if not given).
        seed: seed for every random draw of the call (Gaussian inputs, Rademacher vectors, ...).
        max_chunk: largest batch run at once; passes split larger batches and combine chunks
            so that results equal the full-batch ones.
        flavor: the flavor the caller asked for (each proxy resolves its own default).
        planned: the :data:`DATA_PASSES` that the requested proxies read, set by the engine
            before any pass runs, so that they can be computed from one forward.
    """

    model: torch.nn.Module
    inputs: torch.Tensor
    labels: torch.Tensor | None = None
    num_classes: int | None = None
    seed: int = 0
    max_chunk: int | None = None
    flavor: str | None = None
    planned: frozenset[str] = frozenset()
    _cache: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    def cached(self, key: Hashable, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` once per ``key`` in this call and return its (shared) result."""
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def model_copy(self, dtype: torch.dtype | None = None) -> torch.nn.Module:
        """A private deep copy of the model (optionally cast), in the caller's train/eval mode."""
        m = copy.deepcopy(self.model)
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
    """

    name: str
    compute: Callable[[PassContext, str], float]
    flavors: tuple[str, ...] = ("default",)
    needs: frozenset[str] = frozenset()
    passes: frozenset[str] = frozenset()
    family: str = ""
    doc: str = ""

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


def register(proxy: Proxy) -> Proxy:
    """Add a proxy to the registry (a name can be registered once)."""
    if proxy.name in _REGISTRY:
        raise ZcnasError(f"proxy {proxy.name!r} is already registered")
    _REGISTRY[proxy.name] = proxy
    return proxy


def get_proxy(name: str) -> Proxy:
    """The registered proxy called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ZcnasError(f"unknown proxy {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def list_proxies(pattern: str = "*") -> list[str]:
    """Registered proxy names matching a shell-style ``pattern``, sorted."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))
