"""zcnas.search.zc_pt: Zero-Cost-PT's scoring functions, edge orders, validation and analysis.

References: an "oracle proxy" whose perturbation response is NAS-Bench-201's best-acc makes
zc-pt choose the oracle's operations (so the search must find the best architecture, index
6111); edge orders are checked against their definitions computed independently with numpy;
the jacob/nwot score against a plain numpy slogdet of the Hamming kernel and against the proxy
engine's nwot; the oracles against a pandas group-by of the embedded table; the edge
correlation against scipy.
"""

from __future__ import annotations

import numpy as np
import pytest

from zcnas.datasets import cifar_batch
from zcnas.exceptions import ZcnasError
from zcnas.spaces import nb201

torch = pytest.importorskip("torch")
zc_pt = pytest.importorskip("zcnas.search.zc_pt")
from zcnas.spaces.supernet import nb201_supernet  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

BEST = nb201.index_to_str(6111)


def _fixed_rows(w):
    """Rows with exactly one non-zero weight: the projected edges (edge -> op)."""
    return {e: int(np.flatnonzero(w[e])[0]) for e in range(6) if np.count_nonzero(w[e]) == 1}


def _oracle_pt_proxy():
    """A proxy whose perturbation response is the best-acc oracle (paper Eq. 1): removing op o
    from an undecided edge lowers S by best-acc(e, o) given the already projected edges."""
    cache = {}

    def fn(model, _x, _y):
        w = model.weights.numpy()
        fixed = _fixed_rows(w)
        key = tuple(sorted(fixed.items()))
        if key not in cache:
            cache[key] = np.nan_to_num(zc_pt.nb201_oracle("best-acc", fixed=fixed))
        return float(sum((cache[key][e] * (w[e] > 0)).sum() for e in range(6) if e not in fixed))

    return fn


def _oracle_disc_proxy():
    """disc-zc counterpart: S = the best accuracy reachable with the one-hot edges fixed."""

    def fn(model, _x, _y):
        fixed = _fixed_rows(model.weights.numpy())
        return float(np.nanmax(zc_pt.nb201_oracle("best-acc", fixed=fixed)))

    return fn


def _additive(values):
    """S(A) = sum of values[e, o] over the ops still present (weight > 0): removing op o lowers
    S by exactly values[e, o], whatever else is decided."""

    def fn(model, _x, _y):
        return float((values * (model.weights.numpy() > 0)).sum())

    return fn


@pytest.fixture(scope="module")
def tiny():
    return nb201_supernet(C=2, N=1)


@pytest.mark.parametrize("order", zc_pt.ORDERS)
def test_oracle_proxy_makes_zc_pt_find_the_best_architecture(order, tiny):
    r = zc_pt.search(
        "nb201",
        _oracle_pt_proxy(),
        order=order,
        proposals=2,
        validate_rounds=0,
        supernet=tiny,
        batch_size=2,
        progress=False,
        seed=3,
    )
    # top accuracy is tied between architectures, so the arch may differ; its rank may not
    assert [zc_pt.nb201_rank(a) for a in r.candidates] == [1, 1]


def test_oracle_proxy_makes_disc_zc_find_the_best_architecture(tiny):
    r = zc_pt.search(
        "nb201",
        _oracle_disc_proxy(),
        method="disc-zc",
        proposals=1,
        validate_rounds=0,
        supernet=tiny,
        batch_size=2,
        progress=False,
    )
    assert zc_pt.nb201_rank(r.best) == 1


def test_additive_oracle_selection_matches_select_by_scores(tiny):
    avg = zc_pt.nb201_oracle("avg-acc")
    r = zc_pt.search(
        "nb201",
        _additive(avg),
        proposals=1,
        validate_rounds=0,
        supernet=tiny,
        batch_size=2,
        progress=False,
    )
    assert r.best == zc_pt.select_by_scores(avg)


def _edge_sequence(result):
    return [s["edge"] for s in result.proposal_logs[0]["steps"] if "edge" in s]


