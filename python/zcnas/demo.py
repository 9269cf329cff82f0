"""``zcnas demo``: what zcnas can do today, on the embedded real benchmark data.

1. NAS-Bench-201 ground truth: the best architecture on each dataset, a query by arch string
   and NASLib encoding, and the benchmark network built by zcnas with the table's params.
2. How well model size (params, FLOPs) ranks test accuracy on all 15,625 architectures.
3. NAS-Bench-Suite-Zero's 13 precomputed proxies on 9,445 architectures, their rank
   correlations in one batched call, and rank-aggregated ensembles of them.
4. An analysis of ``zcnas.analysis``: how much a greedy choice of k proxies tells about
   accuracy (conditional entropy, NAS-Bench-Suite-Zero Figure 4), as a table and a PNG figure
   written to ``zcnas_demo/`` (or ``$ZCNAS_DEMO_DIR``, or ``run(out_dir=...)``).
5. Live: a few NB201 networks built and scored by zcnas's proxy engine on the packaged real
   CIFAR-10 images, and the rank correlation of each proxy with the embedded ground truth.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from zcnas import rankagg, stats
from zcnas._outputs import cli_console
from zcnas.bench import load_nb201, load_suite_zero_nb201
from zcnas.bench.nb201 import DATASETS

#: An a-priori mix of proxy families (expressivity, gradient saliency, complexity), in the
#: spirit of AZ-NAS: chosen before looking at the correlations, not by them.
ENSEMBLE = ("nwot", "synflow", "flops")


def _fmt(v: float) -> str:
    return "nan" if np.isnan(v) else f"{v:+.3f}"


def _size_table(console: Console) -> None:
    t = load_nb201()
    table = Table(
        title="How well does model size rank NB201 test accuracy? (all 15,625 architectures)"
    )
    for col in ("dataset", "proxy", "Kendall τ", "Spearman ρ", "τ top-10%", "top-1% prec."):
        table.add_column(col, justify="right" if col != "dataset" else "left")
    for d in DATASETS:
        acc = t.test_accuracy(d)
        for proxy in ("params", "flops"):
            s = t[f"{proxy}_M_{d}"]
            table.add_row(
                d,
                proxy,
                _fmt(stats.kendall_tau(s, acc)),
                _fmt(stats.spearman(s, acc)),
                _fmt(stats.kendall_tau_top(s, acc, top=0.1)),
                f"{stats.top_k_precision(s, acc, top=0.01):.3f}",
            )
    console.print(table)


def _suite_zero_table(console: Console, task: str) -> None:
    sz = load_suite_zero_nb201(task)
    scores, acc = sz.scores, sz.val_acc
    t0 = time.perf_counter()
    taus = stats.kendall_tau_batch(scores.T, acc)
    rhos = stats.spearman_batch(scores.T, acc)
    elapsed = time.perf_counter() - t0
    table = Table(
        title=f"NAS-Bench-Suite-Zero proxies on NB201 {task} "
        f"({len(acc):,} archs, NASLib scores, validation accuracy)"
    )
    for col in ("proxy", "Kendall τ", "Spearman ρ", "τ top-10%"):
        table.add_column(col, justify="right" if col != "proxy" else "left")
    for j in np.argsort(-rhos):
        table.add_row(
            sz.proxies[j],
            _fmt(taus[j]),
            _fmt(rhos[j]),
            _fmt(stats.kendall_tau_top(scores[:, j], acc, top=0.1)),
        )
    members = [sz.proxies.index(p) for p in ENSEMBLE]
    for label, cols in (("all 13", list(range(len(sz.proxies)))), ("+".join(ENSEMBLE), members)):
        for method in ("linear", "nonlinear", "majority"):
            agg = rankagg.aggregate(scores[:, cols], method=method)
            table.add_row(
                f"[bold]{method}({label})[/bold]",
                _fmt(stats.kendall_tau(agg, acc)),
                _fmt(stats.spearman(agg, acc)),
                _fmt(stats.kendall_tau_top(agg, acc, top=0.1)),
            )
    console.print(table)
    console.print(
        f"26 rank correlations over {len(acc):,} architectures in {elapsed * 1e3:.1f} ms "
        "(zcnas batched Rust kernels; all proxies and aggregates: higher = better)."
    )


def _query_and_build(console: Console) -> None:
    from zcnas.spaces import nb201

    t = load_nb201()
    resnet = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    q = t.query(resnet, "cifar10")
    same = t.query(nb201.str_to_naslib(resnet), "cifar10")["index"] == q["index"]
    model = nb201.build(resnet, num_classes=10)
    n_params = sum(p.numel() for p in model.parameters()) / 1e6
    console.print(
        f"ResNet-like cell = index {q['index']} (NASLib {nb201.str_to_naslib(resnet)}, "
        f"same row: {same}): CIFAR-10 test {q['test_accuracy']:.2f}%, "
        f"params {q['params_M']:.6f} M (zcnas-built network: {n_params:.6f} M), "
        f"edge-GPU latency {q['edgegpu_latency']:.2f} ms"
    )


def _entropy_analysis(console: Console, task: str, out_dir: str | os.PathLike[str]) -> Path | None:
    """Conditional entropy of accuracy given k proxies (greedy vs random order) on the
    embedded Suite-Zero scores; prints the table and writes the figure (None without
    matplotlib, the ``analysis`` extra)."""
    from zcnas._optional import available
    from zcnas.analysis import TaskData
    from zcnas.analysis.information import entropy_curves

    sz = load_suite_zero_nb201(task)
    t = TaskData.from_arrays(
        sz.scores, sz.val_acc, proxies=list(sz.proxies), space="nasbench201", task=task
    )
    t0 = time.perf_counter()
    c = entropy_curves(t, n_sample=1000, n_random=20, max_exhaustive=0, seed=0)
    elapsed = time.perf_counter() - t0
    table = Table(
        title=f"What k proxies reveal about accuracy on NB201 {task} (conditional entropy in "
        "bits, 1,000 sampled archs, NAS-Bench-Suite-Zero's bin rule)"
    )
    for col in ("k", "proxy added (greedy)", "H greedy", "H random order (mean of 20)"):
        table.add_column(col, justify="left" if "proxy" in col else "right")
    for _, r in c.iterrows():
        table.add_row(
            str(r.k), r.greedy_proxy or "(none: H(y))", f"{r.greedy:.3f}", f"{r.random:.3f}"
        )
    console.print(table)
    if not available("matplotlib"):
        console.print(
            f"{elapsed:.1f} s; no figure: matplotlib is not installed "
            '(pip install "zcnas[analysis]")',
            markup=False,
        )
        return None
    from zcnas.analysis.plots import entropy_curve_plot, save

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = save(
        entropy_curve_plot(c, f"NB201 {task}: H(y | z_1..z_k)"), out / f"entropy_nb201_{task}.png"
    )
    console.print(f"{elapsed:.1f} s; figure written to {path}")
    return path


#: Proxies the demo computes live (one shared pass each where they can share).
LIVE_PROXIES = ("synflow", "nwot", "jacov", "snip", "params")


def _live_scores(console: Console, n_archs: int = 10) -> None:
    """Score a few NB201 networks with real proxies on the 30 packaged CIFAR-10 images."""
    import torch
    from rich.progress import track

    from zcnas import proxies
    from zcnas.datasets import cifar_batch
    from zcnas.spaces import nb201

    t = load_nb201()
    archs = [int(a) for a in nb201.sample(n_archs, rng=np.random.default_rng(0), unique_iso=True)]
    x, y = cifar_batch("cifar10")
    scores = np.empty((n_archs, len(LIVE_PROXIES)))
    t0 = time.perf_counter()
    for i, a in enumerate(track(archs, description="scoring NB201 networks", console=console)):
        torch.manual_seed(0)
        s = proxies.score(nb201.build(a), x, y, proxies=list(LIVE_PROXIES), flavor="naslib")
        scores[i] = [s[p] for p in LIVE_PROXIES]
    elapsed = time.perf_counter() - t0
    acc = t.test_accuracy("cifar10")[archs]
    table = Table(
        title=f"Live: {n_archs} NB201 networks (C=16, N=5) scored on 30 real CIFAR-10 images"
    )
    table.add_column("proxy (naslib flavor)")
    table.add_column("Kendall τ vs CIFAR-10 test acc", justify="right")
    for j, p in enumerate(LIVE_PROXIES):
        table.add_row(p, _fmt(stats.kendall_tau(scores[:, j], acc, nan_policy="omit")))
    agg = rankagg.aggregate(scores, method="nonlinear", nan_policy="lowest")
    table.add_row("[bold]nonlinear(all)[/bold]", _fmt(stats.kendall_tau(agg, acc)))
    console.print(table)
    console.print(
        f"{elapsed:.1f} s for {n_archs} networks x {len(LIVE_PROXIES)} proxies on this machine "
        "(a sample this small gives noisy τ; `zcnas score --space nb201 --sample 200` scores more)."
    )


def run(
    task: str = "cifar10",
    console: Console | None = None,
    live: bool = True,
    out_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Print the demo tables; the analysis figure goes to ``out_dir`` (default
    ``$ZCNAS_DEMO_DIR`` or ``./zcnas_demo``)."""
    console = console or cli_console()
    t = load_nb201()
    console.rule("[bold]zcnas demo[/bold]: real NAS-Bench-201 data embedded in the package")
    for d in DATASETS:
        acc = t.test_accuracy(d)
        i = int(acc.argmax())
        console.print(f"best {d:<10} test accuracy {acc[i]:.4f}% at index {i}: {t['arch_str'][i]}")
    _query_and_build(console)
    _size_table(console)
    _suite_zero_table(console, task)
    _entropy_analysis(console, task, out_dir or os.environ.get("ZCNAS_DEMO_DIR", "zcnas_demo"))
    if live:
        _live_scores(console)
