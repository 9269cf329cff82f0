"""``module_copy``: the private model copies of the proxy passes, equal to ``copy.deepcopy``
but without its generic object walk.

``copy.deepcopy`` of an ``nn.Module`` reconstructs every submodule through ``__reduce_ex__``
and deep-copies each of its dozen hook dictionaries one by one; on an NB201 network (about
1,200 modules) that is tens of milliseconds per copy, and a 13-proxy call makes several
(issue 16's profile). :func:`module_copy` builds the same object graph directly: a new
instance per module (``cls.__new__`` + ``nn.Module.__setstate__``, as deepcopy does), parameters
and buffers deep-copied (so tied weights stay tied through the shared memo), empty hook
dictionaries created empty, immutable attributes shared, and everything else handed to
``copy.deepcopy`` with the same memo. A module class with its own copy or pickling protocol
(``__deepcopy__``, ``__reduce_ex__``, ``__getstate__``/``__setstate__`` other than
``nn.Module``'s, e.g. parametrized modules) is deep-copied by ``copy.deepcopy`` itself.
"""

from __future__ import annotations

import copy
import types
from collections import OrderedDict
from functools import cache
from typing import Any, TypeVar

import torch
from torch import nn

__all__ = ["module_copy"]

M = TypeVar("M", bound=nn.Module)

_ATOMIC = (
    int,
    float,
    bool,
    complex,
    str,
    bytes,
    type(None),
    range,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    torch.dtype,
    torch.device,
    torch.Size,
    torch.memory_format,
    torch.layout,
)
_PROTOCOL = ("__getstate__", "__setstate__", "__reduce_ex__", "__reduce__")


@cache
def _plain(cls: type) -> bool:
    """Whether deep-copying ``cls`` goes through nn.Module's own state protocol."""
    if getattr(cls, "__deepcopy__", None) is not None:
        return False
    return all(getattr(cls, k) is getattr(nn.Module, k) for k in _PROTOCOL)


def _atomic(v: Any) -> bool:
    t = type(v)
    if t in _ATOMIC:
        return True
    return t is tuple and all(type(e) in _ATOMIC for e in v)


def module_copy(model: M) -> M:
    """A deep copy of ``model``, equal to ``copy.deepcopy(model)`` (same classes, attributes,
    parameters with their ``requires_grad``, buffers, hooks, train/eval mode, weight tying),
    made faster by skipping the generic walk for plain ``nn.Module`` state (see the module
    docstring). The copy shares no tensor with ``model``."""
    return _copy(model, {})


def _copy(m: Any, memo: dict[int, Any]) -> Any:
    found = memo.get(id(m))
    if found is not None:
        return found
    cls = type(m)
    if not isinstance(m, nn.Module) or not _plain(cls):
        return copy.deepcopy(m, memo)
    new = cls.__new__(cls)
    memo[id(m)] = new
    state: dict[str, Any] = {}
    for k, v in m.__dict__.items():
        if k == "_compiled_call_impl":  # dropped by nn.Module.__getstate__
            continue
        if k == "_modules":
            state[k] = type(v)((n, None if c is None else _copy(c, memo)) for n, c in v.items())
        elif k in ("_parameters", "_buffers"):
            state[k] = type(v)(
                (n, None if t is None else copy.deepcopy(t, memo)) for n, t in v.items()
            )
        elif _atomic(v):
            state[k] = v
        elif type(v) in (dict, OrderedDict, set, list) and not v:  # not v: arrays are ambiguous
            state[k] = type(v)()
        else:
            state[k] = copy.deepcopy(v, memo)
    new.__setstate__(state)
    return new
