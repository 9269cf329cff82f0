"""Every Python block of README.md and docs/index.md runs as written, as a script in a folder
outside the repository (what a user who copies it does).

Blocks that would run for minutes get smaller sizes, only by changing the numbers of the
parameters they document (``REDUCE``: every replaced text must occur in its block, so a
README edit that drops one fails here instead of silently running the full size).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS_HOME = ROOT / "docs" / "index.md"

#: how a block starts -> (text, reduced text) pairs.
REDUCE: dict[str, list[tuple[str, str]]] = {
    "from zcnas.analysis import TaskData": [
        ("bootstrap=100)", "bootstrap=5)"),
        ("bootstrap=100,", "bootstrap=5,"),
        ("entropy_random=100", "entropy_random=3"),
        ("surrogate_trials=100", "surrogate_trials=2"),
        ("ablation_trials=10", "ablation_trials=1"),
        ("n_random=100, max_exhaustive=13", "n_random=3, max_exhaustive=2"),
    ],
    "from zcnas import proxies": [
        ('"cifar10", 80,', '"cifar10", 6,'),
        ('"cifar100", 80,', '"cifar100", 6,'),
        ("generations=15", "generations=2, population=10, mu=5, lam=10, s=2, nets_per_eval=6"),
    ],
    "from zcnas.datasets import cifar_batch": [
        ("proposals=10, validate_rounds=100", "proposals=1, validate_rounds=2"),
        ('build_supernet("nb201", C=16, N=5)', 'build_supernet("nb201", C=4, N=1)'),
    ],
    "from zcnas.search.evolution": [
        ("iterations=500, oracle", "iterations=50, oracle"),
        ("iterations=500, constraint", "iterations=50, constraint"),
        ("budget=200", "budget=30"),
        ("warmup=100", "warmup=10"),
        ("budget=100)", "budget=15)"),
    ],
    "from zcnas.bench import ScoreStore": [("N = 15_625", "N = 4")],
}


def python_blocks(text: str) -> list[str]:
    """The ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def _reduce(block: str) -> str:
    for key, pairs in REDUCE.items():
        if block.startswith(key):
            for old, new in pairs:
                assert old in block, f"README block {key!r} no longer contains {old!r}"
                block = block.replace(old, new)
    return block


BLOCKS = python_blocks(README.read_text()) + python_blocks(DOCS_HOME.read_text())


def test_readme_has_its_blocks():
    assert len(BLOCKS) >= 6
    for key in REDUCE:
        assert sum(b.startswith(key) for b in BLOCKS) == 1, key


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("i", range(len(BLOCKS)), ids=lambda i: f"block{i}")
def test_readme_block_runs_outside_the_repository(i):
    code = _reduce(BLOCKS[i])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ZCNAS_STORE")}
    env |= {"OMP_NUM_THREADS": "1", "ZCNAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    with tempfile.TemporaryDirectory(prefix="zcnas-readme-") as work:
        assert not Path(work).resolve().is_relative_to(ROOT)
        script = Path(work) / f"readme_block{i}.py"
        script.write_text("import torch\ntorch.set_num_threads(1)\n" + code)
        r = subprocess.run(
            [sys.executable, str(script)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=580,
        )
    assert r.returncode == 0, f"README block {i} failed:\n{code}\n{r.stdout}\n{r.stderr[-4000:]}"


def test_readme_first_example_states_true_figures():
    """The numbers the first example states in its comments."""
    scope: dict = {}
    exec(compile(BLOCKS[0], "README.md", "exec"), scope)
    tau = scope["stats"].kendall_tau(scope["nb"]["params_M_cifar10"], scope["acc"])
    assert round(tau, 3) == 0.578
    assert scope["taus"].shape == (13,)
