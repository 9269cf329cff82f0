"""AZ-NAS evolution, aging evolution and random searches on NB201 with cheap proxies: the
stored NAS-Bench-Suite-Zero scores embedded in the package (nwot, synflow, jacov, flops) and
the benchmark's own FLOPs. References are recomputed independently (scipy ranks, numpy)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import rankdata

from zcnas import ZcnasError
from zcnas.bench import load_nb201
from zcnas.search.evolution import (
    aging_evolution,
    aznas_evolution,
    random_proxy_search,
    random_search,
)
from zcnas.search.problem import Constraint, Oracle, SearchSpace, TableProxies
from zcnas.search.trajectory import Trajectory, mean_curve, plot
from zcnas.spaces import macro, nb201

SEEDS = range(6)
ENSEMBLE = ["nwot", "synflow", "jacov", "flops"]


@pytest.fixture(scope="module")
def ens():
    return TableProxies(ENSEMBLE)


def _ref_aznas(scores: np.ndarray) -> np.ndarray:
    """AZ-NAS eq. 12 with scipy: sum over proxies of log(rank / m), ranks ascending, average
    ties, NaN lowest."""
    m = len(scores)
    s = np.where(np.isnan(scores), -np.inf, scores)
    return np.log(np.stack([rankdata(c) for c in s.T], axis=1) / m).sum(axis=1)


def _hamming(space: SearchSpace, a: int, b: int) -> int:
    return int((space.genes[a] != space.genes[b]).sum())


# ----------------------------------------------------------------------------- the space


def test_genes_mutation_encoding_agree_with_the_spaces(space):
    full = SearchSpace.nb201()
    rng = np.random.default_rng(0)
    for i in rng.integers(0, nb201.NUM_ARCHS, 50):
        ops = nb201.str_to_ops(nb201.index_to_str(int(i)))
        assert [nb201.OPS[g] for g in full.genes[i]] == list(ops)
        child = full.mutate(int(i), rng)
        assert _hamming(full, int(i), child) == 1
        assert nb201.to_index(nb201.ops_to_str([nb201.OPS[g] for g in full.genes[child]])) == child
        c2 = space.mutate(int(space.members[i % space.size]), rng)
        assert space.contains([c2])[0]
    assert space.size == 9445
    np.testing.assert_array_equal(space.members, np.flatnonzero(load_nb201()["no_dead_branch"]))
    enc = full.encode([0, 6111])
    assert enc.shape == (2, 30) and (enc.sum(axis=1) == 6).all()
    mac = SearchSpace.macro()
    assert list(mac.genes[4000]) == list(macro.index_to_tuple(4000))
    assert _hamming(mac, 4000, mac.mutate(4000, 1)) == 1


def test_constraint_restricts_to_budget():
    t = load_nb201()
    c = Constraint(max_flops_m=100, max_latency_ms=6.0, device="edgegpu")
    want = (t["flops_M_cifar10"] <= 100) & (t["cifar10_edgegpu_latency"] <= 6.0)
    np.testing.assert_array_equal(c.mask(), want)
    sp = c.restrict(SearchSpace.nb201())
    assert sp.size == want.sum() and want[sp.sample(200, 0)].all()
    with pytest.raises(ZcnasError, match="no architecture"):
        Constraint(max_params_m=0.0).restrict(SearchSpace.nb201())
    with pytest.raises(ZcnasError, match="unknown device"):
        Constraint(max_latency_ms=1.0, device="tpu").mask()


# ----------------------------------------------------------------------------- AZ-NAS


def test_aznas_evolution_follows_algorithm_1(space, oracle, ens):
    k = 8
    res = aznas_evolution(space, ens, iterations=120, top_k=k, oracle=oracle, rng=3)
    h, S = res.history, res.scores
    assert len(set(h.tolist())) == len(h) == 120
    np.testing.assert_array_equal(S, ens(h))
    # the returned architecture has the highest AZ-NAS score over the whole history
    assert res.best_arch == h[np.argmax(_ref_aznas(S))]
    for i in range(1, len(h)):
        prefix = _ref_aznas(S[:i])
        # the incumbent after step i-1 is the best of the pool so far ...
        assert res.trajectory.incumbent[i - 1] == h[np.argmax(prefix)]
        # ... and candidate i mutates one of the top-k of the pool re-ranked after step i-1
        top = h[np.argsort(-prefix, kind="stable")[:k]]
        assert min(_hamming(space, int(h[i]), int(t)) for t in top) == 1
    assert res.best_test == oracle.test([res.best_arch])[0]


def test_aznas_evolution_respects_the_flops_budget(space, ens):
    res = aznas_evolution(
        space, ens, iterations=60, top_k=8, constraint=Constraint(max_flops_m=80), rng=0
    )
    assert load_nb201()["flops_M_cifar10"][res.history].max() <= 80


def test_training_free_searches_beat_random_architectures(space, oracle, ens):
    typical = np.mean(oracle.test(space.sample(2000, 99)))
    az = [
        aznas_evolution(space, ens, iterations=100, top_k=10, oracle=oracle, rng=s) for s in SEEDS
    ]
    rp = [random_proxy_search(space, ens, n_samples=100, oracle=oracle, rng=s) for s in SEEDS]
    ag = [
        aging_evolution(
            space,
            oracle,
            budget=100,
            fitness="proxy",
            proxies=ens,
            population_size=10,
            sample_size=3,
            rng=s,
        )
        for s in SEEDS
    ]
    for runs in (az, rp, ag):
        assert np.mean([r.best_test for r in runs]) > typical + 2.0  # about 89.4 -> 93+


def test_random_proxy_search_picks_the_best_by_proxy(space, oracle):
    nw = TableProxies(["nwot"])
    res = random_proxy_search(space, nw, n_samples=200, oracle=oracle, rng=1)
    s = nw(res.history)[:, 0]
    assert res.best_arch == res.history[np.argmax(s)]
    running = [res.history[np.argmax(s[: i + 1])] for i in range(len(s))]
    np.testing.assert_array_equal(res.trajectory.incumbent, running)


# ----------------------------------------------------------------------------- aging


def test_aging_evolution_population_and_queries(space, ens):
    orc = Oracle("nb201", "cifar10", "valid")
    P = 10
    res = aging_evolution(space, orc, budget=80, population_size=P, sample_size=3, rng=5)
    h = res.history
    assert len(h) == 80 and orc.n_queries == 80
    for i in range(P, len(h)):  # each child mutates a member of the P most recent (aging)
        assert any(_hamming(space, int(h[i]), int(m)) == 1 for m in h[i - P : i])
    fit = orc._fit[h]
    np.testing.assert_array_equal(
        res.trajectory.incumbent, [h[np.argmax(fit[: i + 1])] for i in range(len(h))]
    )
    # zero-cost warm-up: the initial population is the proxy's best of 500 random cells
    nw = TableProxies(["nwot"])
    warm = aging_evolution(
        space, orc, budget=30, population_size=P, sample_size=3, proxies=nw, warmup=500, rng=5
    )
    q = np.quantile(nw(space.members)[:, 0], 0.85)
    assert (nw(warm.history[:P])[:, 0] >= q).all()


def test_query_searches_beat_random_search(space, oracle):
    nw = TableProxies(["nwot"])
    rnd = np.mean([random_search(space, oracle, budget=50, rng=s).best_test for s in SEEDS])
    kw = {"budget": 50, "population_size": 10, "sample_size": 3}
    plain = [aging_evolution(space, oracle, rng=s, **kw).best_test for s in SEEDS]
    warm = [
        aging_evolution(space, oracle, rng=s, proxies=nw, warmup=300, **kw).best_test for s in SEEDS
    ]
    assert np.mean(plain) > rnd and np.mean(warm) > rnd


def test_bad_arguments(space, oracle, ens):
    with pytest.raises(ZcnasError, match="iterations"):
        aznas_evolution(space, ens, iterations=0)
    with pytest.raises(ZcnasError, match="proxy source"):
        aznas_evolution(space, None, iterations=3)
    with pytest.raises(ZcnasError, match="sample_size"):
        aging_evolution(space, oracle, population_size=3, sample_size=5)
    with pytest.raises(ZcnasError, match="proxies are needed"):
        aging_evolution(space, oracle, fitness="proxy")
    with pytest.raises(ZcnasError, match="metric"):
        Oracle("nb201", "cifar100", "valid")
    with pytest.raises(ZcnasError, match="subset"):
        SearchSpace.nb201("tiny")


# ----------------------------------------------------------------------------- trajectories


def test_trajectory_round_trip_mean_and_plot(tmp_path, space, oracle):
    runs = [random_search(space, oracle, budget=20 + 5 * s, rng=s).trajectory for s in range(3)]
    t = runs[0]
    back = Trajectory.from_dict(json.loads(json.dumps(t.to_dict())))
    np.testing.assert_array_equal(back.incumbent_test, t.incumbent_test)
    assert back.method == "random" and len(back) == 20 and t.at(1000) == t.best_test
    _, mean, se = mean_curve(runs)
    m = np.stack([np.pad(r.incumbent_test, (0, 30 - len(r)), mode="edge") for r in runs])
    np.testing.assert_allclose(mean, m.mean(axis=0))
    np.testing.assert_allclose(se, m.std(axis=0, ddof=1) / np.sqrt(3))
    np.testing.assert_array_equal(t.incumbent_test, oracle.test(t.incumbent))
    out = plot({"random": runs}, tmp_path / "t.png", optimum=94.37)
    assert out.stat().st_size > 1000 and out.read_bytes()[:4] == b"\x89PNG"
    assert plot(runs, tmp_path / "w.png", x="time").exists()
    assert t.save(tmp_path / "t.csv").read_text().startswith("query,wall_s,arch")
