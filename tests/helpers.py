"""Helpers shared by the tests (importable: `tests/` is on pytest's pythonpath)."""

from __future__ import annotations

import warnings


def quiet(fn, *args, **kwargs):
    """Call a scipy reference with its warnings (constant input, small samples) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)
