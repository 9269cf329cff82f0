"""Correlation tables against scipy, and their known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as ss

from zcnas.analysis import TaskData
from zcnas.analysis import correlation as C
from zcnas.exceptions import ZcnasError


def test_statistics_equal_scipy(task):
    df = C.correlations(task).set_index("proxy")
    for j, p in enumerate(task.proxies):
        x = task.scores[:, j]
        assert df.loc[p, "spearman"] == pytest.approx(ss.spearmanr(x, task.truth)[0], abs=1e-12)
        assert df.loc[p, "kendall"] == pytest.approx(ss.kendalltau(x, task.truth)[0], abs=1e-12)
        assert df.loc[p, "pearson"] == pytest.approx(ss.pearsonr(x, task.truth)[0], abs=1e-12)


def test_top_k_statistics_against_numpy_reference(task):
    df = C.correlations(task, top=0.1).set_index("proxy")
    k = int(np.ceil(0.1 * task.n))
    true_top = set(np.argsort(-task.truth, kind="stable")[:k])
    top_rows = np.argsort(-task.truth, kind="stable")[:k]
    for j, p in enumerate(task.proxies):
        pred_top = set(np.argsort(-task.scores[:, j], kind="stable")[:k])
        assert df.loc[p, "top_k_precision"] == pytest.approx(len(true_top & pred_top) / k)
        ref = ss.kendalltau(task.scores[top_rows, j], task.truth[top_rows])[0]
        assert df.loc[p, "kendall_top"] == pytest.approx(ref, abs=1e-12)


def test_proxy_equal_to_accuracy_is_perfect(task):
    df = C.correlations(task).set_index("proxy")
    assert df.loc["exact", list(C.METRICS)].tolist() == pytest.approx([1.0] * 5)
    assert df.loc["anti", ["spearman", "kendall", "pearson"]].tolist() == pytest.approx([-1.0] * 3)


def test_bootstrap_interval_brackets_the_estimate_and_shrinks_with_n(synth):
    small = C.correlations(synth(100), bootstrap=200, seed=1).set_index("proxy")
    big = C.correlations(synth(2000), bootstrap=200, seed=1).set_index("proxy")
    for df in (small, big):
        assert (df.spearman_lo <= df.spearman + 1e-12).all()
        assert (df.spearman <= df.spearman_hi + 1e-12).all()
    width = lambda d: d.loc["noisy", "spearman_hi"] - d.loc["noisy", "spearman_lo"]  # noqa: E731
    assert width(big) < width(small)
    assert small.loc["exact", "spearman_lo"] == pytest.approx(1.0)


def test_heatmap_orders_rows_and_columns_by_mean(synth):
    tab = C.correlation_table([synth(seed=0, task="a"), synth(seed=1, task="b")])
    hm = C.heatmap_frame(tab, "spearman")
    assert list(hm.index) == list(hm.mean(axis=1).sort_values().index)
    assert hm.index[-1] == "exact" and hm.index[0] == "anti"
    assert np.all(np.diff(hm.mean(axis=0).to_numpy()) >= 0)


def test_report_spearman_table_is_best_first(synth, tmp_path):
    """`zcnas analyze`'s report lists proxies by mean Spearman (scipy), the best first; the
    heat-map figure keeps Suite-Zero's ascending order."""
    from zcnas.analysis.report import AnalysisConfig, run_analysis, write_report

    tasks = [synth(seed=0, task="a"), synth(seed=1, task="b")]
    res = run_analysis(tasks, AnalysisConfig(steps=("correlation",), bootstrap=0))
    text = write_report(res, tmp_path / "rep").read_text()
    section = text.split("## Spearman rank correlation", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("| ") and "---" not in ln]
    listed = [ln.split("|")[1].strip() for ln in rows[1:]]  # rows[0] is the header
    mean = {
        p: np.mean([ss.spearmanr(t.column(p), t.truth)[0] for t in tasks]) for p in tasks[0].proxies
    }
    assert listed == sorted(mean, key=mean.get, reverse=True)
    assert listed[0] == "exact" and listed[-1] == "anti"
    assert list(res.tables["spearman"].index) == listed
    assert list(C.heatmap_frame(res.tables["correlations"]).index) == listed[::-1]


def test_proxy_correlation_matrix_equals_scipy(task):
    m = C.proxy_correlation(task, "spearman")
    ref = ss.spearmanr(np.column_stack([task.scores, task.truth])).statistic
    np.testing.assert_allclose(m.to_numpy(), ref, atol=1e-12)
    assert list(m.index) == [*task.proxies, "gt"]


