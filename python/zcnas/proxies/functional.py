"""Every registered proxy as a function, torchmetrics-style.

``zcnas.proxies.functional.<name>(model, inputs, labels=None, *, flavor=None, **kwargs)``
returns one float: ``score(model, inputs, labels, [name], flavor=flavor, **kwargs)[name]``,
through the same engine (same passes, same checks: a proxy that does not apply raises a
:class:`~zcnas.exceptions.ZcnasError` with the reason). ``kwargs`` are :func:`score`'s
(``seed``, ``max_chunk``, ``output_fn``, ``loss_fn``, ``blocks``, ...). Names not clashing with
a submodule are also attributes of :mod:`zcnas.proxies` itself
(``zcnas.proxies.synflow(model, x)``); ``zico`` and ``eznas`` are submodules there, so use
``zcnas.proxies.functional.zico``. Proxies registered later (EZNAS programs, your own) are
available too.

>>> import torch
>>> from torch import nn
>>> from zcnas.proxies import functional as zf
>>> mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> round(zf.params(mlp, torch.randn(2, 4)), 6)
6.7e-05
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from zcnas.proxies.base import get_proxy, is_proxy, list_proxies
from zcnas.proxies.engine import score


@cache
def proxy_function(name: str) -> Callable[..., float]:
    """The function computing proxy ``name`` alone (see the module docstring).

    Raises:
        ZcnasError: no proxy is registered under ``name``.
    """
    proxy = get_proxy(name)

    def fn(model: Any, inputs: Any, labels: Any = None, *, flavor: Any = None, **kwargs) -> float:
        fl = None if flavor is None else {name: flavor}
        return score(model, inputs, labels, [name], flavor=fl, **kwargs)[name]

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (
        f"{proxy.doc}\n\nFlavors: {', '.join(proxy.flavors)} (default {proxy.default_flavor}). "
        "Arguments as zcnas.proxies.score; returns one float, higher = better."
    )
    return fn


def __getattr__(name: str) -> Callable[..., float]:
    if not name.startswith("_") and is_proxy(name):
        return proxy_function(name)
    raise AttributeError(f"module 'zcnas.proxies.functional' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *list_proxies()])
