"""The whole analysis of a set of tasks as a folder: ``report.md`` with tables, PNG figures
and one CSV per table (what ``zcnas analyze`` writes).

:func:`run_analysis` returns every table as a DataFrame in an :class:`AnalysisResult`, so the
same numbers are usable from Python; :func:`write_report` writes the folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zcnas.analysis import bias as _bias
from zcnas.analysis import correlation as _corr
from zcnas.analysis import ensembles as _ens
from zcnas.analysis import information as _info
from zcnas.analysis import profiles as _prof
from zcnas.analysis import surrogate as _sur
from zcnas.analysis.data import TaskData
from zcnas.exceptions import ZcnasError

__all__ = ["AnalysisConfig", "AnalysisResult", "markdown_table", "run_analysis", "write_report"]


@dataclass
class AnalysisConfig:
    """Settings of :func:`run_analysis` (defaults = the papers' protocols).

    Attributes:
        bootstrap: Bootstrap resamples for correlation confidence intervals.
        top: Top fraction for top-k precision and top-k Kendall.
        entropy_sample: Architectures sampled for the entropy analysis (paper: 1000).
        entropy_random: Random orderings averaged (paper: 100).
        entropy_strategies: Discretisations run (``sturges`` = the paper's, ``percentile``).
        surrogate_trials: Trials of the surrogate experiment (paper: 100).
        surrogate_train: Training architectures (paper: 100).
        surrogate_test: Disjoint test architectures (paper: 1000; fewer when a task is small).
        ablation_trials: Trials of the proxy-count ablation and feature importances.
        surrogate_rounds: Boosting rounds of every surrogate fit.
        ensemble_search: ``greedy`` or ``exhaustive``.
        seed: Seed of every random choice.
        steps: Which analyses to run (subset of :data:`STEPS`).
        workers: Processes for the information, bias and surrogate steps (``1``: all in this
            process; ``None``: one per usable CPU): tasks, and surrogate trials, are spread
            over a :func:`zcnas.analysis.surrogate.process_pool`. Every table is identical
            for any value (same functions, same seeds, results gathered in order). The
            workers are spawned: a script must guard its entry point with
            ``if __name__ == "__main__":`` (a :class:`~zcnas.exceptions.ZcnasError` says so).
    """

    bootstrap: int = 100
    top: float = 0.1
    entropy_sample: int = 1000
    entropy_random: int = 100
    entropy_strategies: tuple[str, ...] = ("sturges", "percentile")
    surrogate_trials: int = 100
    surrogate_train: int = 100
    surrogate_test: int = 1000
    ablation_trials: int = 10
    surrogate_rounds: int = _sur.DEFAULT_ROUNDS
    ensemble_search: str = "greedy"
    seed: int = 0
    steps: tuple[str, ...] = (
        "correlation",
        "profiles",
        "similarity",
        "information",
        "bias",
        "surrogate",
        "ensembles",
    )
    workers: int | None = 1


STEPS = AnalysisConfig().steps


@dataclass
class AnalysisResult:
    """Every table of a run (DataFrames keyed by name), its timings and the figures written."""

    tasks: list[TaskData]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


def markdown_table(df: pd.DataFrame, *, digits: int = 3, index: bool = True) -> str:
    """A GitHub Markdown table of a DataFrame (floats rounded, NaN as an empty cell).

    >>> print(markdown_table(pd.DataFrame({"a": [0.5]}, index=["x"])))
    |  | a |
    |---|---|
    | x | 0.500 |
    >>> print(markdown_table(pd.DataFrame({"n": [562], "rho": [0.25]}), index=False))
    | n | rho |
    |---|---|
    | 562 | 0.250 |
    """

    def fmt(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "" if not np.isfinite(v) else f"{v:.{digits}f}"
        return str(v).replace("|", "\\|")

    cols = [str(c) for c in df.columns]
    head = ([str(df.index.name or "")] if index else []) + cols
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    # itertuples keeps each column's dtype (iterrows would print an int column as 562.000)
    for idx, *row in df.itertuples(index=True, name=None):
        cells = ([fmt(idx)] if index else []) + [fmt(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _timed(res: AnalysisResult, name: str, fn: Callable[[], Any], log: Callable[[str], None]):
    t0 = time.perf_counter()
    out = fn()
    res.timings[name] = time.perf_counter() - t0
    log(f"{name}: {res.timings[name]:.1f} s")
    return out


def run_analysis(
    tasks: Sequence[TaskData],
    config: AnalysisConfig | None = None,
    *,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> AnalysisResult:
    """Run the analyses of :class:`AnalysisConfig` ``steps`` on tasks; no files written.

    Tables (keys of ``result.tables``): ``tasks``, ``correlations`` (long, with CIs),
    ``spearman`` (proxy x task, the best mean first), ``best_ranking`` (BestRanking@5/25/100,
    lower = better), ``average_ranks``, ``profile``, ``proxy_correlation``,
    ``benchmark_similarity``, ``entropy_curves`` (+ ``entropy_curves_percentile``;
    ``entropy_curves_top1000[...]`` on the 1,000 best architectures of tasks with more),
    ``information_gain`` (pairwise, long), ``bias``, ``debias``, ``surrogate`` (per trial),
    ``surrogate_summary``, ``importance``, ``ablation``, ``ensembles``, ``best_ensembles``.
    """
    cfg = config or AnalysisConfig()
    unknown = set(cfg.steps) - set(STEPS)
    if unknown:
        raise ZcnasError(f"unknown analysis step(s) {sorted(unknown)}; choose from {STEPS}")
    if not tasks:
        raise ZcnasError("no tasks to analyse")
    log = log or (lambda s: None)
    n_workers = _sur.usable_cpus() if cfg.workers is None else cfg.workers
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ZcnasError(f"workers must be a positive integer or None, got {cfg.workers!r}")
    if n_workers > 1 and set(cfg.steps) & {"information", "bias", "surrogate"}:
        from concurrent.futures.process import BrokenProcessPool

        try:
            with _sur.process_pool(n_workers) as pool:
                return _run(tasks, cfg, pool, progress, log)
        except BrokenProcessPool as e:
            raise ZcnasError(
                "a worker process of the analysis pool died (its error is printed above). A "
                "script that runs the analysis with workers > 1 must guard its entry point with "
                "`if __name__ == '__main__':` (workers are spawned), or use workers=1"
            ) from e
    return _run(tasks, cfg, None, progress, log)


def _imap(pool: Executor | None, fn: Callable[[Any], Any], jobs: list[Any]) -> Iterator[Any]:
    """``fn`` over ``jobs``, lazily, in ``pool`` when given; results in job order."""
    return map(fn, jobs) if pool is None else pool.map(fn, jobs)


def _info_job(job: tuple[Any, ...]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Entropy curves, pairwise information (long) and top-1000 curves of one task."""
    t, strat, n_sample, n_random, seed = job
    c = _info.entropy_curves(t, strategy=strat, n_sample=n_sample, n_random=n_random, seed=seed)
    h, g = _info.pairwise_information(t, strategy=strat, n_sample=n_sample, seed=seed)
    long = g.stack().rename("gain").reset_index()
    long.columns = ["known", "added", "gain"]
    long["entropy_pair"] = h.stack().to_numpy()
    long.insert(0, "task", t.label)
    top = None
    if t.n > 1000:  # Suite-Zero Figure 16 (bottom): the 1,000 best architectures only
        top = _info.entropy_curves(
            t, strategy=strat, n_sample=None, n_random=n_random, max_exhaustive=0, seed=seed,
            top=1000,
        )  # fmt: skip
    return c, long, top


def _bias_job(t: TaskData) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Bias table (long) and de-biasing table of one task (``None`` without bias metrics)."""
    b = _bias.bias_table(t)
    if not b.shape[1]:
        return None, None
    return b.reset_index().assign(task=t.label), _bias.debias_table(t)


def _run(
    tasks: Sequence[TaskData],
    cfg: AnalysisConfig,
    pool: Executor | None,
    progress: bool,
    log: Callable[[str], None],
) -> AnalysisResult:
    from zcnas.analysis._progress import iterate

    res = AnalysisResult(list(tasks))
    res.tables["tasks"] = pd.DataFrame(
        [
            {
                "task": t.label,
                "space": t.space,
                "dataset": t.task,
                "flavor": t.flavor,
                "metric": t.metric,
                "n_archs": t.n,
                "n_proxies": len(t.proxies),
                "dropped_proxies": ",".join(map(str, t.dropped.get("proxies", []))),
                "dropped_archs": t.dropped.get("archs", 0),
            }
            for t in tasks
        ]
    ).set_index("task")
    steps = set(cfg.steps)
    need_corr = steps & {"correlation", "profiles", "similarity"}
    if need_corr:
        corr = _timed(
            res,
            "correlation",
            lambda: _corr.correlation_table(
                tasks,
                top=cfg.top,
                bootstrap=cfg.bootstrap if "correlation" in steps else 0,
                seed=cfg.seed,
                progress=progress,
            ),
            log,
        )
        res.tables["correlations"] = corr
        res.tables["spearman"] = _corr.heatmap_frame(corr, "spearman", best_first=True)
        res.tables["best_ranking"] = _corr.best_ranking_at_k(tasks)
    if "profiles" in steps:

        def prof() -> None:
            corr = res.tables["correlations"]
            res.tables["average_ranks"] = _prof.average_ranks(corr)
            res.tables["profile"] = _prof.performance_profile(corr)
            per = {}
            for sp, g in corr.groupby("space"):
                if g.task.nunique() > 1:
                    per[sp] = _prof.performance_profile(g)
            res.figures["_profiles_by_space"] = per

        _timed(res, "profiles", prof, log)
    if "similarity" in steps:

        def sim() -> None:
            res.tables["proxy_correlation"] = _corr.mean_proxy_correlation(tasks)
            res.tables["benchmark_similarity"] = _corr.benchmark_similarity(
                res.tables["correlations"]
            )

        _timed(res, "similarity", sim, log)
    if "information" in steps:

        def info() -> None:
            for strat in cfg.entropy_strategies:
                jobs = [(t, strat, cfg.entropy_sample, cfg.entropy_random, cfg.seed) for t in tasks]
                out = list(iterate(_imap(pool, _info_job, jobs), f"entropy ({strat})", progress))
                suffix = "" if strat == "sturges" else f"_{strat}"
                res.tables[f"entropy_curves{suffix}"] = pd.concat(
                    [c for c, _, _ in out], ignore_index=True
                )
                top = [t for _, _, t in out if t is not None]  # the 1,000 best archs only
                if top:
                    res.tables[f"entropy_curves_top1000{suffix}"] = pd.concat(
                        top, ignore_index=True
                    )
                res.tables[f"information_gain{suffix}"] = pd.concat(
                    [g for _, g, _ in out], ignore_index=True
                )

        _timed(res, "information", info, log)
    if "bias" in steps:

        def bias() -> None:
            out = list(iterate(_imap(pool, _bias_job, list(tasks)), "bias", progress))
            tabs = [b for b, _ in out if b is not None]
            deb = [d for _, d in out if d is not None and len(d)]
            res.tables["bias"] = pd.concat(tabs, ignore_index=True) if tabs else pd.DataFrame()
            res.tables["debias"] = pd.concat(deb, ignore_index=True) if deb else pd.DataFrame()

        _timed(res, "bias", bias, log)
    if "surrogate" in steps:

        def sur() -> None:
            trials, imps, abls = [], [], []
            big = _large_enough(
                tasks,
                lambda n: n > cfg.surrogate_train + 10,
                f"surrogate: {{}} skipped ({{}} architectures; a surrogate needs more than "
                f"--train {cfg.surrogate_train} + 10)",
                log,
            )
            for t in iterate(big, "surrogates", progress):
                trials.append(
                    _sur.surrogate_trials(
                        t,
                        n_train=cfg.surrogate_train,
                        n_test=cfg.surrogate_test,
                        trials=cfg.surrogate_trials,
                        seed=cfg.seed,
                        rounds=cfg.surrogate_rounds,
                        pool=pool,
                    )
                )
                imps.append(
                    _sur.proxy_importance(
                        t,
                        n_train=cfg.surrogate_train,
                        trials=cfg.ablation_trials,
                        seed=cfg.seed,
                        rounds=cfg.surrogate_rounds,
                        pool=pool,
                    ).rename(t.label)
                )
                order = _greedy_order(res, t)
                abls.append(
                    _sur.proxy_ablation(
                        t,
                        order,
                        n_train=cfg.surrogate_train,
                        n_test=cfg.surrogate_test,
                        trials=cfg.ablation_trials,
                        seed=cfg.seed,
                        rounds=cfg.surrogate_rounds,
                        pool=pool,
                    )
                )
            if not trials:
                return
            df = pd.concat(trials, ignore_index=True)
            res.tables["surrogate"] = df
            summ = df.groupby(["task", "features"], sort=False).spearman.agg(["mean", "std"])
            summ = summ.reset_index()
            summ["n_test"] = df.groupby(["task", "features"], sort=False).n_test.first().to_numpy()
            res.tables["surrogate_summary"] = summ
            res.tables["importance"] = pd.concat(imps, axis=1).T
            res.tables["ablation"] = pd.concat(abls, ignore_index=True)

        _timed(res, "surrogate", sur, log)
    if "ensembles" in steps:

        def ens() -> None:
            big = _large_enough(
                tasks,
                _ens.splittable,
                "ensembles: {} skipped ({} architectures; choosing on one half and scoring on "
                "the other needs at least 3 in each)",
                log,
            )
            frames = [
                _ens.evaluate_ensembles(
                    t,
                    search=cfg.ensemble_search,
                    surrogate_train=cfg.surrogate_train,
                    seed=cfg.seed,
                )
                for t in iterate(big, "ensembles", progress)
            ]
            if not frames:
                return
            res.tables["ensembles"] = pd.concat(frames, ignore_index=True)
            res.tables["best_ensembles"] = _ens.best_ensembles(res.tables["ensembles"])

        _timed(res, "ensembles", ens, log)
    res.timings["total"] = sum(v for k, v in res.timings.items() if k != "total")
    return res


def _large_enough(
    tasks: Sequence[TaskData],
    ok: Callable[[int], bool],
    skip: str,
    log: Callable[[str], None],
) -> list[TaskData]:
    """The tasks whose architecture count ``ok`` accepts; each other one is logged with
    ``skip.format(label, n)``."""
    kept = []
    for t in tasks:
        if ok(t.n):
            kept.append(t)
        else:
            log(skip.format(t.label, t.n))
    return kept


def _first_names(names: list[str], width: int) -> str:
    """``a > b > c`` with as many whole names as fit in ``width`` characters (then ``> ...``);
    the full order is in ``entropy_curves.csv``.

    >>> _first_names(["a", "bb", "ccc"], 80)
    'a > bb > ccc'
    >>> _first_names(["synflow", "nwot", "flops"], 20)
    'synflow > nwot > ...'
    """
    out = ""
    for i, n in enumerate(names):
        nxt = n if not out else f"{out} > {n}"
        if len(nxt) > width - (6 if i < len(names) - 1 else 0):
            return f"{out} > ..." if out else f"{n[: width - 3]}..."
        out = nxt
    return out


def _greedy_order(res: AnalysisResult, task: TaskData) -> list[str]:
    curves = res.tables.get("entropy_curves")
    if curves is not None:
        c = curves[curves.task == task.label]
        order = [p for p in c.greedy_proxy if p]
        if len(order) == len(task.proxies):
            return order
    c = _info.entropy_curves(task, n_random=0, max_exhaustive=0)
    return [p for p in c.greedy_proxy if p]


def _label(method: str, members: str) -> str:
    return members if method == "-" else f"{method}({members})"


def _bias_summary(tab: pd.DataFrame) -> pd.DataFrame:
    metrics = [c for c in _bias.BIASES if c in tab.columns]
    rows = {}
    for task, g in tab.groupby("task", sort=False):
        g = g.set_index("proxy")
        rec = {}
        for m in metrics:
            col = g[m].drop(index="gt")
            if m == "num_params":
                col = col.drop(index=[p for p in ("params", "flops") if p in col.index])
            col = col.dropna()
            if col.empty:
                continue
            p = col.abs().idxmax()
            rec[m] = f"{p} {col[p]:+.2f}"
            rec[f"gt {m}"] = f"{g.loc['gt', m]:+.2f}"
        rows[task] = rec
    out = pd.DataFrame(rows).T
    out.index.name = "task"
    return out.fillna("")


def _fig(res: AnalysisResult, out: Path, name: str, fig: Any) -> str:
    from zcnas.analysis.plots import save

    path = save(fig, out / f"{name}.png")
    res.figures[name] = path
    return path.name


def write_report(
    res: AnalysisResult,
    out_dir: str | os.PathLike[str],
    *,
    title: str = "zcnas analysis",
    progress: bool = False,
) -> Path:
    """Write ``report.md``, one CSV per table and the PNG figures into ``out_dir``.

    The names written are listed in ``out_dir/report_files.txt``. A later report into the same
    folder first deletes the files that list names, so no table or figure of an earlier run
    (another task set, a step left out) is left beside the new report; files zcnas did not
    write are never touched.

    Returns:
        The path of ``report.md``.

    Raises:
        ZcnasError: The folder cannot be created, or a file of the earlier report cannot be
            deleted.
    """
    from zcnas.analysis import plots

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ZcnasError(f"cannot create report folder {out}: {e}") from None
    _remove_earlier_report(out)
    t0 = time.perf_counter()
    for name, df in res.tables.items():
        if len(df):
            df.to_csv(out / f"{name}.csv", index=not isinstance(df.index, pd.RangeIndex))
    T = res.tables
    md = [f"# {title}", ""]
    md += [
        "Scores are higher = better; every rank statistic is computed by zcnas' Rust core.",
        "CSV files beside this report hold every table in full.",
        "",
    ]
    md += ["## Tasks", "", markdown_table(T["tasks"]), ""]
    if "spearman" in T:
        hm = _corr.heatmap_frame(T["correlations"], "spearman")  # Suite-Zero's order
        fig = plots.heatmap(hm, "Spearman: proxy vs ground truth")
        md += [
            "## Spearman rank correlation (proxy x task; best mean first)",
            "",
            f"![spearman]({_fig(res, out, 'spearman_heatmap', fig)})",
            "",
            markdown_table(T["spearman"], digits=2),
            "",
        ]
        for m in ("kendall", "pearson", "top_k_precision", "kendall_top"):
            hm = _corr.heatmap_frame(T["correlations"], m)
            _fig(res, out, f"{m}_heatmap", plots.heatmap(hm, m, vmin=-1 if "prec" not in m else 0))
        md += [
            "Kendall, Pearson, top-10% precision and top-10% Kendall heat maps: "
            "`kendall_heatmap.png`, `pearson_heatmap.png`, `top_k_precision_heatmap.png`, "
            "`kendall_top_heatmap.png`; bootstrap 95% intervals in `correlations.csv`.",
            "",
        ]
    if "average_ranks" in T:
        fig = plots.profile_plot(T["profile"], "Performance profile, all tasks")
        md += [
            "## Average rank (1 = best; proxies present on every task)",
            "",
            markdown_table(T["average_ranks"], digits=2),
            "",
            f"![profile]({_fig(res, out, 'performance_profile', fig)})",
            "",
        ]
        for sp, prof in res.figures.pop("_profiles_by_space", {}).items():
            _fig(res, out, f"performance_profile_{sp}", plots.profile_plot(prof, sp))
    if "proxy_correlation" in T:
        fig_pp = plots.heatmap(T["proxy_correlation"], "mean proxy-vs-proxy Spearman")
        fig_bs = plots.heatmap(T["benchmark_similarity"], "benchmark similarity", annotate=False)
        md += [
            "## Proxy-vs-proxy Spearman, averaged over tasks",
            "",
            f"![pp]({_fig(res, out, 'proxy_correlation', fig_pp)})",
            "",
            "## Benchmark similarity (Pearson of per-proxy Spearman vectors)",
            "",
            f"![bs]({_fig(res, out, 'benchmark_similarity', fig_bs)})",
            "",
        ]
    if "entropy_curves" in T:
        c = T["entropy_curves"]
        rows = []
        for task, g in c.groupby("task", sort=False):
            g = g.set_index("k")
            kmax = int(g.index.max())
            rows.append(
                {
                    "task": task,
                    "H(y)": g.greedy[0],
                    "greedy k=1": g.greedy[1],
                    "greedy k=2": g.greedy[min(2, kmax)],
                    "greedy k=3": g.greedy[min(3, kmax)],
                    "all": g.greedy[kmax],
                    "random k=3": g.random[min(3, kmax)],
                    "greedy order": _first_names([p for p in g.greedy_proxy if p], 80),
                }
            )
            _fig(res, out, f"entropy_{task}", plots.entropy_curve_plot(g.reset_index(), task))
        md += [
            "## Conditional entropy H(y | z_1..z_k) (bits, paper's bin rule)",
            "",
            markdown_table(pd.DataFrame(rows).set_index("task")),
            "",
            "Figures `entropy_<task>.png`; pairwise H and information gain in "
            "`information_gain.csv`; the percentile-bin variant in `*_percentile.csv`.",
            "",
        ]
        ig = T["information_gain"]
        first = ig.task.iloc[0]
        g = ig[ig.task == first].pivot(index="known", columns="added", values="gain")
        _fig(
            res,
            out,
            f"information_gain_{first}",
            plots.heatmap(
                g, f"IG {first}", vmin=0, vmax=float(np.nanmax(g.to_numpy())), cmap="viridis"
            ),
        )
    if "bias" in T and len(T["bias"]):
        md += [
            "## Bias (Pearson of proxy with bias metric)",
            "",
            "Most biased proxy per task and metric (largest |r|, params/flops excluded "
            "for num_params), and the ground truth's own bias (`gt`). Full table: "
            "`bias.csv`.",
            "",
            markdown_table(_bias_summary(T["bias"])),
            "",
        ]
        if len(T.get("debias", [])):
            md += ["### De-biasing f / (b + C)", "", markdown_table(T["debias"], index=False), ""]
    if "surrogate_summary" in T:
        s = T["surrogate_summary"]
        wide = s.pivot(index="task", columns="features", values="mean")
        std = s.pivot(index="task", columns="features", values="std")
        for c in list(wide.columns):
            wide[f"{c} std"] = std[c]
        wide["n_test"] = s.groupby("task").n_test.first()
        n_trials = int(T["surrogate"].trial.nunique())
        md += [
            f"## Surrogate (LightGBM): Spearman on test archs, {n_trials} trials",
            "",
            markdown_table(wide),
            "",
            f"![sur]({_fig(res, out, 'surrogate', plots.surrogate_plot(s, 'surrogate Spearman'))})",
            "",
            "Feature importances (split counts, max = 1):",
            "",
            markdown_table(T["importance"], digits=2),
            "",
        ]
    if "best_ensembles" in T:
        md += [
            "## Best ensemble vs best single proxy (chosen on one half, scored on the other)",
            "",
            markdown_table(T["best_ensembles"], index=False),
            "",
        ]
        ens = T["ensembles"]
        for task in ens.task.unique()[: len(res.tasks)]:
            t = next(x for x in res.tasks if x.label == task)
            b = T["best_ensembles"].set_index("task").loc[task]
            members = b.ensemble.split("+")
            score = (
                t.column(members[0])
                if len(members) == 1
                else _ens.aggregate_proxies(t, members, b.method)
            )
            _fig(
                res,
                out,
                f"rank_scatter_{task}",
                plots.rank_scatter(score, t.truth, _label(b.method, b.ensemble), task),
            )
    md += [
        "## Runtime",
        "",
        markdown_table(pd.DataFrame({"seconds": res.timings}).rename_axis("step")),
        "",
    ]
    res.timings["figures_and_files"] = time.perf_counter() - t0
    path = out / "report.md"
    path.write_text("\n".join(md) + "\n", encoding="utf-8")
    written = [f"{n}.csv" for n, df in res.tables.items() if len(df)]
    figures = [Path(f) for f in res.figures.values() if isinstance(f, (str, os.PathLike))]
    written += [f.name for f in figures if f.parent == out] + [path.name]
    (out / _MANIFEST).write_text("\n".join(sorted(set(written))) + "\n", encoding="utf-8")
    return path


_MANIFEST = "report_files.txt"


def _remove_earlier_report(out: Path) -> None:
    """Delete the files an earlier :func:`write_report` listed in ``out/report_files.txt``
    (plain names inside ``out`` only; a name with a path separator is ignored)."""
    manifest = out / _MANIFEST
    if not manifest.is_file():
        return
    for name in manifest.read_text(encoding="utf-8", errors="replace").splitlines():
        name = name.strip()
        if not name or name in (".", "..") or "/" in name or os.sep in name:
            continue
        f = out / name
        try:
            if f.is_file() and not f.is_symlink():
                f.unlink()
        except OSError as e:
            raise ZcnasError(f"cannot delete {f} of the earlier report in {out}: {e}") from None
    manifest.unlink(missing_ok=True)