@pytest.mark.parametrize("order", zc_pt.ORDERS)
def test_orders_visit_every_edge_once(order, tiny):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(6, 5))
    r = zc_pt.search(
        "nb201",
        _additive(values),
        order=order,
        proposals=1,
        validate_rounds=0,
        supernet=tiny,
        batch_size=2,
        progress=False,
        seed=7,
    )
    seq = _edge_sequence(r)
    assert sorted(seq) == list(range(6))
    best = values.max(1)
    mean = values.mean(1)
    expected = {
        "fixed": list(range(6)),
        "reverse": list(range(5, -1, -1)),
        # additive scores do not depend on the decided edges, so the iterative and the once
        # orders coincide: the best op score / the best mean first
        "global-op-iter": list(np.argsort(-best, kind="stable")),
        "global-op-once": list(np.argsort(-best, kind="stable")),
        "global-edge-iter": list(np.argsort(-mean, kind="stable")),
        "global-edge-once": list(np.argsort(-mean, kind="stable")),
    }
    if order in expected:
        assert seq == [int(e) for e in expected[order]]
    # every edge gets the op with the best value
    assert r.best == nb201.ops_to_str([nb201.OPS[int(o)] for o in values.argmax(1)])


def test_random_order_differs_between_seeds(tiny):
    values = np.arange(30.0).reshape(6, 5)
    seqs = set()
    for seed in range(4):
        r = zc_pt.search(
            "nb201",
            _additive(values),
            order="random",
            proposals=1,
            validate_rounds=0,
            supernet=tiny,
            batch_size=2,
            progress=False,
            seed=seed,
        )
        seqs.add(tuple(_edge_sequence(r)))
    assert len(seqs) > 1


def test_search_is_deterministic_with_nwot():
    kw = dict(
        proposals=2,
        validate_rounds=2,
        batch_size=6,
        progress=False,
        supernet_kwargs={"C": 4, "N": 1},
    )
    a = zc_pt.search("nb201", "nwot", seed=5, **kw)
    b = zc_pt.search("nb201", "nwot", seed=5, **kw)
    assert a.candidates == b.candidates and a.val_scores == b.val_scores
    assert a.proposal_logs == b.proposal_logs
    assert a.best == a.unique[int(np.nanargmax(a.val_scores))]
    assert len(a.proposal_logs) == 2 and all(p["evaluations"] == 30 for p in a.proposal_logs)


def _plain_nwot(model, x, by_name=False):
    """NASWOT's kernel over nn.ReLU inputs (or every module whose class name contains ReLU) by
    a direct numpy computation."""
    codes = []
    hooks = [
        m.register_forward_hook(lambda _m, inp, _o: codes.append((inp[0] > 0).flatten(1).numpy()))
        for m in model.modules()
        if ("ReLU" in type(m).__name__ if by_name else isinstance(m, torch.nn.ReLU))
    ]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    k = sum(
        c.astype(float) @ c.T.astype(float) + (1 - c.astype(float)) @ (1 - c.T.astype(float))
        for c in codes
    )
    return np.linalg.slogdet(k)[1]


def test_jacob_score_matches_numpy_and_the_engine():
    from zcnas.proxies import score

    torch.manual_seed(0)
    net = nb201.build(nb201.index_to_str(123), C=4, N=1)
    x = torch.randn(8, 3, 16, 16)
    act = zc_pt.jacob_score(net, x, hooks="activation")
    assert net.training  # mode restored
    assert act == pytest.approx(_plain_nwot(net, x), abs=1e-9)
    # the reference's rule also hooks the ReLUConvBN wrappers (their codes count twice)
    ref_rule = zc_pt.jacob_score(net, x)
    assert ref_rule == pytest.approx(_plain_nwot(net, x, by_name=True), abs=1e-9)
    assert ref_rule != pytest.approx(act)
    # without BatchNorm, eval and train mode agree, so the engine's (train-mode) nwot matches
    plain = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3),
        torch.nn.ReLU(),
        torch.nn.Conv2d(6, 4, 3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 12 * 12, 3),
    )
    ref = score(plain, x, None, ["nwot"], flavor="raw")["nwot"]
    assert zc_pt.jacob_score(plain, x) == pytest.approx(ref, abs=1e-9)
    with pytest.raises(ZcnasError, match="hooks must be"):
        zc_pt.jacob_score(plain, x, hooks="all")


