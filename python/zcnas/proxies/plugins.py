"""Proxies from user code: load a module or a ``.py`` file that registers proxies.

A plugin is ordinary Python that calls :func:`zcnas.proxies.register` at import time, e.g. a
file ``my_proxies.py``::

    from zcnas.proxies import Proxy, register

    def mean_abs_logit(ctx, flavor):
        import torch
        with torch.no_grad():
            return float(ctx.forward(ctx.model_copy()).abs().mean())

    register(Proxy("mean_abs_logit", mean_abs_logit, doc="mean |logit|; higher = better"))

``zcnas score --plugin my_proxies.py --proxies mean_abs_logit,synflow ...`` loads it before
the proxy names are checked, and every scoring worker (local processes, Ray workers on the
same machine or a shared file system) loads it again before scoring, so the proxy runs
wherever the built-in ones do. In Python: :func:`load_plugin`, or
``score_architectures(..., plugins=[...])``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from zcnas.exceptions import ZcnasError
from zcnas.proxies import base

__all__ = ["load_plugin", "load_plugins"]

# spec (resolved file path or module name) -> proxies it registered, per process
_LOADED: dict[str, list[str]] = {}


def load_plugin(spec: str) -> list[str]:
    """Import a plugin once per process and return the proxy names it registered.

    Args:
        spec: a path to a ``.py`` file (relative to the working directory, or absolute), or
            an importable dotted module name (``mypkg.proxies``; one in the working
            directory is found there too, as ``python -m`` would).

    Returns:
        The names of the proxies that importing it added to the registry (empty on a repeat
        call in the same process, or for a plugin that registers nothing new).

    Raises:
        ZcnasError: the file or module does not exist, importing it raised (the message
            names the plugin and the error; e.g. a proxy name that is already registered), or
            it replaced a registered proxy (``register(..., overwrite=True)``; the original
            is put back).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ZcnasError(f"a plugin is a .py file or a module name, got {spec!r}")
    spec = spec.strip()
    is_file = spec.endswith(".py") or "/" in spec or "\\" in spec
    key = str(Path(spec).resolve()) if is_file else spec
    if key in _LOADED:
        return []
    module_spec = None
    if is_file:  # checked before anything runs
        path = Path(key)
        if not path.is_file():
            raise ZcnasError(f"plugin {spec}: no such file")
        name = f"zcnas_plugin_{path.stem}_{hashlib.sha1(key.encode()).hexdigest()[:10]}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ZcnasError(f"plugin {spec}: not a Python file")
    before = dict(base._REGISTRY)
    try:
        if module_spec is not None:
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_spec.name] = module  # its functions stay picklable by name
            try:
                module_spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(module_spec.name, None)
                raise
        else:
            _import_module(spec)
    except ZcnasError as exc:  # from register(), e.g. a name already registered
        raise ZcnasError(f"plugin {spec}: {exc}") from exc
    except ModuleNotFoundError as exc:
        raise ZcnasError(
            f"plugin {spec}: no module {exc.name!r} (give a .py path, or a module on sys.path "
            "or in the working directory)"
        ) from exc
    except Exception as exc:
        raise ZcnasError(f"plugin {spec}: importing it raised {type(exc).__name__}: {exc}") from exc
    replaced = sorted(n for n, p in before.items() if base._REGISTRY.get(n) is not p)
    if replaced:  # put the originals back: stored scores of these names stay meaningful
        base._REGISTRY.update({n: before[n] for n in replaced})
        raise ZcnasError(
            f"plugin {spec}: replaces the registered proxies {replaced}; a plugin adds "
            "proxies: register yours under a new name (a store would otherwise hold two "
            "formulas under one proxy name)"
        )
    _LOADED[key] = sorted(set(base._REGISTRY) - set(before))
    return list(_LOADED[key])


def _import_module(name: str) -> None:
    """``import name``; a module or package of the working directory that is not on
    ``sys.path`` (the ``zcnas`` script's path starts at its own folder, unlike ``python -m``)
    is imported from there, the working directory then staying on ``sys.path`` (as
    ``python -m`` has it) for the module's own imports."""
    try:
        importlib.import_module(name)
        return
    except ModuleNotFoundError as exc:
        top = name.split(".")[0]
        here = Path.cwd()
        local = (here / f"{top}.py").is_file() or (here / top / "__init__.py").is_file()
        if exc.name != top or not local or str(here) in sys.path:
            raise
    sys.path.insert(0, str(here))
    importlib.import_module(name)


def load_plugins(specs: list[str] | tuple[str, ...]) -> list[str]:
    """:func:`load_plugin` for each spec in order; the proxy names they registered."""
    out: list[str] = []
    for s in specs:
        out.extend(load_plugin(s))
    return out
