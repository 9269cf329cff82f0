"""Score-level GP (zcnas.eznas.scores): interpreter against an independent numpy evaluation,
determinism, the held-out split, JSON, and the registered proxy against stored scores."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau, rankdata

from zcnas import _native
from zcnas.analysis.data import TaskData
from zcnas.exceptions import ZcnasError, ZcnasWarning
from zcnas.eznas.scores import ScoreProgram, evolve_scores, register_score_program

NAMES = ["alpha", "beta_1", "g-m"]


# --- an independent numpy evaluation of the documented semantics --------------------------
def _np_rank(a: np.ndarray, n_ref: int) -> np.ndarray:
    ref = a[:n_ref]
    if not np.isfinite(ref).all():
        return np.full_like(a, np.nan)
    out = np.empty_like(a)
    out[:n_ref] = rankdata(ref) / n_ref  # scipy average ranks on the reference itself
    for i in range(n_ref, len(a)):
        v = a[i]
        out[i] = np.nan if np.isnan(v) else ((ref < v).sum() + 0.5 * (ref == v).sum() + 0.5) / n_ref
    return out


def _np_z(a: np.ndarray, n_ref: int) -> np.ndarray:
    ref = a[:n_ref]
    if not np.isfinite(ref).all():
        return np.full_like(a, np.nan)
    sd = ref.std()
    return (a - ref.mean()) / sd if sd > 0 else np.zeros_like(a)


def _pdiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(np.abs(b) <= 1e-12, 1.0, a / np.where(np.abs(b) <= 1e-12, 1.0, b))


def _np_eval(expr: str, cols: dict[str, np.ndarray], n_ref: int) -> np.ndarray:
    toks = re.findall(r"[A-Za-z0-9_.\-]+|[(),]", expr)
    pos = 0

    def go() -> np.ndarray:
        nonlocal pos
        tok = toks[pos]
        pos += 1
        if tok in cols:
            return cols[tok].copy()
        pos += 1  # "("
        args = [go()]
        while toks[pos] == ",":
            pos += 1
            args.append(go())
        pos += 1
        a = args[0]
        with np.errstate(all="ignore"):
            if tok == "Add":
                return a + args[1]
            if tok == "Sub":
                return a - args[1]
            if tok == "Mul":
                return a * args[1]
            if tok == "Div":
                return _pdiv(a, args[1])
            if tok == "Min":
                return np.minimum(a, args[1])
            if tok == "Max":
                return np.maximum(a, args[1])
            if tok == "Pow":
                b = np.clip(args[1], -4, 4)
                return np.where(a == 0, 0.0, np.sign(a) * np.abs(a) ** b)
            if tok == "Neg":
                return -a
            if tok == "Abs":
                return np.abs(a)
            if tok == "Square":
                return a * a
            if tok == "Log":
                return np.sign(a) * np.log1p(np.abs(a))
            if tok == "Exp":
                return np.exp(np.minimum(a, 50.0))
            if tok == "Sqrt":
                return np.sign(a) * np.sqrt(np.abs(a))
            if tok == "Inv":
                return _pdiv(np.ones_like(a), a)
            if tok == "Sigmoid":
                return 1.0 / (1.0 + np.exp(-a))
            if tok == "Rank":
                return _np_rank(a, n_ref)
            if tok == "Zscore":
                return _np_z(a, n_ref)
        raise AssertionError(tok)

    return go()


def _assert_same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    fa, fb = np.isfinite(a), np.isfinite(b)
    ok = fa & fb
    np.testing.assert_allclose(a[ok], b[ok], rtol=1e-9, atol=1e-12, err_msg=what)
    # where one side is finite, the other must be too (up to overflow at the very edge)
    assert (fa == fb).mean() > 0.99, what


def test_interpreter_matches_numpy_on_random_formulas() -> None:
    rng = np.random.default_rng(0)
    n = 40
    x = np.column_stack(
        [rng.normal(size=n) * 3, rng.lognormal(size=n), rng.integers(-2, 3, n).astype(float)]
    )
    cols = dict(zip(NAMES, x.T, strict=True))
    exprs = _native.score_gp_random(300, NAMES, 7, 1, 4)
    n_ref = 25
    for e in exprs:
        p = ScoreProgram(e, tuple(NAMES))
        own = p.evaluate(x[:, [NAMES.index(q) for q in p.proxies]])
        _assert_same(own, _np_eval(e, cols, n), e)
        # reference pool: the first n_ref rows are the reference, the rest are queries
        got = p.evaluate(
            x[n_ref:, [NAMES.index(q) for q in p.proxies]],
            reference=x[:n_ref, [NAMES.index(q) for q in p.proxies]],
        )
        _assert_same(got, _np_eval(e, cols, n_ref)[n_ref:], e)


def test_parse_print_json(tmp_path) -> None:
    p = ScoreProgram("Add( Rank(alpha) ,Div(Log(beta_1), Neg(g-m)))", name="x")
    assert p.expr == "Add(Rank(alpha), Div(Log(beta_1), Neg(g-m)))"
    assert p.proxies == ("alpha", "beta_1", "g-m")
    assert str(p) == "(rank(alpha) + (log(beta_1) / -g-m))"
    assert p.size == 6 and p.uses_pool
    path = tmp_path / "p.json"
    p.save(path)
    assert ScoreProgram.load(path) == p
    for bad in ["Add(alpha)", "Foo(alpha)", "alpha beta_1", "Rank alpha", ""]:
        with pytest.raises(ZcnasError):
            ScoreProgram(bad, tuple(NAMES))
    with pytest.raises(ZcnasError):
        ScoreProgram.from_json('{"format": "other", "expr": "alpha"}')


def _tasks(seed: int = 0) -> list[TaskData]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(3):
        n = 300
        a, b, c = rng.normal(size=n), rng.lognormal(size=n), rng.normal(size=n)
        truth = np.log(b) - 0.5 * a + 0.3 * rng.normal(size=n)
        out.append(
            TaskData.from_arrays(np.column_stack([a, b, c]), truth, proxies=NAMES, task=f"t{i}")
        )
    return out


def _small(tasks, **kw):
    return evolve_scores(
        tasks, population=60, generations=6, archs_per_task=100, hall_of_fame=10, **kw
    )


def test_search_is_deterministic_and_beats_single_proxies() -> None:
    tasks = _tasks()
    r1, r2 = _small(tasks, seed=3), _small(tasks, seed=3)
    assert [p.expr for p in r1.programs] == [p.expr for p in r2.programs]
    assert [p.fitness for p in r1.programs] == [p.fitness for p in r2.programs]
    np.testing.assert_array_equal(r1.heldout, r2.heldout)
    # the reported held-out tau is scipy's on the held-out rows
    best, t0 = r1.best, tasks[0]
    ho = r1.heldout_rows[0]
    v = best.evaluate_scores(t0.subset(ho))
    assert r1.heldout[0, 0] == pytest.approx(kendalltau(v, t0.truth[ho]).statistic, abs=1e-12)
    singles = max(abs(kendalltau(t0.column(p)[ho], t0.truth[ho]).statistic) for p in NAMES)
    assert r1.heldout[0].min() > singles


def test_heldout_rows_never_touch_the_search() -> None:
    tasks = _tasks()
    r1 = _small(tasks, seed=1)
    for fit, ho, t in zip(r1.fit_rows, r1.heldout_rows, tasks, strict=True):
        assert len(np.intersect1d(fit, ho)) == 0 and len(fit) + len(ho) == t.n
    # scramble every held-out score and label: the search must not change
    rng = np.random.default_rng(9)
    scrambled = []
    for t, ho in zip(tasks, r1.heldout_rows, strict=True):
        s, y = t.scores.copy(), t.truth.copy()
        s[ho] = rng.normal(size=(len(ho), s.shape[1])) * 100
        y[ho] = rng.normal(size=len(ho))
        scrambled.append(TaskData.from_arrays(s, y, proxies=NAMES, task=t.task))
    r2 = _small(scrambled, seed=1)
    assert [p.expr for p in r1.programs] == [p.expr for p in r2.programs]
    assert [p.fitness for p in r1.programs] == [p.fitness for p in r2.programs]
    assert not np.allclose(r1.heldout, r2.heldout)


def test_registered_program_equals_its_stored_score_value() -> None:
    from zcnas.proxies import score, unregister

    torch.manual_seed(0)
    nets = [
        torch.nn.Sequential(
            torch.nn.Conv2d(3, w, 3, padding=1),
            torch.nn.BatchNorm2d(w),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(w, 10),
        )
        for w in (4, 6, 8, 12, 16)
    ]
    x = torch.randn(8, 3, 8, 8)
    y = torch.arange(8) % 10
    reads = ["params", "snip", "grad_norm"]
    stored = np.array(
        [[score(m, x, y, reads, seed=0)[p] for p in reads] for m in nets], dtype=np.float64
    )
    task = TaskData.from_arrays(stored, np.arange(5.0), proxies=reads)
    prog = ScoreProgram("Add(Rank(snip), Mul(Log(params), Zscore(grad_norm)))")
    prog = prog.with_reference(task, rows=[0, 2, 4])
    register_score_program(prog, "_test_score_prog")
    try:
        live = np.array(
            [score(m, x, y, "_test_score_prog", seed=0)["_test_score_prog"] for m in nets]
        )
    finally:
        unregister("_test_score_prog")
    expected = prog.evaluate_scores(task, reference="stored")
    np.testing.assert_allclose(live, expected, rtol=1e-12)
    # against the stored pool, not the scored one: a program without reference is refused
    with pytest.raises(ZcnasError):
        register_score_program(ScoreProgram("Rank(snip)"), "_test_no_ref")


def test_program_proxies_source_for_searches() -> None:
    from zcnas.eznas.scores import ProgramProxies

    rng = np.random.default_rng(2)
    table = rng.normal(size=(20, 3))
    table[5, 1] = np.nan

    class Source:
        names = ("beta_1", "alpha", "g-m")
        n_evals = 0

        def __call__(self, archs):
            return table[np.asarray(archs)]

    prog = ScoreProgram("Sub(Rank(alpha), Mul(beta_1, beta_1))")
    ref = rng.normal(size=(50, 2))  # columns in prog.proxies order: alpha, beta_1
    src = ProgramProxies(prog, Source(), reference=ref)
    got = src([3, 5, 7])
    assert got.shape == (3, 1) and np.isnan(got[1, 0])
    want = _np_eval(
        "Sub(Rank(alpha), Mul(beta_1, beta_1))",
        {"alpha": np.r_[ref[:, 0], table[[3, 7], 1]], "beta_1": np.r_[ref[:, 1], table[[3, 7], 0]]},
        50,
    )[50:]
    np.testing.assert_allclose(got[[0, 2], 0], want, rtol=1e-12)
    with pytest.raises(ZcnasError):
        ProgramProxies(prog, Source())  # a pool program without any reference


def test_cli_evolve_over_scores(tmp_path, capsys) -> None:
    from pathlib import Path

    from zcnas.bench.importers import import_suite_zero
    from zcnas.bench.store import ScoreStore
    from zcnas.cli import main

    csv = (
        Path(__file__).resolve().parents[2]
        / "shared/data/suite_zero_extra/suite_zero_9x_svhn_scifar100_ninapro.csv"
    )
    if not csv.exists():
        pytest.skip("shared Suite-Zero extra data not present")
    db = tmp_path / "s.db"
    with ScoreStore(db) as st:
        import_suite_zero(st, csv)
    out = tmp_path / "f.json"
    argv = ["eznas", "evolve", "--over-scores", "--store", str(db), "--tasks"]
    argv += ["nasbench201/svhn", "nasbench301/svhn", "--generations", "2", "--population", "20"]
    assert main([*argv, "--out", str(out), "--seed", "3"]) == 0
    text = capsys.readouterr().out
    prog = ScoreProgram.load(out)
    assert "2 tasks" in text and prog.fitness is not None
    assert (prog.reference is not None) == prog.uses_pool  # a pool only where Rank/Zscore
    # neither --stats nor --over-scores: a usage error, not a search
    assert main(["eznas", "evolve", "--out", str(tmp_path / "g.json")]) != 0
    assert "needs --stats" in capsys.readouterr().err
    # statistics-level options are refused, not silently ignored
    for extra in (["--checkpoint", str(tmp_path / "c.ckpt")], ["--stats", str(tmp_path)]):
        assert main([*argv, "--out", str(tmp_path / "h.json"), *extra]) == 2
        assert f"{extra[0]} is for the statistics-level search" in capsys.readouterr().err
    for extra in (["--mu", "5"], ["--abs-tau"]):  # statistics-level options: not ignored
        assert main([*argv, "--out", str(tmp_path / "h.json"), *extra]) == 2
        assert "only the statistics-level search" in capsys.readouterr().err
    assert main(["eznas", "show", str(out), "--stats", str(tmp_path)]) == 2
    assert "--stats evaluates statistics programs" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad",
    [
        {"archs_per_task": 2},
        {"aggregate": "median"},
        {"ops": ["Foo"]},
        {"population": 1},
        {"max_height": 40},
        {"parsimony": -1.0},
    ],
)
def test_bad_search_settings_are_errors(bad) -> None:
    with pytest.raises(ZcnasError):
        evolve_scores(_tasks()[:1], **{"generations": 1, "population": 10, **bad})


def test_aznas_evolution_accepts_a_score_program() -> None:
    from zcnas.eznas.scores import ProgramProxies
    from zcnas.search.evolution import aznas_evolution, random_proxy_search
    from zcnas.search.problem import SearchSpace, TableProxies

    prog = ScoreProgram("Add(jacov, Log(flops))")
    base = TableProxies(list(prog.proxies), source="suite_zero")
    src = ProgramProxies(prog, base)  # no pool operation: no reference needed
    space = SearchSpace.nb201("suite_zero")
    res = aznas_evolution(space, src, iterations=30, top_k=5, rng=0)
    vals = src(res.history)[:, 0]
    assert res.best_arch == res.history[int(np.nanargmax(vals))]
    # the value is the formula on the stored scores: jacov + sign(f) ln(1 + |f|)
    x = base([res.best_arch])[0]
    assert src([res.best_arch])[0, 0] == pytest.approx(
        x[1] + np.sign(x[0]) * np.log1p(abs(x[0])), rel=1e-12
    )
    pick = random_proxy_search(space, src, n_samples=50, rng=1)
    assert np.isfinite(src([pick.best_arch])[0, 0])


def test_prepared_reference_equals_joint_evaluation() -> None:
    rng = np.random.default_rng(4)
    ref, x = rng.normal(size=(30, 3)), rng.normal(size=(12, 3))
    for e in _native.score_gp_random(100, NAMES, 11, 1, 4):
        p = ScoreProgram(e, tuple(NAMES))
        cols = [NAMES.index(q) for q in p.proxies]
        prep = _native.ScoreGpPrepared(p.expr, list(p.proxies), ref[:, cols].copy())
        _assert_same(
            prep.eval(x[:, cols].copy()), p.evaluate(x[:, cols], reference=ref[:, cols]), e
        )


def test_cli_show_score_program(tmp_path, capsys) -> None:
    from zcnas.cli import main

    p = ScoreProgram("Mul(Rank(alpha), Log(beta_1))", fitness=0.5)
    p = p.with_reference(_tasks()[0])
    path = tmp_path / "p.json"
    p.save(path)
    assert main(["eznas", "show", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["expr"] == p.expr and out["proxies"] == ["alpha", "beta_1"]
    assert out["uses_pool"] and out["reference_rows"] == 300 and out["size"] == 3


def test_pool_free_search_and_zero_cost_pt_with_a_discovered_proxy() -> None:
    from zcnas.proxies import score, unregister
    from zcnas.search import zc_pt

    tasks = _tasks()
    res = _small(tasks, seed=2, pool_free=True)
    assert res.programs and not any(p.uses_pool for p in res.programs)
    assert res.best.fitness > 0.5  # truth = log(beta_1) - alpha/2 + noise: findable pool-free
    # a pool-free formula over engine proxies, registered, is Zero-Cost-PT's operation score
    prog = ScoreProgram("Sub(Log(synflow), Mul(grad_norm, params))")
    assert not prog.uses_pool
    register_score_program(prog, "_test_zcpt_prog")
    try:
        scorer = zc_pt.make_scorer("_test_zcpt_prog")
        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 10)
        )
        x, y = torch.randn(4, 3, 8, 8), torch.arange(4)
        v = score(net, x, y, ["synflow", "grad_norm", "params"], seed=0)
        s = v["synflow"]
        expected = np.sign(s) * np.log1p(abs(s)) - v["grad_norm"] * v["params"]
        assert scorer.fn(net, x, y) == pytest.approx(expected, rel=1e-9)
        kw = dict(proposals=1, validate_rounds=1, batch_size=4, progress=False, seed=1)
        a = zc_pt.search("nb201", "_test_zcpt_prog", supernet_kwargs={"C": 2, "N": 1}, **kw)
        b = zc_pt.search("nb201", "_test_zcpt_prog", supernet_kwargs={"C": 2, "N": 1}, **kw)
        assert a.candidates == b.candidates and np.isfinite(a.val_scores).all()
        assert a.proxy == "_test_zcpt_prog"
    finally:
        unregister("_test_zcpt_prog")


def test_registered_program_warns_once_when_the_pool_batch_size_differs() -> None:
    from zcnas.proxies import score, unregister

    torch.manual_seed(0)
    nets = [
        torch.nn.Sequential(
            torch.nn.Conv2d(3, w, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(), torch.nn.Linear(w, 10),
        )
        for w in (4, 6, 8)
    ]  # fmt: skip
    x, y = torch.randn(8, 3, 8, 8), torch.arange(8) % 10
    reads = ["params", "grad_norm"]
    stored = np.array([[score(m, x, y, reads)[p] for p in reads] for m in nets])
    task = TaskData.from_arrays(stored, np.arange(3.0), proxies=reads)
    task.batch_size = 32  # as load_task gives for Suite-Zero's NB201 scores
    prog = ScoreProgram("Add(Rank(grad_norm), Log(params))").with_reference(task)
    assert prog.meta["reference_batch_size"] == 32
    assert ScoreProgram.from_json(prog.to_json()).meta["reference_batch_size"] == 32
    assert prog.with_reference(task, batch_size=8).meta["reference_batch_size"] == 8
    task.batch_size = None
    assert "reference_batch_size" not in prog.with_reference(task).meta
    register_score_program(prog, "_test_pool_bs")
    try:
        with pytest.warns(ZcnasWarning) as rec:
            v = score(nets[0], x, y, "_test_pool_bs")["_test_pool_bs"]
        msgs = [str(w.message) for w in rec if "reference pool" in str(w.message)]
        assert len(msgs) == 1 and "batch size 32" in msgs[0] and "batch size 8" in msgs[0]
        assert np.isfinite(v)  # the value is still computed
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once per registration, not per network
            score(nets[1], x, y, "_test_pool_bs")
        register_score_program(
            prog.with_reference(TaskData.from_arrays(stored, np.arange(3.0), proxies=reads),
                                batch_size=8),
            "_test_pool_bs",
            replace=True,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # same batch size: silent
            score(nets[2], x, y, "_test_pool_bs")
    finally:
        unregister("_test_pool_bs")


def test_registration_names_and_the_pool_warning_of_zero_cost_pt(tmp_path, capsys) -> None:
    from zcnas.cli import main
    from zcnas.proxies import unregister
    from zcnas.search import zc_pt

    free = ScoreProgram("Add(Log(synflow), params)")
    with pytest.raises(ZcnasError, match="not a score program"):
        free.register("nwot")  # a built-in proxy is never replaced
    free.register("_test_names")
    try:
        with pytest.raises(ZcnasError, match="overwrite=True"):
            free.register("_test_names")
        # the hint of the message works
        ScoreProgram("Add(synflow, params)").register("_test_names", overwrite=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # pool-free: no warning
            zc_pt.make_scorer("_test_names")
        pooled = ScoreProgram("Rank(synflow)", reference={"synflow": [1.0, 2.0, 3.0]})
        pooled.register("_test_names", overwrite=True)
        with pytest.warns(ZcnasWarning, match="pool-free"):
            zc_pt.make_scorer("_test_names")
    finally:
        unregister("_test_names")
    # a pool-free program shows as such, with its fitness
    p = tmp_path / "f.json"
    ScoreProgram("Log(alpha)", ("alpha",), fitness=0.25).save(p)
    assert main(["eznas", "show", str(p)]) == 0
    text = capsys.readouterr().out
    assert "pool-free" in text and "+0.2500" in text and "1 node " in text
