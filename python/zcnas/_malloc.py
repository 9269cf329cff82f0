"""Keep freed tensor buffers in the process heap (glibc ``mallopt``) in zcnas's own processes.

By default glibc serves every allocation above a dynamic threshold (at most 32 MiB) with a fresh
``mmap`` and returns it to the kernel on ``free``; PyTorch's CPU allocator frees activations
after every pass, so each proxy pass page-faults its activations back in and the kernel zeroes
every page again. On the 13-proxy NB201 call that is about 35,000 minor page faults and 150 ms
of system time per network (issue 16's profile; 2026-12-04: 345,000 faults and 1.5 s of system
time over 10 calls, against 67,000 and 0.16 s with the settings below), and with several worker
processes on one machine the page zeroing competes for the same memory bandwidth.

:func:`keep_heap` raises the mmap threshold and the trim threshold to 1 GiB (and pads heap growth
by 256 MiB), so freed buffers are reused in place. Results are unchanged (allocation never
changes arithmetic); the cost is that a process keeps its peak heap resident. zcnas applies it
only in processes it owns: the scoring workers of :mod:`zcnas.distributed` and the ``zcnas``
command line, never on import of the library.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_heap"]

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_GIB = 1 << 30


def keep_heap() -> bool:
    """Apply the settings above; True if they took effect (glibc on Linux), else False."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): leave the allocator alone
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, _GIB) == 1
    ok &= mallopt(_M_TRIM_THRESHOLD, _GIB) == 1
    ok &= mallopt(_M_TOP_PAD, _GIB // 4) == 1
    return bool(ok)