def test_oracles_against_pandas():
    pd = pytest.importorskip("pandas")
    from zcnas.bench import load_nb201

    t = load_nb201()
    ops = np.array([nb201.str_to_ops(s) for s in t["arch_str"]])
    df = pd.DataFrame(ops, columns=[f"e{e}" for e in range(6)])
    df["acc"] = t.test_accuracy("cifar100")
    best = zc_pt.nb201_oracle("best-acc", "cifar100")
    avg = zc_pt.nb201_oracle("avg-acc", "cifar100")
    for e in range(6):
        g = df.groupby(f"e{e}")["acc"]
        for o, name in enumerate(nb201.OPS):
            assert best[e, o] == pytest.approx(g.max()[name])
            assert avg[e, o] == pytest.approx(g.mean()[name])
    # conditional on decided edges: only the reachable architectures count
    fixed = {0: 3, 3: 1}
    cond = zc_pt.nb201_oracle("best-acc", "cifar100", fixed=fixed)
    sub = df[(df.e0 == "nor_conv_3x3") & (df.e3 == "skip_connect")]
    assert cond[1, 2] == pytest.approx(sub[sub.e1 == "nor_conv_1x1"]["acc"].max())
    assert np.isnan(cond[0, 0]) and cond[0, 3] == pytest.approx(sub["acc"].max())


def test_edge_correlation_against_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    s, t = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    s[2, 1] = np.nan
    mean, per = zc_pt.edge_correlation(s, t)
    ref = [
        scipy_stats.spearmanr(s[e][np.isfinite(s[e])], t[e][np.isfinite(s[e])])[0] for e in range(6)
    ]
    assert [per[e] for e in range(6)] == pytest.approx(ref)
    assert mean == pytest.approx(np.mean(ref))
    assert zc_pt.edge_correlation(t, t)[0] == pytest.approx(1.0)


def test_select_and_rank():
    from zcnas.bench import load_nb201

    acc = load_nb201().test_accuracy("cifar10")
    i = int(np.argsort(-acc)[9])
    assert zc_pt.nb201_rank(i) == int((acc > acc[i]).sum()) + 1
    o = zc_pt.nb201_oracle("avg-acc")
    assert nb201.str_to_ops(zc_pt.select_by_scores(o)) == tuple(nb201.OPS[k] for k in o.argmax(1))
    assert zc_pt.nb201_rank(BEST) == 1


def test_validate_sums_over_batches():
    net = nb201_supernet(C=4, N=1)
    archs = [nb201.index_to_str(i) for i in (0, 6111, 4000)]
    x = torch.zeros(2, 3, 8, 8)
    batches = [(x, None)] * 3

    def n_params(model, _x, _y):
        return float(sum(p.numel() for p in model.parameters()))

    ticks = []
    tot = zc_pt.validate(
        net,
        archs,
        zc_pt.Scorer("params", "custom", n_params),
        batches,
        network_sizes={"C": 8},
        on_batch=lambda: ticks.append(1),
    )
    ref = [3 * n_params(nb201.build(a, C=8, N=1), None, None) for a in archs]
    assert tot.tolist() == ref
    assert len(ticks) == 9  # progress once per (network, minibatch)


def test_image_batches_augment_and_subsample():
    x = torch.arange(4 * 3 * 8 * 8, dtype=torch.float32).reshape(4, 3, 8, 8)
    y = torch.arange(4)
    plain = zc_pt.ImageBatches(x, y, augment=False, seed=0, batch_size=3).draw()
    assert plain[0].shape == (3, 3, 8, 8)
    for img, lab in zip(*plain, strict=True):
        assert torch.equal(img, x[lab])
    aug = zc_pt.ImageBatches(x, y, seed=1, pad=2)
    xa, ya = aug.draw()
    assert sorted(ya.tolist()) == [0, 1, 2, 3]
    # each image is a crop of the padded original, possibly flipped: its interior pixels exist
    for img, lab in zip(xa, ya, strict=True):
        assert img.shape == (3, 8, 8)
        assert torch.isin(img[0, 3, 3], torch.cat([x[lab].flatten(), aug._fill.flatten()]))


def test_errors(tiny):
    with pytest.raises(ZcnasError, match="edge order"):
        zc_pt.search("nb201", "nwot", order="sideways", supernet=tiny)
    with pytest.raises(ZcnasError, match="method"):
        zc_pt.search("nb201", "nwot", method="darts", supernet=tiny)
    with pytest.raises(ZcnasError, match="proposals"):
        zc_pt.search("nb201", "nwot", proposals=0, supernet=tiny)
    with pytest.raises(ZcnasError, match="unknown proxy"):
        zc_pt.make_scorer("no_such_proxy")
    with pytest.raises(ZcnasError, match="no flavor"):
        zc_pt.make_scorer("synflow", "zcpt")
    with pytest.raises(ZcnasError, match="NaN"):
        zc_pt.search(
            "nb201",
            lambda m, x, y: float("nan"),
            proposals=1,
            validate_rounds=0,
            supernet=tiny,
            batch_size=2,
            progress=False,
        )


