"""Exceptions raised by zcnas.

``ZcnasError`` subclasses :class:`ValueError` (every error so far reports bad input);
``NonFiniteError`` is raised when a NaN or infinite value meets ``nan_policy="raise"``.
"""

from zcnas._native import NonFiniteError, ZcnasError

__all__ = ["NonFiniteError", "ZcnasError"]


class ZcnasWarning(UserWarning):
    """A warning from zcnas about a result (proxies skipped, values replaced), not an error."""


__all__ += ["ZcnasWarning"]
