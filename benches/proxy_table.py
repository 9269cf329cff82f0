"""Every proxy vs ground truth on every space: runs ``zcnas score --store``, builds the table,
and exports / imports the scored values so that a later session resumes.

Run (from the repository root)::

    .venv/bin/python benches/proxy_table.py run macro [nb101 nb301 ...]  # resumable, in order
    .venv/bin/python benches/proxy_table.py table   # from the stores
    .venv/bin/python benches/proxy_table.py fidelity  # nb101 / nb301 live vs Suite-Zero stored
    .venv/bin/python benches/proxy_table.py export  # -> benches/results/proxy_table_scores.csv.gz
    .venv/bin/python benches/proxy_table.py import  # that file -> the stores (then run resumes)
    .venv/bin/python benches/proxy_table.py run nb101 nb301 --device cuda --workers 8  # on a GPU

Columns (``COLUMNS``): each is one ``zcnas score`` call with a fixed seed and sample, streaming
into its own store under ``--store-dir`` (default ``$ZCNAS_STORES`` or ``/work/stores``):

* ``nb201-cifar10`` / ``nb201-cifar100``: 1,000 NB201 cells sampled with seed 0, the packaged
  real images (30 CIFAR-10 / 25 CIFAR-100), ground truth the embedded test accuracy.
  ``nb201-cifar10`` reads the store ``nb201_cifar10_live.db`` (same command).
* ``macro``: 500 NAS-Bench-Macro networks (seed 0), embedded mean test accuracy.
* ``nb101``: ``--all`` (the 500 Suite-Zero cells), ground truth Suite-Zero's ``val_accuracy``
  (imported from its CSV into the same store).
* ``nb301``: ``--space darts --all`` (the 725 Suite-Zero NB301 genotypes, NASLib's C=32 8-cell
  network), Suite-Zero's ``val_accuracy``.
* ``darts1000``: the 1,000 genotypes of ``darts/darts_1000_cifar10.csv`` (644 with ``none``
  edges), ``--space darts-c3``: the SWAP paper's network (its ``Network(3, 10, 1, genotype)``:
  ``darts.build(g, C=3, layers=1, stem=False)``, one reduction cell reading the image), with
  SWAP's 16 images (``--batch-size 16``, the first 16 packaged CIFAR-10 images), keyed by
  genotype text (:func:`zcnas.spaces.darts.key`), passed
  with ``--arch-file`` (the CSV itself) and ``--proxy-errors nan`` (a proxy that fails on a
  genotype is NaN there, left out of its cell's ``n``); ground truth its ``cifar10_valid``
  (written into the store by this script under the same keys). ``swap``'s default flavor is
  SWAP's protocol (Gaussian re-initialisation, mean of 32 repeats); the images are the first
  16 packaged CIFAR-10 images (the reference: the first 16 training images; its train
  transforms are identities at 32x32), and
  every other proxy scores the network with PyTorch's default init. The store of the earlier
  network (stem + 3 cells, before 2026-12-04 late) is ``proxy_table_darts1000_3cell.db``.

* ``nb201-imagenet16``: no ImageNet16-120 images exist offline (``zcnas score`` scores NB201
  on CIFAR-10/100 only), so this column is the ``nb201-cifar10`` scores (CIFAR-10 images)
  against the same cells' ImageNet16-120 test accuracy; papers score on the dataset's own
  images, so it is not their protocol.

Every run uses every registered proxy that applies (``zcnas score``'s default), seed 0,
``--workers 1``, under ``nice -n 19``. The table is Spearman(score, ground truth) per cell with
its ``n`` (architectures with a finite score and ground truth; ``-1e8`` and -inf are NaN-free
values and are kept, as ``zcnas analyze`` does), and says which columns are incomplete.
Brackets beside a cell: a published value (``PAPER``: the MeCo, SWAP and EZNAS papers, AZ-NAS's
Table 1 for NB201), or, on nb101 / nb301, the Spearman of NAS-Bench-Suite-Zero's stored value
of the proxy on the same architectures. Rows ``proxy [flavor]`` are the flavors of
``EXTRA_FLAVORS`` where a store has them: NB301's AZ-NAS rows in float64 come from
``run nb301 --flavor aznas64 --skip <every proxy but az_expressivity, az_progressivity,
az_trainability>`` (the default float32 policy gives -inf on every NB301 network).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ZCNAS_SHARED", ROOT.parent / "shared")) / "data"
STORES = Path(os.environ.get("ZCNAS_STORES", "/work/stores"))
EXPORT = ROOT / "benches" / "results" / "proxy_table_scores.csv.gz"
DARTS1000 = DATA / "darts" / "darts_1000_cifar10.csv"

#: column -> (store file, space key, task, zcnas score arguments, archs expected, truth metric)
COLUMNS: dict[str, dict] = {
    "nb201-cifar10": {
        "store": "nb201_cifar10_live.db",
        "space": "nasbench201",
        "task": "cifar10",
        "args": ["--space", "nb201", "--sample", "1000", "--dataset", "cifar10"],
        "n": 1000,
        "metric": "test_accuracy",
    },
    "nb201-cifar100": {
        "store": "proxy_table_nb201_cifar100.db",
        "space": "nasbench201",
        "task": "cifar100",
        "args": ["--space", "nb201", "--sample", "1000", "--dataset", "cifar100"],
        "n": 1000,
        "metric": "test_accuracy",
    },
    "nb201-imagenet16": {
        # no ImageNet16-120 images offline: the CIFAR-10-image scores of nb201-cifar10 against
        # the ImageNet16-120 test accuracy of the same cells (embedded NB201 table)
        "store": "nb201_cifar10_live.db",
        "space": "nasbench201",
        "task": "cifar10",
        "derived": "nb201-cifar10",
        "truth_from": "imagenet16",
        "n": 1000,
        "metric": "test_accuracy",
    },
    "macro": {
        "store": "proxy_table_macro.db",
        "space": "nasbench_macro",
        "task": "cifar10",
        "args": ["--space", "macro", "--sample", "500"],
        "n": 500,
        "metric": "test_accuracy",
    },
    "nb101": {
        "store": "proxy_table_nb101.db",
        "space": "nasbench101",
        "task": "cifar10",
        "args": ["--space", "nb101", "--all"],
        "n": 500,
        "metric": "val_accuracy",
        "import": "naslib_zc_nasbench101_500.csv",
    },
    "nb301": {
        "store": "proxy_table_nb301.db",
        "space": "nasbench301",
        "task": "cifar10",
        "args": ["--space", "darts", "--all"],
        "n": 725,
        "metric": "val_accuracy",
        "import": "naslib_zc_nasbench301_725.csv",
    },
    "darts1000": {
        "store": "proxy_table_darts1000.db",
        "space": "darts_c3",
        "task": "cifar10",
        # + --arch-file darts/darts_1000_cifar10.csv; --proxy-errors nan: AZ-NAS trainability
        # raises on genotypes whose cells ignore the previous cell (none edges), the other
        # proxies are kept for them
        "args": ["--space", "darts-c3", "--proxy-errors", "nan", "--batch-size", "16"],
        "n": 1000,
        "metric": "cifar10_valid",
    },
}

#: Published Spearman correlations (whole space unless said): (proxy, column) -> (value,
#: source). EZNAS-A (below); MeCo (Jiang et al., NeurIPS 2023); SWAP (Peng et al., ICLR
#: 2024: its repository's DARTS-1000 protocol, C=3 network); "AZ-NAS T1": Table 1 of
#: AZ-NAS (Lee & Ham, CVPR 2024; ``../shared/seeds/az_nas_assembling_zero_cost_proxies.txt``),
#: the official codes on 3,000 sampled NB201 cells per run (5 runs), ImageNet16-120 on its
#: own images (ours: CIFAR-10).
PAPER: dict[tuple[str, str], tuple[float, str]] = {
    ("meco", "nb201-cifar10"): (0.89, "paper"),
    ("meco", "nb201-cifar100"): (0.88, "paper"),
    ("swap", "darts1000"): (0.93, "paper"),
}
_AZ_T1 = {  # SPR on CIFAR-10, CIFAR-100, ImageNet16-120
    "params": (0.753, 0.728, 0.691),
    "flops": (0.753, 0.727, 0.691),
    "grad_norm": (0.484, 0.475, 0.412),
    "grasp": (0.460, 0.453, 0.406),
    "snip": (0.615, 0.609, 0.539),
    "synflow": (0.769, 0.761, 0.747),
    "nwot": (0.743, 0.769, 0.760),
    "zen": (0.385, 0.361, 0.409),
    "zico": (0.784, 0.785, 0.778),
}
_NB201_COLUMNS = ("nb201-cifar10", "nb201-cifar100", "nb201-imagenet16")
for _p, _vals in _AZ_T1.items():
    for _col, _v in zip(_NB201_COLUMNS, _vals, strict=True):
        PAPER[(_p, _col)] = (_v, "AZ-NAS T1")
#: EZNAS-A, Table 1 of EZNAS (Akhauri et al., 2022; ``../shared/seeds/
#: eznas_evolving_zero_cost_proxies.txt``): the whole NB201 space, its reference code (batch 16,
#: its own Kaiming re-initialisation, as ours); ``eznas`` and ``eznas_a`` are both EZNAS-A.
for _p in ("eznas", "eznas_a"):
    for _col, _v in zip(_NB201_COLUMNS, (0.83, 0.82, 0.78), strict=True):
        PAPER[(_p, _col)] = (_v, "EZNAS T1")


#: Flavors other than the default shown as their own rows (``proxy [flavor]``) where a column's
#: store has them: ``aznas64``, AZ-NAS with float64 spectra (the reference's float32 policy
#: makes az_expressivity / az_progressivity -inf on every NB301 network).
EXTRA_FLAVORS = ("aznas64",)

#: (proxy, column) -> Spearman of NAS-Bench-Suite-Zero's stored values on the live cell's
#: architectures (filled by :func:`table`).
SUITE_ZERO: dict[tuple[str, str], float] = {}


def _darts1000() -> list[tuple[str, float]]:
    """(genotype text, cifar10_valid) of the 1,000 rows of the DARTS-1000 file, in file order."""
    with open(DARTS1000) as f:
        return [(r["genotype"], float(r["cifar10_valid"])) for r in csv.DictReader(f)]


def _prepare(name: str, col: dict) -> list[str]:
    """Ground truth into the store where ``zcnas score`` does not write it; extra arguments."""
    from zcnas.bench import ScoreStore, import_suite_zero

    path = STORES / col["store"]
    extra: list[str] = []
    with ScoreStore(path) as st:
        if "import" in col and col["metric"] not in _metrics(st, col):
            import_suite_zero(st, DATA / "suite_zero" / col["import"])
        if name == "darts1000":
            from zcnas.spaces import darts

            rows = _darts1000()
            # every time (existing keys are replaced): an import of a partial export brings
            # the ground truth of the scored genotypes only
            st.put_ground_truth_many(
                {
                    "space": col["space"],
                    "task": col["task"],
                    "arch": darts.key(g),
                    "metric": col["metric"],
                    "value": v,
                    "source": "darts/darts_1000_cifar10.csv",
                }
                for g, v in rows
            )
            extra += ["--arch-file", str(DARTS1000)]
    return extra


def _metrics(st, col: dict) -> list[str]:
    try:
        return st.metrics(col["space"], col["task"])
    except Exception:  # the task is not in the store yet
        return []


def run(
    names: list[str],
    workers: int,
    skip: list[str] | None = None,
    device: str = "cpu",
    retry_failed: bool = False,
    flavor: str | None = None,
) -> None:
    STORES.mkdir(parents=True, exist_ok=True)
    for name in names:
        col = COLUMNS[name]
        if "blocked" in col:
            print(f"[{name}] not run: {col['blocked']}", flush=True)
            continue
        if "derived" in col:
            print(f"[{name}] not run: it reads the scores of {col['derived']}", flush=True)
            continue
        extra = _prepare(name, col)
        cmd = ["nice", "-n", "19", sys.executable, "-m", "zcnas.cli", "score", *col["args"]]
        cmd += [*extra, "--seed", "0", "--store", str(STORES / col["store"])]
        cmd += ["--workers", str(workers), "--device", device]
        if skip:
            from zcnas.proxies import list_proxies

            cmd += ["--proxies", ",".join(p for p in list_proxies() if p not in skip)]
        if retry_failed:
            cmd.append("--retry-failed")
        if flavor:
            cmd += ["--flavor", flavor]
        print(f"[{name}] {' '.join(cmd[:12])} ...", flush=True)
        subprocess.run(cmd, check=False)


def table() -> tuple[list[str], dict[tuple[str, str], tuple[float, int]], dict[str, int]]:
    """(proxies, (proxy, column) -> (Spearman, n), column -> architectures with scores).

    For the columns with imported Suite-Zero values (nb101, nb301), ``SUITE_ZERO`` is filled
    with (proxy, column) -> Spearman of the stored value on the same architectures."""
    from zcnas import stats
    from zcnas.bench import ScoreStore

    SUITE_ZERO.clear()
    cells: dict[tuple[str, str], tuple[float, int]] = {}
    n_archs: dict[str, int] = {}
    proxies: set[str] = set()
    for name, col in COLUMNS.items():
        path = STORES / col["store"]
        if not path.exists():
            continue
        with ScoreStore(path, mode="r") as st:
            try:
                df = st.query(col["space"], col["task"], flavor="default")
            except Exception:
                continue
            stored = None
            if "import" in col:
                try:
                    stored = st.query(col["space"], col["task"], flavor="naslib")
                except Exception:
                    stored = None
            gt = st.ground_truth_frame()  # its metrics are columns of every query below
            metrics = set(gt.metric[(gt.space == col["space"]) & (gt.task == col["task"])])
            for fl in EXTRA_FLAVORS:  # rows "proxy [flavor]", e.g. AZ-NAS in float64
                try:
                    extra = st.query(col["space"], col["task"], flavor=fl)
                except Exception:
                    continue
                extra = extra[[c for c in extra.columns if c not in metrics]]
                extra.columns = [f"{c} [{fl}]" for c in extra.columns]
                df = df.join(extra, how="left")
        if col["metric"] not in df.columns:
            continue
        truth = df[col["metric"]].to_numpy()
        if "truth_from" in col:
            from zcnas.bench import load_nb201

            truth = load_nb201().test_accuracy(col["truth_from"])[df.index.astype(int)]
        names = [c for c in df.columns if c not in st_metrics(df, col)]
        base = [c for c in names if "[" not in c]
        n_archs[name] = int(df[base].notna().any(axis=1).sum())
        for p in names:
            s = df[p].to_numpy()
            ok = np.isfinite(truth) & ~np.isnan(s)
            if ok.sum() < 3:
                continue
            s = np.where(np.isinf(s), np.sign(s) * np.finfo(np.float64).max, s)  # -inf lowest
            cells[(p, name)] = (stats.spearman(s[ok], truth[ok]), int(ok.sum()))
            if stored is not None and p in stored.columns:
                ref = stored[p].reindex(df.index).to_numpy(dtype=float)
                both = ok & np.isfinite(ref)
                if both.sum() == ok.sum():  # the same architectures as the live cell
                    SUITE_ZERO[(p, name)] = stats.spearman(ref[both], truth[both])
            proxies.add(p)
    return sorted(proxies), cells, n_archs


def fidelity() -> str:
    """Per proxy, on the nb101 / nb301 columns' live architectures: Spearman(zcnas live,
    Suite-Zero stored), and Kendall tau vs the validation accuracy of each (live, stored) on the
    same architectures, as a markdown table."""
    from zcnas import stats
    from zcnas.bench import ScoreStore

    lines = [
        "| column | proxy | n | Spearman(live, stored) | tau live | tau stored | abs dtau |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, col in COLUMNS.items():
        path = STORES / col["store"]
        if "import" not in col or not path.exists():
            continue
        with ScoreStore(path, mode="r") as st:
            try:
                live = st.query(col["space"], col["task"], flavor="default")
                stored = st.query(col["space"], col["task"], flavor="naslib")
            except Exception:
                continue
        truth = live[col["metric"]].to_numpy(dtype=float)
        for p in [c for c in stored.columns if c in live.columns and c != col["metric"]]:
            if p in st_metrics(stored, col):
                continue
            a = live[p].to_numpy(dtype=float)
            b = stored[p].reindex(live.index).to_numpy(dtype=float)
            ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(truth)
            if ok.sum() < 10:
                continue
            rho = stats.spearman(a[ok], b[ok])
            ta, tb = stats.kendall_tau(a[ok], truth[ok]), stats.kendall_tau(b[ok], truth[ok])
            lines.append(
                f"| {name} | {p} | {int(ok.sum())} | {rho:.3f} | {ta:.3f} | {tb:.3f} | "
                f"{abs(ta - tb):.3f} |"
            )
    return "\n".join(lines)


def st_metrics(df, col: dict) -> set[str]:
    return {c for c in df.columns if c in ("test_accuracy", "val_accuracy", "cifar10_valid")}


def markdown() -> str:
    proxies, cells, n_archs = table()
    names = list(COLUMNS)
    head = "| proxy | " + " | ".join(names) + " |"
    lines = [head, "|---|" + "---:|" * len(names)]
    for p in proxies:
        row = []
        for c in names:
            v = cells.get((p, c))
            txt = "—" if v is None else f"{v[0]:.3f} (n={v[1]})"
            if (p, c) in PAPER:
                v, src = PAPER[(p, c)]
                txt += f" [{src} {v:.3g}]"
            if (p, c) in SUITE_ZERO:
                txt += f" [Suite-Zero {SUITE_ZERO[(p, c)]:.3f}]"
            row.append(txt)
        lines.append(f"| {p} | " + " | ".join(row) + " |")
    status = []
    for c in names:
        got, want = n_archs.get(c, 0), COLUMNS[c]["n"]
        why = f" (NOT RUN: {COLUMNS[c]['blocked']})" if "blocked" in COLUMNS[c] else ""
        why = why or ("" if got >= want else " (INCOMPLETE)")
        status.append(f"{c}: {got}/{want} architectures{why}")
    return "\n".join(lines) + "\n\nColumns: " + "; ".join(status) + "."


def figure(path: Path) -> Path:
    """The table as a heat map (proxies x columns, Spearman vs ground truth, -1..1; a column
    label says how many architectures it covers where it is incomplete); returns the path."""
    import pandas as pd

    from zcnas.analysis.plots import heatmap, save

    proxies, cells, n_archs = table()
    labels = {
        c: c
        if n_archs.get(c, 0) >= COLUMNS[c]["n"]
        else f"{c} ({n_archs.get(c, 0)}/{COLUMNS[c]['n']})"
        for c in COLUMNS
    }
    frame = pd.DataFrame(
        [[cells.get((p, c), (np.nan, 0))[0] for c in COLUMNS] for p in proxies],
        index=proxies,
        columns=[labels[c] for c in COLUMNS],
    )
    fig = heatmap(frame, "Spearman(proxy, accuracy); blank: not computed or undefined")
    ax = fig.axes[0]
    for i, p in enumerate(proxies):  # a cell on fewer architectures than its column: its n
        for j, c in enumerate(COLUMNS):
            v = cells.get((p, c))
            if v is not None and np.isfinite(v[0]) and v[1] < n_archs.get(c, 0):
                ax.text(j, i + 0.32, f"n={v[1]}", ha="center", va="center", fontsize=4.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save(fig, path)


def export(out: Path) -> None:
    """Score rows of flavor ``default`` (and ``EXTRA_FLAVORS``) from every column's store, and
    their ground truth."""
    from zcnas.bench import ScoreStore

    out.parent.mkdir(parents=True, exist_ok=True)
    keep = ["space", "task", "arch", "proxy", "score", "flavor", "time_s", "batch_size", "seed"]
    keep += ["input_kind", "dtype", "source"]
    n = 0
    with gzip.open(out, "wt", newline="") as f:
        w = csv.writer(f)
        w.writerow(["column", "kind", *keep, "metric", "value"])
        for name, col in COLUMNS.items():
            path = STORES / col["store"]
            if not path.exists():
                continue
            with ScoreStore(path, mode="r") as st:
                df = st.scores_frame()
                gt = st.ground_truth_frame()
            df = df[(df.space == col["space"]) & (df.task == col["task"])]
            df = df[df.flavor.isin(["default", *EXTRA_FLAVORS])]
            for r in df[keep].itertuples(index=False):
                w.writerow([name, "score", *("" if _na(v) else v for v in r), "", ""])
                n += 1
            archs = set(df.arch)
            gt = gt[(gt.space == col["space"]) & (gt.task == col["task"])]
            gt = gt[(gt.metric == col["metric"]) & gt.arch.isin(archs)]
            for r in gt.itertuples(index=False):
                row = ["" for _ in keep]
                row[:3] = [r.space, r.task, r.arch]
                w.writerow([name, "truth", *row, r.metric, r.value])
    print(f"exported {n} scores to {out} ({out.stat().st_size / 1e6:.2f} MB)")


def _na(v) -> bool:
    try:
        return (
            v is None or (isinstance(v, float) and np.isnan(v)) or v is np.nan or str(v) == "<NA>"
        )
    except TypeError:
        return False


def import_(src: Path) -> None:
    """Put the exported rows back into the columns' stores (existing rows are replaced)."""
    from zcnas.bench import ScoreStore

    by: dict[str, tuple[list[dict], list[dict]]] = {}
    with gzip.open(src, "rt", newline="") as f:
        for r in csv.DictReader(f):
            scores, truth = by.setdefault(r["column"], ([], []))
            if r["kind"] == "score":
                row = {k: r[k] for k in ("space", "task", "arch", "proxy", "flavor")}
                row["score"] = float(r["score"]) if r["score"] else float("nan")
                for k, conv in (("time_s", float), ("batch_size", int), ("seed", int)):
                    row[k] = conv(r[k]) if r[k] else None
                for k in ("input_kind", "dtype", "source"):
                    row[k] = r[k] or None
                scores.append(row)
            else:
                truth.append(
                    {
                        "space": r["space"],
                        "task": r["task"],
                        "arch": r["arch"],
                        "metric": r["metric"],
                        "value": float(r["value"]),
                        "source": "benches/results/proxy_table_scores.csv.gz",
                    }
                )
    STORES.mkdir(parents=True, exist_ok=True)
    for name, (scores, truth) in by.items():
        with ScoreStore(STORES / COLUMNS[name]["store"]) as st:
            st.put_many(scores)
            st.put_ground_truth_many(truth)
        print(f"{name}: imported {len(scores)} scores, {len(truth)} ground-truth rows")


