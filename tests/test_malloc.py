"""``keep_heap`` serves large buffers from the heap, where freed memory is reused, instead of
fresh ``mmap`` regions that are returned to the kernel (and page-faulted back) every time."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import sys
import numpy as np
if sys.argv[1] == "1":
    from zcnas._malloc import keep_heap
    assert keep_heap()
a = np.empty(64 << 20, dtype=np.uint8)  # 64 MiB: above glibc's largest dynamic mmap threshold
addr = a.ctypes.data
for line in open("/proc/self/maps"):
    parts = line.split()
    lo, hi = (int(v, 16) for v in parts[0].split("-"))
    if lo <= addr < hi:
        print(parts[5] if len(parts) > 5 else "anonymous")
        break
"""


def _region(flag: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, flag], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_keep_heap_serves_large_buffers_from_the_heap():
    assert _region("0") == "anonymous"  # glibc's default: its own mmap region
    assert _region("1") == "[heap]"