def test_cli_runs(capsys):
    import json

    from zcnas.cli import main

    rc = main(
        [
            "search",
            "zc-pt",
            "--space",
            "nb201",
            "--proxy",
            "nwot",
            "--proposals",
            "1",
            "--validate",
            "1",
            "--C",
            "2",
            "--N",
            "1",
            "--seeds",
            "0",
            "--batch-size",
            "4",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["seed"] == 0 and 1 <= out[0]["rank_cifar10"] <= 15625
    assert main(["search", "zc-pt", "--seeds", "x"]) == 2


def test_validation_picks_the_best_total_and_results_reach_the_store(tmp_path, tiny):
    from zcnas.bench import ScoreStore

    # on the supernet: an additive proxy plus a term in the seed-drawn alpha; on stand-alone
    # networks (validation): the parameter count, so the most parameters must win
    def alpha_proxy(model, _x, _y):
        if hasattr(model, "weights"):
            return float((model.weights.numpy() * np.arange(30).reshape(6, 5)[::-1]).sum())
        return float(sum(p.numel() for p in model.parameters()))

    values = np.random.default_rng(0).normal(size=(6, 5))

    def proxy(model, x, y):
        if hasattr(model, "weights"):
            return _additive(values)(model, x, y) + alpha_proxy(model, x, y)
        return alpha_proxy(model, x, y)

    with ScoreStore(tmp_path / "s.db") as st:
        r = zc_pt.search(
            "nb201",
            proxy,
            proposals=3,
            validate_rounds=2,
            supernet=tiny,
            batch_size=2,
            progress=False,
            seed=1,
            store=st,
        )
        n_params = [sum(p.numel() for p in tiny.build_network(a).parameters()) for a in r.unique]
        assert r.val_scores == [2.0 * n for n in n_params]
        assert r.best == r.unique[int(np.argmax(n_params))]
        flavor = "custom;zc-pt;random;N=3;V=2;B=2;seed=1"
        for a, v in zip(r.unique, r.val_scores, strict=True):
            rec = st.get(
                "nasbench201", "cifar10", nb201.str_to_index(a), "zc-pt/custom", flavor=flavor
            )
            assert rec.score == v and rec.seed == 1


def test_progress_moves_once_per_edge(tiny):
    """The search's progress hook fires after every discretised edge, not once per proposal."""
    calls = []
    prop = zc_pt.propose(
        tiny,
        zc_pt.make_scorer(_additive(np.arange(30.0).reshape(6, 5))),
        zc_pt.ImageBatches(*cifar_batch("cifar10", 4), augment=False, seed=0),
        order="random",
        rng=0,
        on_step=lambda: calls.append(len(calls)),
    )
    assert len(calls) == 6 == len([s for s in prop.steps if "edge" in s])


def test_split_modules_keep_the_public_names():
    from zcnas.search import zc_pt_analysis, zc_pt_scoring

    for name in zc_pt.__all__:
        assert hasattr(zc_pt, name), name
    assert zc_pt.operation_scores is zc_pt_scoring.operation_scores
    assert zc_pt.nb201_oracle is zc_pt_analysis.nb201_oracle


def test_cli_searches_with_a_score_program_file(capsys, tmp_path):
    import json

    from zcnas.cli import main
    from zcnas.eznas.scores import ScoreProgram
    from zcnas.proxies import unregister

    path = tmp_path / "my_formula.json"
    ScoreProgram("Add(Log(synflow), params)").save(path)
    argv = ["search", "zc-pt", "--proposals", "1", "--validate", "1", "--C", "2", "--N", "1"]
    argv += ["--seeds", "0", "--batch-size", "4", "--json", "--proxies", str(path)]
    try:
        assert main(argv) == 0
        out = json.loads(capsys.readouterr().out)
        assert out[0]["proxy"] == "my_formula" and 1 <= out[0]["rank_cifar10"] <= 15625
        assert main(argv) == 0  # a second load replaces the registered program
    finally:
        unregister("my_formula")
    missing = ["search", "zc-pt", "--proxies", str(tmp_path / "nope.json")]
    assert main(missing) == 2
    assert "does not exist" in capsys.readouterr().err