def test_mean_proxy_correlation_averages_over_tasks_holding_the_pair(synth):
    a, b = synth(seed=0, task="a"), synth(seed=1, task="b")
    b = b.select(["exact", "noisy", "random"])
    mean = C.mean_proxy_correlation([a, b])
    ma, mb = C.proxy_correlation(a), C.proxy_correlation(b)
    assert mean.loc["noisy", "random"] == pytest.approx(
        (ma.loc["noisy", "random"] + mb.loc["noisy", "random"]) / 2
    )
    assert mean.loc["anti", "noisy"] == pytest.approx(ma.loc["anti", "noisy"])


def test_benchmark_similarity_is_pearson_of_spearman_vectors(synth):
    tasks = [synth(seed=s, task=f"t{s}") for s in range(3)]
    tab = C.correlation_table(tasks)
    sim = C.benchmark_similarity(tab)
    wide = tab.pivot(index="proxy", columns="task", values="spearman")
    ref = np.corrcoef(wide.to_numpy().T)
    np.testing.assert_allclose(sim.loc[wide.columns, wide.columns].to_numpy(), ref, atol=1e-10)


def test_bad_arguments_raise(task):
    with pytest.raises(ZcnasError, match="top"):
        C.correlations(task, top=0.0)
    with pytest.raises(ZcnasError, match="bootstrap"):
        C.correlations(task, bootstrap=-1)
    with pytest.raises(ZcnasError, match="column"):
        C.heatmap_frame(pd.DataFrame({"task": [], "proxy": []}), "spearman")
    with pytest.raises(ZcnasError, match="finite"):
        TaskData("s", "t", ["0", "1", "2"], ["p"], [[1.0], [np.nan], [2.0]], [1, 2, 3])


def test_best_ranking_at_k_against_a_direct_definition(synth):
    t = synth(n=300, seed=4)
    df = C.best_ranking_at_k([t], ks=(1, 5, 25)).set_index("proxy")
    true_rank = ss.rankdata(-t.truth) - 1  # 0 = best
    for j, p in enumerate(t.proxies):
        for k in (1, 5, 25):
            top = np.argsort(-t.scores[:, j], kind="stable")[:k]
            assert df.loc[p, f"best_ranking@{k}"] == pytest.approx(true_rank[top].min() / t.n)
    assert (
        df.loc["exact", ["best_ranking@1", "best_ranking@5", "best_ranking@25"]].tolist()
        == [0.0] * 3
    )  # its top 1 is the best architecture
    # the anti-proxy's top k are the k worst: the best of them has rank n - k
    assert df.loc["anti", "best_ranking@25"] == pytest.approx((t.n - 25) / t.n)
    with pytest.raises(ZcnasError, match="ks"):
        C.best_ranking_at_k([t], ks=(0,))


def test_a_task_too_small_for_the_top_tenth_gets_nan_there_not_an_error():
    """5 architectures: the top 10% holds one, so kendall_top is NaN; the rest is scipy's."""
    rng = np.random.default_rng(3)
    truth = np.arange(5.0)
    scores = rng.normal(size=(5, 2))
    df = C.correlations(TaskData.from_arrays(scores, truth, clean=False), bootstrap=5)
    assert df["kendall_top"].isna().all() and df["kendall_top_lo"].isna().all()
    for j in range(2):
        assert df["spearman"][j] == pytest.approx(ss.spearmanr(scores[:, j], truth)[0])
    big = C.correlations(TaskData.from_arrays(rng.normal(size=(20, 2)), np.arange(20.0)))
    assert big["kendall_top"].notna().all()  # 20 x 10% = 2 architectures: defined


def test_report_into_a_used_folder_drops_the_earlier_reports_files(synth, tmp_path):
    """A second `zcnas analyze --out DIR` with fewer tasks leaves none of the first run's
    tables or figures in DIR (they would pass for results of the new run), and keeps files
    zcnas did not write."""
    from zcnas.analysis.report import AnalysisConfig, run_analysis, write_report

    out = tmp_path / "rep"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    cfg = AnalysisConfig(steps=("correlation",), bootstrap=0)
    tasks = [synth(seed=0, task="a"), synth(seed=1, task="b")]
    write_report(run_analysis(tasks, cfg), out)
    first = {p.name for p in out.iterdir()}
    assert {"report.md", "correlations.csv", "spearman_heatmap.png"} <= first
    listed = set((out / "report_files.txt").read_text().split())
    assert listed == first - {"notes.txt", "report_files.txt"}

    (out / "correlations.csv").unlink()  # a listed file already gone is no error
    write_report(run_analysis(tasks[:1], AnalysisConfig(steps=(), bootstrap=0)), out)
    second = {p.name for p in out.iterdir()}
    assert "spearman_heatmap.png" not in second and "correlations.csv" not in second
    assert {"report.md", "notes.txt", "report_files.txt"} <= second
    assert (out / "notes.txt").read_text() == "mine"
    assert set((out / "report_files.txt").read_text().split()) == second - {
        "notes.txt",
        "report_files.txt",
    }
