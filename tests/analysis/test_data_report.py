"""Loading tasks from a score store, the report folder and ``zcnas analyze``."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from scipy import stats as ss

from zcnas.analysis import TaskData, list_tasks, load_task, load_tasks
from zcnas.analysis.report import AnalysisConfig, run_analysis, write_report
from zcnas.bench.store import ScoreStore
from zcnas.cli import main
from zcnas.exceptions import ZcnasError


def _fill(store: ScoreStore, space: str, task: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    acc = rng.normal(size=n)
    cols = {
        "good": acc + 0.5 * rng.normal(size=n),
        "bad": rng.normal(size=n),
        "flat": np.full(n, 2.0),
        "fails": acc.copy(),
    }
    cols["fails"][: n // 5] = -1e8  # NASLib's failure value on 20% of the archs
    archs = [str(i) for i in rng.choice(15625, n, replace=False)]
    store.put_many(
        {"space": space, "task": task, "arch": a, "proxy": p, "score": float(v[i])}
        for p, v in cols.items()
        for i, a in enumerate(archs)
    )
    store.put_ground_truth_many(
        {"space": space, "task": task, "arch": a, "metric": "val_accuracy", "value": float(acc[i])}
        for i, a in enumerate(archs)
    )


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "s.db"
    with ScoreStore(path, synchronous="NORMAL") as st:
        _fill(st, "nasbench201", "cifar10", 300, 0)
        _fill(st, "nasbench201", "cifar100", 250, 1)
    return path


def test_load_cleans_sentinels_and_constants(store_path):
    with ScoreStore(store_path) as st:
        assert list_tasks(st) == [("nasbench201", "cifar10"), ("nasbench201", "cifar100")]
        t = load_task(st, "nasbench201", "cifar10")
        assert sorted(t.proxies) == ["bad", "good"]
        assert sorted(t.dropped["proxies"]) == ["fails", "flat"] and t.dropped["archs"] == 0
        assert t.n == 300 and t.label == "NB201-CF10"
        flipped = load_task(st, "nasbench201", "cifar10", lower_is_better=["good"])
        np.testing.assert_array_equal(flipped.column("good"), -t.column("good"))
        with pytest.raises(ZcnasError, match="lower_is_better"):
            load_task(st, "nasbench201", "cifar10", lower_is_better=["nope"])
        assert len(load_tasks(st)) == 2


def test_a_proxy_stored_on_few_archs_is_dropped_not_the_task_shrunk(store_path):
    """A proxy scored on 2 of 300 architectures (e.g. a new proxy next to imported values) is
    cleaned away like a failing one; the task keeps its 300 architectures."""
    with ScoreStore(store_path) as st:
        archs = load_task(st, "nasbench201", "cifar10").archs
        st.put_many(
            {"space": "nasbench201", "task": "cifar10", "arch": a, "proxy": "mine", "score": 1.0}
            for a in archs[:2]
        )
        t = load_task(st, "nasbench201", "cifar10")
        assert t.n == 300 and "mine" in t.dropped["proxies"] and "good" in t.proxies
        only = load_task(st, "nasbench201", "cifar10", proxies=["good", "mine"])
        assert only.proxies == ["good"] and only.n == 300
        with pytest.raises(ZcnasError, match="unknown ground-truth metric"):
            load_task(st, "nasbench201", "cifar10", metric="nope")


def test_archs_without_the_chosen_metric_are_counted_as_dropped(store_path, tmp_path, capsys):
    """A metric stored for only some scored architectures (an imported task's test accuracy,
    given only where zcnas scored live) shrinks the task, and the Tasks table says by how many."""
    with ScoreStore(store_path) as st:
        archs = load_task(st, "nasbench201", "cifar10").archs
        st.put_ground_truth_many(
            {"space": "nasbench201", "task": "cifar10", "arch": a, "metric": "test", "value": i}
            for i, a in enumerate(archs[:50])
        )
        t = load_task(st, "nasbench201", "cifar10", metric="test")
    assert t.n == 50 and t.dropped["archs"] == t.dropped["no_truth"] == 250
    assert list(t.archs) == list(archs[:50])
    np.testing.assert_array_equal(t.truth, np.arange(50.0))
    argv = ["analyze", "--store", str(store_path), "--quick", "--no-progress", "--workers", "1"]
    argv += ["--task", "nb201/cifar10", "--metric", "test", "--steps", "correlation"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "NB201-CF10: left out 250 architectures scored by flavor 'default' without " in err
    tasks = pd.read_csv(tmp_path / "r" / "tasks.csv")
    assert tasks.dropped_archs.tolist() == [250] and tasks.n_archs.tolist() == [50]


def test_tasks_carry_the_batch_size_of_their_scores(tmp_path):
    """TaskData.batch_size is the store's provenance when every loaded score shares it;
    mixed or unrecorded batch sizes give None."""
    n, rng = 40, np.random.default_rng(0)
    acc = rng.normal(size=n)
    sizes = {
        "cifar10": [32] * n,  # as NAS-Bench-Suite-Zero's NB201 CSV is imported
        "cifar100": [30] * (n // 2) + [32] * (n - n // 2),
        "imagenet16": [None] * n,
    }
    with ScoreStore(tmp_path / "b.db") as st:
        for task, bs in sizes.items():
            st.put_many(
                {
                    "space": "nasbench201",
                    "task": task,
                    "arch": str(i),
                    "proxy": p,
                    "score": float(acc[i] + j * rng.normal()),
                    "batch_size": bs[i],
                }
                for j, p in enumerate(("a", "b"))
                for i in range(n)
            )
            st.put_ground_truth_many(
                {
                    "space": "nasbench201",
                    "task": task,
                    "arch": str(i),
                    "metric": "val_accuracy",
                    "value": float(acc[i]),
                }
                for i in range(n)
            )
        assert st.batch_sizes("nasbench201", "cifar100") == {30: n, 32: n}
        assert st.batch_sizes("nasbench201", "cifar100", ["a"]) == {30: n // 2, 32: n // 2}
        assert st.batch_sizes("nasbench201", "imagenet16") == {None: 2 * n}
        tasks = {t.task: t for t in load_tasks(st)}
    t = tasks["cifar10"]
    assert t.batch_size == 32
    assert t.subset(range(5)).batch_size == 32 and t.select(["b"]).batch_size == 32
    assert tasks["cifar100"].batch_size is None and tasks["imagenet16"].batch_size is None
    with ScoreStore(tmp_path / "b.db", mode="r") as st, pytest.raises(ZcnasError, match="flavor"):
        st.batch_sizes("nasbench201", "cifar10", flavor="nope")


def test_failures_under_ten_percent_drop_archs_not_the_proxy():
    s = np.random.default_rng(0).normal(size=(100, 2))
    s[:5, 1] = -1e8
    t = TaskData.from_arrays(s, np.arange(100.0))
    assert t.proxies == ["p0", "p1"] and t.n == 95 and t.dropped["archs"] == 5


def test_report_folder_and_python_tables_agree(store_path, tmp_path):
    with ScoreStore(store_path) as st:
        tasks = load_tasks(st)
    cfg = AnalysisConfig(
        bootstrap=5,
        entropy_random=5,
        surrogate_trials=2,
        ablation_trials=1,
        surrogate_rounds=20,
        entropy_strategies=("sturges",),
    )
    res = run_analysis(tasks, cfg)
    path = write_report(res, tmp_path / "rep")
    text = path.read_text()
    for section in (
        "## Spearman",
        "## Average rank",
        "## Conditional entropy",
        "## Bias",
        "## Surrogate",
        "## Best ensemble",
        "## Runtime",
    ):
        assert section in text
    for fig in (
        "spearman_heatmap.png",
        "performance_profile.png",
        "entropy_NB201-CF10.png",
        "rank_scatter_NB201-CF100.png",
        "surrogate.png",
    ):
        assert (tmp_path / "rep" / fig).stat().st_size > 1000
    corr = pd.read_csv(tmp_path / "rep" / "correlations.csv")
    t = tasks[0]
    row = corr[(corr.task == t.label) & (corr.proxy == "good")].iloc[0]
    assert row.spearman == pytest.approx(ss.spearmanr(t.column("good"), t.truth)[0])


def test_workers_give_the_serial_tables(store_path):
    """A 2-process pool (information, bias, surrogate) gives every table of the serial run,
    bit for bit; a bad worker count is refused."""
    with ScoreStore(store_path) as st:
        tasks = load_tasks(st)
    kw = dict(
        bootstrap=3,
        entropy_random=3,
        surrogate_trials=3,
        surrogate_train=60,
        surrogate_test=100,
        ablation_trials=2,
        surrogate_rounds=20,
        steps=("information", "bias", "surrogate"),
    )
    serial = run_analysis(tasks, AnalysisConfig(workers=1, **kw))
    pooled = run_analysis(tasks, AnalysisConfig(workers=2, **kw))
    assert set(pooled.tables) == set(serial.tables)
    assert {"entropy_curves", "information_gain", "surrogate", "ablation"} <= set(serial.tables)
    for name, df in serial.tables.items():
        pd.testing.assert_frame_equal(pooled.tables[name], df, check_exact=True)
    with pytest.raises(ZcnasError, match="workers"):
        run_analysis(tasks, AnalysisConfig(workers=0, **kw))


def test_pool_in_an_unguarded_script_says_why(tmp_path):
    """Spawned workers re-run a script without a main guard; the analysis says so."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import numpy as np\n"
        "from zcnas.analysis import TaskData\n"
        "from zcnas.analysis.report import AnalysisConfig, run_analysis\n"
        "acc = np.arange(50.0)\n"
        "t = TaskData.from_arrays(np.column_stack([acc, acc[::-1]]), acc)\n"
        "run_analysis([t], AnalysisConfig(workers=2, steps=('bias',)))\n"
    )
    res = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert res.returncode != 0
    assert "must guard its entry point" in res.stderr


