"""The Rust interpreter against the numpy interpreter on random trees, shard reading, common
sub-expression reuse, and the Program API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eznas.tiny_task import instances_for, write_task
from zcnas import _native
from zcnas.exceptions import ZcnasError
from zcnas.eznas import TERMINALS
from zcnas.eznas import reference as ref
from zcnas.eznas.evolution import evaluate_stats
from zcnas.eznas.program import EZNAS_A, OPERATIONS, Program, evaluate_many


def close(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9, equal_nan=True)


def test_terminals_agree_with_the_core() -> None:
    assert tuple(_native.EZNAS_TERMINALS) == TERMINALS
    assert len(OPERATIONS) == 34


def test_random_trees_match_the_numpy_interpreter() -> None:
    rng = np.random.default_rng(1)
    insts = instances_for(rng, 4, scale=0.9)
    exprs = _native.eznas_random_trees(300, 7, 1, 5)
    rust = np.array([Program(e).evaluate(insts) for e in exprs])
    numpy = np.array([ref.score(e, insts) for e in exprs])
    # The same set of programs is valid, and valid ones agree.
    mismatch = [e for e, r, p in zip(exprs, rust, numpy, strict=True) if np.isnan(r) != np.isnan(p)]
    assert not mismatch, mismatch[:3]
    close(rust, numpy)
    assert np.isfinite(rust).sum() > 60  # the comparison is not vacuous
    # L2 to_scalar too.
    rust2 = np.array([Program(e, to_scalar="l2").evaluate(insts) for e in exprs[:100]])
    close(rust2, [ref.score(e, insts, "l2") for e in exprs[:100]])


def test_batch_with_shared_subtrees_equals_one_by_one() -> None:
    rng = np.random.default_rng(2)
    insts = instances_for(rng, 3, scale=1.0)
    base = _native.eznas_random_trees(20, 3, 2, 4)
    progs = [Program(e) for e in base]
    # Relatives share subtrees, which the interpreter caches per instance.
    for k in range(20):
        a, b = _native.eznas_crossover(base[k], base[(k + 1) % 20], k)
        progs += [Program(a), Program(b), Program(_native.eznas_mutate(a, k))]
    together = evaluate_many(progs, insts)
    alone = np.array([p.evaluate(insts) for p in progs])
    np.testing.assert_array_equal(together, alone)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_shards_match_the_reference(tmp_path: Path, dtype: str) -> None:
    insts = write_task(tmp_path / "task", n_nets=5, seed=3, dtype=dtype)
    exprs = [
        EZNAS_A.expr,
        "Add(T1D, Square(T2GN))",
        "L1Norm(MatMul(T3, T3GP))",
        "Hamming(T1D, T4P)",
    ]
    exprs += _native.eznas_random_trees(40, 11, 1, 4)
    progs = [Program(e) for e in exprs] + [Program("Mul(T1GD, T3GD)", sign=-1)]
    scores = evaluate_stats(progs, tmp_path / "task")
    assert scores.shape == (len(progs), 5)
    expected = np.array([[p.sign * ref.score(p.expr, net) for net in insts] for p in progs])
    close(scores, expected)
    assert np.isfinite(scores[:4]).all()
    sub = evaluate_stats(progs[:3], tmp_path / "task", networks=[4, 1])
    close(sub, scores[:3][:, [4, 1]])


def test_bad_shards_give_clear_errors(tmp_path: Path) -> None:
    write_task(tmp_path / "t", n_nets=2, seed=4)
    with pytest.raises(ZcnasError, match="manifest"):
        evaluate_stats(["T1D"], tmp_path / "missing")
    m = json.loads((tmp_path / "t" / "manifest.json").read_text())
    bad = dict(m, terminals=m["terminals"][::-1])
    (tmp_path / "t" / "manifest.json").write_text(json.dumps(bad))
    with pytest.raises(ZcnasError, match="terminals"):
        evaluate_stats(["T1D"], tmp_path / "t")
    (tmp_path / "t" / "manifest.json").write_text(json.dumps(m))
    shard = tmp_path / "t" / m["networks"][0]["file"]
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(ZcnasError, match=r"safetensors header|offsets"):
        evaluate_stats(["T1D"], tmp_path / "t")
    with pytest.raises(ZcnasError, match="unknown operation"):
        evaluate_stats(["Foo(T1D)"], tmp_path / "t")


def test_program_api(tmp_path: Path) -> None:
    p = Program(" Sub( T1D ,Sign(T3))", to_scalar="l2", sign=-1, name="x", fitness=0.5)
    assert p.expr == "Sub(T1D, Sign(T3))"
    assert str(p) == "-l2((T1D - Sign(T3)))"
    assert p.terminals == {"T1D", "T3"} and p.height == 2 and p.size == 4
    assert Program.from_json(p.to_json()) == p
    p.save(tmp_path / "p.json")
    q = Program.load(tmp_path / "p.json")
    assert q == p and q.fitness == 0.5
    assert Program.from_json(json.loads(p.to_json())) == p
    for bad in ("Add(T1D)", "T99", ""):
        with pytest.raises(ZcnasError):
            Program(bad)
    with pytest.raises(ZcnasError, match="deeper"):
        Program("Sign(" * 300 + "T1D" + ")" * 300)
    with pytest.raises(ZcnasError, match="max_depth"):
        _native.eznas_random_trees(1, 0, 0, 40)
    with pytest.raises(ZcnasError, match="to_scalar"):
        Program("T1D", to_scalar="max")
    with pytest.raises(ZcnasError, match="sign"):
        Program("T1D", sign=2)
    with pytest.raises(ZcnasError, match="no terminal"):
        p.evaluate([{"T1D": np.ones((1, 2))}])
    assert str(EZNAS_A) == "mean(FrobeniusNorm(Sigmoid(LogDet(Sign(T1GD)))))"
    assert EZNAS_A.terminals == {"T1GD"}


def test_eznas_a_by_hand() -> None:
    rng = np.random.default_rng(5)
    g = rng.normal(size=(1, 3, 4, 4))
    g[0, 1] = np.sign(g[0, 1])
    g[0, 1, 0] = g[0, 1, 1]  # a singular sign matrix: sigmoid(-inf) = 0
    per_mat = []
    for m in np.sign(g[0]):
        s, ld = np.linalg.slogdet(m)
        singular = abs(np.linalg.det(m)) < 1e-9
        v = 0.0 if singular else (1 / (1 + np.exp(-ld)) if s > 0 else 0.5)
        per_mat.append(v)
    expected = np.sqrt(np.sum(np.square(per_mat)))
    assert EZNAS_A.evaluate([{"T1GD": g}]) == pytest.approx(expected, rel=1e-12)
    assert np.isnan(Program("Invert(ZerosLike(T1D))").evaluate([{"T1D": g}]))
    assert np.isnan(Program("Add(T1D, T3)").evaluate([{"T1D": g, "T3": np.ones((2, 2, 3, 3))}]))
