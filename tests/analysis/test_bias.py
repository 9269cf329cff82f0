"""Bias metrics on known architectures, and de-biasing with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from zcnas.analysis import TaskData
from zcnas.analysis import bias as B
from zcnas.bench import load_nb201
from zcnas.exceptions import ZcnasError
from zcnas.spaces import nb201


def _nb201_task(archs: list[int]) -> TaskData:
    n = len(archs)
    rng = np.random.default_rng(0)
    return TaskData.from_arrays(
        rng.normal(size=(n, 2)),
        rng.normal(size=n),
        proxies=["a", "b"],
        space="nasbench201",
        task="cifar100",
        archs=[str(a) for a in archs],
    )


def test_nb201_metrics_of_known_cells():
    resnet = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    pool = "|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|none~1|none~2|"
    idx = [nb201.to_index(resnet), nb201.to_index(pool), 0]
    m = B.bias_metrics(_nb201_task(idx))
    assert m.iloc[0][["conv_pool", "cell_size", "num_skip"]].tolist() == [2, 4, 2]
    assert m.iloc[1][["conv_pool", "cell_size", "num_skip"]].tolist() == [-1, 3, 0]
    # index 0: avg_pool, conv1x1, skip, conv1x1, skip, skip
    assert m.iloc[2][["conv_pool", "cell_size", "num_skip"]].tolist() == [1, 6, 3]
    params = load_nb201()["params_M_cifar100"]
    assert m.num_params.tolist() == pytest.approx([params[i] for i in idx])


def test_nb101_counts_only_live_vertices():
    adj = np.zeros((7, 7), int)
    adj[0, 1] = adj[1, 6] = adj[0, 2] = adj[2, 6] = 1
    adj[0, 3] = 1  # vertex 3 is a dead end (no path to the output)
    ops = [0, 2, 4, 3, 3, 3, 1]  # input, maxpool, conv3x3, conv1x1 (dead), ..., output
    key = str(tuple(int(v) for v in [*adj.ravel(), *ops]))
    t = TaskData.from_arrays(
        [[1.0], [2.0], [3.0]], [1, 2, 3], space="nasbench101", archs=[key] * 3, clean=False
    )
    m = B.bias_metrics(t)
    assert m.iloc[0].tolist() == [0.0, 2.0]  # one conv minus one pool; two live vertices


def test_nb301_metrics():
    enc = (
        "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], "
        "[(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]"
    )
    t = TaskData.from_arrays(
        [[1.0], [2.0], [3.0]], [1, 2, 3], space="nasbench301", archs=[enc] * 3, clean=False
    )
    m = B.bias_metrics(t).iloc[0]
    # ops: normal 0,5,1,1,3,3,3,2 ; reduce 0,2,3,3,0,1,0,6 (0,1 pools; 2 skip; 3..6 convs)
    assert m.conv_pool == (4 + 3) - (3 + 4)
    assert m.num_skip == 2


def test_bias_table_is_pearson():
    rng = np.random.default_rng(1)
    archs = rng.choice(15625, 300, replace=False)
    t = _nb201_task(list(archs))
    tab = B.bias_table(t)
    m = B.bias_metrics(t)
    assert tab.loc["a", "cell_size"] == pytest.approx(np.corrcoef(t.column("a"), m.cell_size)[0, 1])
    assert tab.loc["gt", "num_skip"] == pytest.approx(np.corrcoef(t.truth, m.num_skip)[0, 1])


def test_debiasing_a_proxy_equal_to_bias_plus_noise_removes_the_bias():
    rng = np.random.default_rng(2)
    b = rng.integers(1, 7, 2000).astype(float)
    f = b + 0.3 * rng.normal(size=2000)
    y = rng.normal(size=2000)
    r = B.debias(f, b, y, "minimize")
    assert r["original_bias"] > 0.9
    assert abs(r["new_bias"]) < 0.05
    new = f / (b + r["C"])
    assert np.corrcoef(new, b)[0, 1] == pytest.approx(r["new_bias"])


def test_equalize_and_performance_strategies():
    rng = np.random.default_rng(3)
    b = rng.integers(1, 7, 2000).astype(float)
    y = 0.3 * b + rng.normal(size=2000)
    f = 2.0 * b + y
    eq = B.debias(f, b, y, "equalize")
    assert eq["new_bias"] == pytest.approx(eq["target_bias"], abs=0.02)
    perf = B.debias(f, b, y, "performance")
    assert perf["new_perf"] >= perf["original_perf"] - 1e-3
    assert perf["new_perf"] >= eq["new_perf"] - 1e-12
    with pytest.raises(ZcnasError, match="strategy"):
        B.debias(f, b, y, "maximize")
    with pytest.raises(ZcnasError, match="admissible"):
        B.debias(f, b - 5.0, y, grid=[0.0])