def test_cli_analyze(store_path, tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(
        [
            "analyze",
            "--store",
            str(store_path),
            "--report",
            str(out),
            "--quick",
            "--no-progress",
            "--task",
            "nasbench201/cifar100",
            "--steps",
            "correlation,ensembles",
        ]
    )
    assert rc == 0
    assert str(out / "report.md") in capsys.readouterr().out
    assert (out / "spearman.csv").exists() and not (out / "surrogate.csv").exists()
    assert main(["analyze", "--store", str(tmp_path / "none.db"), "--report", str(out)]) == 2
    assert main(["analyze", "--store", str(store_path), "--report", str(out), "--task", "x"]) == 2
    assert (
        main(["analyze", "--store", str(store_path), "--report", str(out), "--steps", "magic"]) == 2
    )


def test_cli_analyze_reads_the_flavor_asked_for(store_path, tmp_path, capsys):
    """--flavor picks the rows of one flavor for every task (default: naslib before default)."""
    with ScoreStore(store_path) as st:
        t = load_task(st, "nasbench201", "cifar10")
        st.put_many(
            {
                "space": "nasbench201",
                "task": "cifar10",
                "arch": a,
                "proxy": "mine",
                "score": float(v),
                "flavor": "naslib",
            }
            for a, v in zip(t.archs, -t.truth, strict=True)
        )
    argv = ["analyze", "--store", str(store_path), "--quick", "--no-progress", "--steps"]
    argv += ["correlation", "--task", "nasbench201/cifar10", "--out"]
    assert main([*argv, str(tmp_path / "a")]) == 0
    picked = pd.read_csv(tmp_path / "a" / "spearman.csv")
    assert set(picked.proxy) == {"mine"}  # naslib is preferred over default
    assert main([*argv, str(tmp_path / "b"), "--flavor", "default"]) == 0
    live = pd.read_csv(tmp_path / "b" / "spearman.csv")
    assert set(live.proxy) == {"good", "bad"}
    assert main([*argv, str(tmp_path / "c"), "--flavor", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    alias = [a if a != "nasbench201/cifar10" else "nb201/cifar10" for a in argv]
    assert main([*alias, str(tmp_path / "d")]) == 0  # zcnas score's space names work too
    capsys.readouterr()
    empty = tmp_path / "no_truth.db"
    with ScoreStore(empty) as st:
        st.put_many(
            [{"space": "nasbench101", "task": "cifar10", "arch": "a", "proxy": "p", "score": 1.0}]
        )
    assert main(["analyze", "--store", str(empty), "--out", str(tmp_path / "e")]) == 2
    assert "no task with both scores and ground truth" in capsys.readouterr().err


def test_real_suite_zero_nb201_cifar100(shared_data, tmp_path):
    from zcnas.bench.importers import import_suite_zero

    src = shared_data / "suite_zero" / "naslib_zc_nasbench201_subset_6639fd15.csv"
    with ScoreStore(tmp_path / "r.db", synchronous="NORMAL") as st:
        import_suite_zero(st, src)
        t = load_task(st, "nasbench201", "cifar100")
    with open(src, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["dataset"] == "cifar100"]
    ok = [r for r in rows if all(r[p] not in ("", "-100000000") for p in t.proxies)]
    assert t.n == len(ok) and t.n > 700
    by_index = {r["nb201_index"]: r for r in ok}
    nwot = np.array([float(by_index[a]["nwot"]) for a in t.archs])
    acc = np.array([float(by_index[a]["val_accuracy"]) for a in t.archs])
    np.testing.assert_array_equal(t.column("nwot"), nwot)
    from zcnas.analysis.correlation import correlations

    rho = correlations(t).set_index("proxy").loc["nwot", "spearman"]
    assert rho == pytest.approx(ss.spearmanr(nwot, acc)[0], abs=1e-12)
    assert rho > 0.7  # NAS-Bench-Suite-Zero Figure 2: nwot on NB201-CF100 is about 0.8


def test_cli_analyze_skips_unusable_tasks_and_small_steps(store_path, tmp_path, capsys):
    """Of all the store's tasks, one with too few architectures for the flavor is skipped
    with its reason (how many of the scored ones have ground truth); named with --task it is
    an error. A task too small to split skips the ensembles step, and the report is written.
    --metric picks the ground truth; an unknown --steps fails before the store is read."""
    with ScoreStore(store_path) as st:
        _fill(st, "nasbench201", "imagenet16", 5, 2)  # 5 archs: cannot split 3 + 3
        st.put_many(  # 2 live scores on NB101, one of them with ground truth
            {"space": "nasbench101", "task": "cifar10", "arch": a, "proxy": "p", "score": v}
            for a, v in (("a", 1.0), ("b", 2.0))
        )
        st.put_ground_truth_many(
            [{"space": "nasbench101", "task": "cifar10", "arch": "a", "metric": "m", "value": 1}]
        )
    base = ["analyze", "--store", str(store_path), "--quick", "--no-progress", "--workers", "1"]
    assert main([*base, "--out", str(tmp_path / "r"), "--steps", "correlation,ensembles"]) == 0
    err = capsys.readouterr().err
    assert "skipped nasbench101/cifar10: NB101-CF10 flavor 'default': 1 of the 2 " in err
    assert "ensembles: NB201-IMGNT skipped (5 architectures" in err
    assert "NB201-IMGNT: only 5 architectures; rank correlations on so few" in err
    best = pd.read_csv(tmp_path / "r" / "best_ensembles.csv")
    assert set(best.task) == {"NB201-CF10", "NB201-CF100"}
    spearman = pd.read_csv(tmp_path / "r" / "spearman.csv", index_col=0)
    assert "NB201-IMGNT" in spearman.columns  # the other steps keep the small task
    one = [*base, "--out", str(tmp_path / "x"), "--task", "nb101/cifar10"]
    assert main(one) == 2
    assert "1 of the 2 architectures with scores have ground truth 'm'" in capsys.readouterr().err
    assert (
        main([*base, "--out", str(tmp_path / "m"), "--metric", "nope", "--steps", "correlation"])
        == 2
    )
    err = capsys.readouterr().err
    assert "skipped nasbench201/cifar10: unknown ground-truth metric 'nope'" in err
    assert "every task of" in err
    assert main([*base, "--out", str(tmp_path / "s"), "--steps", "corr"]) == 2
    err = capsys.readouterr().err
    assert "--steps: unknown step(s) corr" in err and "analysing" not in err


def test_several_flavors_side_by_side(store_path, tmp_path, capsys):
    """flavor="default,naslib": the live proxies and the imported ones on the architectures
    both flavors scored (a live one the import lacks is dropped and counted, whatever the
    share), the imported ones named proxy[naslib], each column equal to the store's value for
    its architecture; an imported proxy missing on > 10% of them is dropped. A listed flavor
    the task lacks is an error. The CLI reports them in one table (Spearman checked with
    scipy) and skips the task without naslib rows, saying so."""
    with ScoreStore(store_path) as st:
        t = load_task(st, "nasbench201", "cifar10")
        rng = np.random.default_rng(5)
        live = list(t.archs)
        mine = {a: float(v) for a, v in zip(live, t.truth + rng.normal(size=t.n), strict=True)}
        lacking = set(live[:40])  # 13% of the live architectures have no imported scores
        outside = next(str(i) for i in range(15625) if str(i) not in mine)
        extra = [(a, v) for a, v in mine.items() if a not in lacking] + [(outside, 0.0)]
        rows = [("mine", a, v) for a, v in extra] + [("half", a, 1.0) for a in live[::2]]
        rows += [("good", a, -v) for a, v in extra]  # same name as a live proxy
        st.put_many(
            {
                "space": "nasbench201",
                "task": "cifar10",
                "arch": a,
                "proxy": p,
                "score": v,
                "flavor": "naslib",
            }
            for p, a, v in rows
        )
        both = load_task(st, "nasbench201", "cifar10", flavor="default,naslib")
        kept = [a for a in live if a not in lacking]
        assert both.flavor == "default,naslib" and both.metric == t.metric
        assert sorted(both.proxies) == ["bad", "good", "good[naslib]", "mine[naslib]"]
        assert list(both.archs) == kept and both.dropped["archs"] == 40
        # 20 of the 40 have no naslib score; the other 20 only 'half' (dropped), so NaNs
        assert both.dropped["unshared"] == 20 and both.dropped["no_truth"] == 0
        assert "half[naslib]" in both.dropped["proxies"]
        np.testing.assert_array_equal(both.column("good"), t.column("good")[40:])
        np.testing.assert_array_equal(both.column("mine[naslib]"), [mine[a] for a in kept])
        np.testing.assert_array_equal(both.column("good[naslib]"), [-mine[a] for a in kept])
        with pytest.raises(ZcnasError, match="no scores of flavor 'nope'; stored: default, nasl"):
            load_task(st, "nasbench201", "cifar10", flavor="default,nope")
        st.put("nasbench201", "cifar10", outside, "far", 1.0, flavor="far")
        with pytest.raises(ZcnasError, match="of the 300 architectures that flavor 'default' "):
            load_task(st, "nasbench201", "cifar10", flavor="default,far")  # none in common
    argv = ["analyze", "--store", str(store_path), "--quick", "--no-progress", "--steps"]
    argv += ["correlation", "--flavor", "default,naslib", "--out", str(tmp_path / "r")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "skipped nasbench201/cifar100: nasbench201/cifar100 has no scores of flavor " in err
    assert "NB201-CF10: left out 20 architectures scored by flavor 'default' but not by" in err
    rho = pd.read_csv(tmp_path / "r" / "spearman.csv", index_col=0)
    want = ss.spearmanr([mine[a] for a in kept], t.truth[40:])[0]
    assert rho.loc["mine[naslib]", "NB201-CF10"] == pytest.approx(want)
    assert list(rho.columns) == ["NB201-CF10"]


def test_cli_analyze_reads_a_task_named_twice_once(store_path, tmp_path):
    """--task given twice, or in two spellings (nb201 / nasbench201, cifar-10 / cifar10), is
    one task of the report."""
    argv = ["analyze", "--store", str(store_path), "--quick", "--no-progress", "--steps"]
    argv += ["correlation", "--out", str(tmp_path / "r"), "--task", "nasbench201/cifar10"]
    assert main([*argv, "--task", "nb201/CIFAR-10", "--task", "nasbench201/cifar10"]) == 0
    tasks = pd.read_csv(tmp_path / "r" / "tasks.csv")
    assert list(tasks.task) == ["NB201-CF10"]
