"""The README's Python example runs and its stated figure is true."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python example"
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    assert (
        round(scope["stats"].kendall_tau(scope["nb"]["params_M_cifar10"], scope["acc"]), 3) == 0.578
    )
    assert scope["taus"].shape == (13,)
