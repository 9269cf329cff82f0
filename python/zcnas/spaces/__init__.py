"""Search spaces: encodings, sampling and network builders.

``zcnas.spaces.nb201`` covers NAS-Bench-201 (importing it does not import torch; :func:`build`
and :func:`count_flops` do).
"""

from zcnas.spaces import nb201

__all__ = ["nb201"]