def main() -> None:
    global STORES
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--store-dir",
        type=Path,
        default=STORES,
        help="folder of the columns' stores (default $ZCNAS_STORES or /work/stores); give it "
        "before the subcommand",
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument(
        "columns", nargs="+", choices=sorted(COLUMNS), help="table columns to score, in order"
    )
    r.add_argument(
        "--workers", type=int, default=1, help="zcnas score worker processes (default 1)"
    )
    r.add_argument(
        "--device",
        default="cpu",
        help="where every network is scored (zcnas score --device): cpu, cuda, cuda:N; "
        "on a GPU use several --workers to keep several networks in flight",
    )
    r.add_argument(
        "--skip",
        default="",
        help="comma-separated proxies left out of this run (e.g. tenas_ntk, the slowest: "
        "its column then covers fewer architectures; a later run without --skip resumes it)",
    )
    r.add_argument(
        "--flavor",
        default=None,
        help="zcnas score --flavor (stored under that flavor; the table shows the flavors of "
        "EXTRA_FLAVORS as rows 'proxy [flavor]'), e.g. --flavor aznas64 --skip <all but az_*>",
    )
    r.add_argument(
        "--retry-failed",
        action="store_true",
        help="score again the architectures the store records as failed (zcnas score "
        "--retry-failed), e.g. after a fix",
    )
    t = sub.add_parser("table")
    t.add_argument(
        "--figure",
        type=Path,
        default=None,
        help="also write the table as a heat map (PNG), e.g. benches/figures/proxy_table.png",
    )
    e = sub.add_parser("export")
    e.add_argument("--out", type=Path, default=EXPORT)
    sub.add_parser(
        "fidelity",
        help="nb101 / nb301: Spearman(live, Suite-Zero stored) and Kendall tau of each vs "
        "the validation accuracy, on the live architectures",
    )
    i = sub.add_parser("import")
    i.add_argument("--file", type=Path, default=EXPORT)
    args = ap.parse_args()
    STORES = args.store_dir
    if args.cmd in ("table", "export") and not STORES.is_dir():
        print(f"note: {STORES} does not exist; no column has scores", file=sys.stderr)
    if args.cmd == "run":
        run(
            args.columns,
            args.workers,
            [p for p in args.skip.split(",") if p],
            args.device,
            args.retry_failed,
            args.flavor,
        )
    elif args.cmd == "table":
        print(markdown())
        if args.figure is not None:
            print(f"figure: {figure(args.figure)}", file=sys.stderr)
    elif args.cmd == "fidelity":
        print(fidelity())
    elif args.cmd == "export":
        export(args.out)
    else:
        import_(args.file)


if __name__ == "__main__":
    main()
