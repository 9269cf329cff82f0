"""Fidelity of zcnas's Suite-Zero proxies on NAS-Bench-101 and NAS-Bench-301 (live networks).

Run: ``.venv/bin/python benches/fidelity_suite_zero.py --space nb101|nb301 [--n 100] [--seed 0]
[--batch 32] [--store f.db] [--out f.json]``.

With ``--store`` every architecture's scores are written to a :class:`zcnas.bench.ScoreStore`
as soon as they are computed (space/task keys as the Suite-Zero importer's, flavor
``naslib/fidelity-n<n>-seed<seed>-batch<batch>``: the batch drawn depends on ``n``), and
architectures already stored are read back instead of recomputed: an interrupted run resumes
where it stopped. ``--report-only`` builds the report from what the store holds (fewer than
``n`` rows if the run is unfinished).

1. Draw ``n`` rows (fixed seed) of Suite-Zero's ``naslib_zc_nasbench101_500.csv`` or
   ``naslib_zc_nasbench301_725.csv``; build each network live (:func:`zcnas.spaces.nb101.build`,
   the benchmark's 128-channel network; :func:`zcnas.spaces.nb301.build`, NASLib's C=32, 8-cell
   network), each space's default init (NB101: NASLib's, ``init="naslib"``, since
   2026-12-04 late; PyTorch's before; NB301: PyTorch's, as NASLib's) seeded by the row number.
2. Score the file's proxies with the ``naslib`` flavor on one batch of ``--batch`` CIFAR-10
   images (the JPEG-decoded test set in ``../shared/data/images``, drawn with the seed, CIFAR
   mean/std; Suite-Zero used 32 random *training* images and its own random init, so
   per-architecture values differ for the data-dependent proxies).
3. Report per proxy: Spearman(zcnas, stored), Kendall tau vs the stored ``val_accuracy`` for
   zcnas and for the stored values, and their absolute difference.

``--per-arch-batch`` scores with Suite-Zero's data protocol instead of one batch: NASLib's
benchmark creates a fresh iterator over a shuffled, augmented *training* loader for every
architecture (``../shared/docs/PROXIES.md`` section 1), so each network saw its own 32 images.
Here each row draws its own ``--batch`` images (seeded by the seed and the row number) from
the test set with NASLib's train transforms (zero-pad 4 + random 32x32 crop, horizontal flip
with p = 0.5). ``--proxies`` restricts the proxies (default: every proxy of the file). The
report then also gives, per proxy, the mean and standard deviation of zcnas's and the stored
values, and -- when the one-batch run of the same ``--n``/``--seed``/``--batch`` is in the
store -- Spearman(one batch, per-architecture batches): how much of the ranking survives a
change of minibatch alone, on the same networks and weights.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from zcnas import proxies, stats
from zcnas.bench import ScoreStore
from zcnas.datasets import CIFAR_MEAN, CIFAR_STD
from zcnas.spaces import nb101, nb301

DATA = Path(os.environ.get("ZCNAS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = DATA / "data"
FILES = {"nb101": "naslib_zc_nasbench101_500.csv", "nb301": "naslib_zc_nasbench301_725.csv"}
BUILD = {"nb101": nb101.build, "nb301": nb301.build}


def batch(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    imgs = np.load(DATA / "images" / "cifar10_test_jpeg_10000.npz")
    idx = rng.choice(len(imgs["y"]), size=n, replace=False)
    x = torch.from_numpy(imgs["x"][idx]).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)) / torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    return x, torch.from_numpy(imgs["y"][idx].astype(np.int64))


def augmented_batch(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` test images through NASLib's CIFAR train transforms (RandomCrop(32, padding=4),
    RandomHorizontalFlip), then CIFAR mean/std: float32 ``(n, 3, 32, 32)`` and int64 labels."""
    imgs = np.load(DATA / "images" / "cifar10_test_jpeg_10000.npz")
    idx = rng.choice(len(imgs["y"]), size=n, replace=False)
    padded = np.pad(imgs["x"][idx], ((0, 0), (4, 4), (4, 4), (0, 0)))  # zero padding, as PIL's
    out = np.empty((n, 32, 32, 3), dtype=np.uint8)
    for k in range(n):
        i, j = rng.integers(0, 9, size=2)
        crop = padded[k, i : i + 32, j : j + 32]
        out[k] = crop[:, ::-1] if rng.random() < 0.5 else crop
    x = torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)) / torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    return x, torch.from_numpy(imgs["y"][idx].astype(np.int64))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--space", choices=sorted(FILES), required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--store", default=None, help="score store: resume, and save as computed")
    ap.add_argument("--report-only", action="store_true", help="report what --store holds")
    ap.add_argument(
        "--per-arch-batch",
        action="store_true",
        help="Suite-Zero's protocol: each architecture its own augmented batch (see above)",
    )
    ap.add_argument("--proxies", default=None, help="comma-separated subset of the file's proxies")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(DATA / "suite_zero" / FILES[args.space]) as f:
        rows = list(csv.DictReader(f))
    meta = {"search_space", "dataset", "naslib_idx", "arch", "val_accuracy"}
    names = [h for h in rows[0] if h not in meta and not h.endswith("_time_s")]
    if args.proxies:
        unknown = sorted(set(args.proxies.split(",")) - set(names))
        if unknown:
            ap.error(f"--proxies {unknown} not in {FILES[args.space]} (it has {names})")
        names = [p for p in names if p in args.proxies.split(",")]
    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(len(rows), size=min(args.n, len(rows)), replace=False))
    x, y = batch(args.batch, rng)
    truth = np.array([float(rows[i]["val_accuracy"]) for i in pick])
    ref = np.array([[float(rows[i][p]) for p in names] for i in pick])
    ours = np.full_like(ref, np.nan)
    store = ScoreStore(args.store) if args.store else None
    space_key = {"nb101": "nasbench101", "nb301": "nasbench301"}[args.space]
    flavor = one_batch = f"naslib/fidelity-n{args.n}-seed{args.seed}-batch{args.batch}"
    if args.per_arch_batch:
        flavor += "-per-arch"
    t0 = time.perf_counter()
    n_new = 0
    for k, i in enumerate(pick):
        arch = rows[i]["arch"]
        if store is not None and not store.missing(
            space_key, "cifar10", [arch], names, flavor=flavor
        ):
            ours[k] = [store.get(space_key, "cifar10", arch, p, flavor=flavor).score for p in names]
            continue
        if args.report_only:
            continue
        torch.manual_seed(int(i))
        model = BUILD[args.space](arch)
        t1 = time.perf_counter()
        if args.per_arch_batch:
            x, y = augmented_batch(args.batch, np.random.default_rng([args.seed, int(i)]))
        s = proxies.score(model, x, y, proxies=names, flavor="naslib", seed=args.seed)
        dt = time.perf_counter() - t1
        ours[k] = [s[p] for p in names]
        n_new += 1
        if store is not None:
            store.put_many(
                {
                    "space": space_key,
                    "task": "cifar10",
                    "arch": arch,
                    "proxy": p,
                    "score": float(s[p]),
                    "flavor": flavor,
                    "time_s": dt,
                    "batch_size": args.batch,
                    "seed": args.seed,
                    "input_kind": "cifar10-test-jpeg"
                    + ("-augmented-per-arch" if args.per_arch_batch else ""),
                    "dtype": "float32",
                    "source": f"benches/fidelity_suite_zero.py row {i}",
                }
                for p in names
            )
        print(f"{k + 1}/{len(pick)} {time.perf_counter() - t0:.0f} s", flush=True)
    wall = time.perf_counter() - t0
    done = ~np.isnan(ours).all(axis=1)
    # the one-batch run's values on the same rows (same networks and weights), if stored
    fixed = np.full_like(ours, np.nan)
    if store is not None and args.per_arch_batch:
        for k, i in enumerate(pick):
            arch = rows[i]["arch"]
            for j, p in enumerate(names):
                if not store.missing(space_key, "cifar10", [arch], [p], flavor=one_batch):
                    fixed[k, j] = store.get(space_key, "cifar10", arch, p, flavor=one_batch).score
    ours, ref, truth, fixed = ours[done], ref[done], truth[done], fixed[done]
    report = {
        "space": args.space,
        "n": int(done.sum()),
        "n_requested": len(pick),
        "n_computed_this_run": n_new,
        "seed": args.seed,
        "batch": args.batch,
        "seconds": round(wall, 1),
        "proxies": {},
    }
    print(
        f"{'proxy':10s} {'rho(zcnas,stored)':>18s} {'tau zcnas':>10s} {'tau stored':>10s} "
        f"{'|dtau|':>6s} {'mean/sd zcnas':>20s} {'mean/sd stored':>20s} rho(one batch,this)"
    )
    for j, p in enumerate(names):
        rho = stats.spearman(ours[:, j], ref[:, j], nan_policy="omit")
        t_o = stats.kendall_tau(ours[:, j], truth, nan_policy="omit")
        t_r = stats.kendall_tau(ref[:, j], truth, nan_policy="omit")
        m_o, s_o = float(np.nanmean(ours[:, j])), float(np.nanstd(ours[:, j]))
        m_r, s_r = float(np.nanmean(ref[:, j])), float(np.nanstd(ref[:, j]))
        both = ~np.isnan(fixed[:, j]) & ~np.isnan(ours[:, j])
        r_f = stats.spearman(fixed[both, j], ours[both, j]) if both.sum() > 2 else float("nan")
        report["proxies"][p] = {
            "spearman": rho,
            "tau_zcnas": t_o,
            "tau_suite_zero": t_r,
            "mean_sd_zcnas": [m_o, s_o],
            "mean_sd_suite_zero": [m_r, s_r],
            "spearman_one_batch_vs_this": r_f,
            "n_one_batch": int(both.sum()),
        }
        print(
            f"{p:10s} {rho:18.3f} {t_o:10.3f} {t_r:10.3f} {abs(t_o - t_r):6.3f} "
            f"{m_o:10.4g}/{s_o:<9.3g} {m_r:10.4g}/{s_r:<9.3g} {r_f:.3f} (n={int(both.sum())})"
        )
    print(f"{int(done.sum())}/{len(pick)} rows; wall {wall:.0f} s for {n_new} computed")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
