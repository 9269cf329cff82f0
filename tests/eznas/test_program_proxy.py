"""EZNAS programs registered as proxies of zcnas.proxies.score."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zcnas import ZcnasError
from zcnas.eznas import shards
from zcnas.eznas import stats as ez_stats
from zcnas.eznas.program import EZNAS_A, Program
from zcnas.eznas.shards import register_program, score_program
from zcnas.proxies import base, get_proxy, score
from zcnas.spaces import macro, nb201

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture
def registry():
    """Program proxies registered by a test are removed afterwards."""
    before = set(base._REGISTRY)
    yield
    for name in set(base._REGISTRY) - before:
        del base._REGISTRY[name]


@pytest.mark.parametrize("arch", [6111, 2000, 12000])
def test_released_program_proxy_equals_torch_eznas_proxy(arch):
    """eznas_a (the Rust interpreter on collected T1GD) against the PyTorch eznas proxy."""
    net = nb201.build(arch, C=8, N=2)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(arch))
    got = score(net, x, proxies=["eznas_a", "eznas"], seed=arch)
    assert got["eznas_a"] == pytest.approx(got["eznas"], rel=1e-12)
    assert get_proxy("eznas_a").family == "eznas-program"


def test_custom_program_collects_only_its_terminals(registry, monkeypatch):
    prog = Program("Add(L1Norm(T3GN), NormalizedSum(Mul(T4D, T4GP)))")
    assert prog.terminals == {"T3GN", "T4D", "T4GP"}
    register_program(prog, "test_prog")
    seen = []
    real = ez_stats.collect_network

    def spy(*a, **k):
        seen.append(tuple(k["terminals"]))
        return real(*a, **k)

    monkeypatch.setattr(ez_stats, "collect_network", spy)
    net = nb201.build(1234, C=4, N=1)
    x = torch.randn(1, 3, 16, 16)
    val = score(net, x, proxies=["test_prog"], seed=2)["test_prog"]
    assert seen == [("T3GN", "T4D", "T4GP")]
    # independent value: the formula by hand in numpy on the full statistics
    st = real(net, x, seed=2)
    ref = np.mean([np.abs(d["T3GN"].astype(np.float64)).mean()
                   + (d["T4D"].astype(np.float64) * d["T4GP"]).mean() for d in st])  # fmt: skip
    assert val == pytest.approx(ref, rel=1e-9)
    assert score_program(prog, net, x, seed=2) == val


def test_sign_and_conv_bn_relu_pattern_on_macro(registry):
    prog = Program("FrobeniusNorm(T2GD)", sign=-1)
    register_program(prog, "test_cbr", pattern="conv-bn-relu")
    net = macro.build("10000000")
    x = torch.randn(1, 3, 32, 32)
    val = score(net, x, proxies=["test_cbr"], seed=0)["test_cbr"]
    st = ez_stats.collect_network(net, x, pattern="conv-bn-relu", terminals=["T2GD"], seed=0)
    assert len(st) == 4
    ref = -np.mean([np.linalg.norm(d["T2GD"].astype(np.float64)) for d in st])
    assert val == pytest.approx(ref, rel=1e-9) and val < 0


def test_cross_entropy_program_needs_labels(registry):
    register_program(Program("NormalizedSum(T1GD)"), "test_ce", gradient="cross-entropy")
    net = nb201.build(1, C=4, N=1)
    x, y = torch.randn(2, 3, 16, 16), torch.tensor([1, 3])
    with pytest.raises(ZcnasError, match="labels"):
        score(net, x, proxies=["test_ce"])
    val = score(net, x, y, proxies=["test_ce"], seed=1)["test_ce"]
    st = ez_stats.collect_network(net, x, gradient="cross-entropy", labels=y, seed=1,
                                  terminals=["T1GD"])  # fmt: skip
    assert val == pytest.approx(np.mean([d["T1GD"].astype(np.float64).mean() for d in st]))


def test_registration_rules(registry):
    p = Program("Numel(T3)")
    register_program(p, "test_rules")
    with pytest.raises(ZcnasError, match="already registered"):
        register_program(p, "test_rules")
    register_program(Program("Numel(T1D)"), "test_rules", replace=True)
    with pytest.raises(ZcnasError, match="not a program proxy"):
        register_program(p, "synflow", replace=True)
    with pytest.raises(ZcnasError, match="pattern"):
        register_program(p, "test_bad", pattern="bn-relu")
    assert shards.EZNAS_A_PROXY == "eznas_a" and str(EZNAS_A) in get_proxy("eznas_a").doc
