"""Fixtures shared by the NB201 search tests: the 9,445 Suite-Zero cells and a validation oracle."""

from __future__ import annotations

import pytest

from zcnas.search.problem import Oracle, SearchSpace


@pytest.fixture(scope="module")
def space():
    return SearchSpace.nb201("suite_zero")


@pytest.fixture(scope="module")
def oracle():
    return Oracle("nb201", "cifar10", "valid")
