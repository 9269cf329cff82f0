"""Synthetic tasks with known answers for the analysis tests."""

from __future__ import annotations

import numpy as np
import pytest

from zcnas.analysis import TaskData


def synthetic_task(n: int = 400, seed: int = 0, space: str = "custom", task: str = "t") -> TaskData:
    """Accuracy plus proxies of known quality: ``exact`` (= accuracy), ``noisy`` (accuracy +
    noise), ``anti`` (= -accuracy), ``random`` (independent)."""
    rng = np.random.default_rng(seed)
    acc = rng.normal(size=n)
    scores = np.column_stack([acc, acc + 0.7 * rng.normal(size=n), -acc, rng.normal(size=n)])
    return TaskData.from_arrays(
        scores, acc, proxies=["exact", "noisy", "anti", "random"], space=space, task=task
    )


@pytest.fixture
def task() -> TaskData:
    return synthetic_task()


@pytest.fixture
def synth():
    """The :func:`synthetic_task` factory."""
    return synthetic_task
