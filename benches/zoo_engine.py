"""The proxy engine on real-world networks (issue: any model, any input).

Two experiments, results printed as Markdown for ``benches/RESULTS.md``:

``macro``: Kendall tau-b of the zoo-ready proxies on NAS-Bench-Macro networks (MobileNetV2
blocks with ReLU6, built by :func:`zcnas.spaces.macro.build`) against the embedded mean CIFAR-10
accuracy, on ``--archs`` uniformly sampled architectures (seeded), beside params and FLOPs
(``tenas_lr`` with TE-NAS's own crop protocol, flavor ``tenas``: the default AZ-NAS flavor
saturates at the batch size).
Every network gets the same batch of ``--batch`` real CIFAR-10 test images (the JPEG-decoded
test set in ``../shared/data/images``; first images in file order).

``speed``: milliseconds and peak resident memory of each proxy computed alone, per model and
input size (batch ``--batch``), each in a fresh subprocess so that the peak is the proxy's
own (``ru_maxrss`` after the call minus after building the model and the batch).

    python benches/zoo_engine.py macro --archs 100 --batch 64
    python benches/zoo_engine.py speed --models resnet18,mobilenet_v2 --sizes 32,224 --batch 64
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _cifar(n: int, size: int = 32):
    import torch

    from zcnas.datasets import CIFAR_MEAN, CIFAR_STD

    z = np.load(DATA / "images" / "cifar10_test_jpeg_10000.npz")
    x = z["x"][:n].astype(np.float32) / 255.0
    x = (x - np.array(CIFAR_MEAN, np.float32)) / np.array(CIFAR_STD, np.float32)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    if size != 32:
        xt = torch.nn.functional.interpolate(xt, size=(size, size), mode="bilinear")
    return xt, torch.from_numpy(z["y"][:n].astype(np.int64))


MACRO_PROXIES = [
    "params",
    "flops",
    "synflow",
    "snip",
    "grad_norm",
    "grasp",
    "fisher",
    "jacov",
    "epe_nas",
    "nwot",
    "zen",
    "zico",
    "az_expressivity",
    "az_progressivity",
    "az_trainability",
    "az_complexity",
    "tenas_ntk",
    "tenas_lr",
    "eznas",
    "eznas_a",
    "swap",
]


def run_macro(args) -> None:
    import torch
    from rich.progress import track

    from zcnas import stats
    from zcnas.proxies import is_proxy, score
    from zcnas.proxies.aznas import aznas_score
    from zcnas.spaces import macro

    torch.set_num_threads(args.threads)
    table = macro.load_macro()
    idx = macro.sample(args.archs, rng=args.seed, replace=False)
    acc = table.query_batch(idx, "mean_acc")
    x, y = _cifar(args.batch)
    wanted = args.proxies.split(",") if args.proxies else MACRO_PROXIES
    names = [n for n in wanted if is_proxy(n)]
    rows = {n: [] for n in names}
    t0 = time.time()
    for i in track(idx, description="Macro networks"):
        net = macro.build(int(i))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = score(
                net,
                x,
                y,
                names,
                on_unsupported="nan",
                seed=args.seed,
                flavor={"tenas_lr": "tenas"} if "tenas_lr" in names else None,
            )
        for n in names:
            rows[n].append(got[n])
    elapsed = time.time() - t0
    out = {"n": len(idx), "batch": args.batch, "seconds": elapsed, "load": os.getloadavg()}
    taus = {}
    for n in names:
        v = np.asarray(rows[n], dtype=np.float64)
        ok = ~np.isnan(v)  # -inf (AZ-NAS's identity blocks, NaN entropies) ranks lowest
        lowest = np.nanmin(v[np.isfinite(v)]) - 1.0 if np.isfinite(v).any() else 0.0
        w = np.where(np.isneginf(v), lowest, v)
        good = ok & np.isfinite(w)
        tau = stats.kendall_tau(w[good], acc[good]) if good.sum() > 2 else math.nan
        taus[n] = (tau, int(np.isfinite(v).sum()))
    out["values"] = {n: [float(t) for t in rows[n]] for n in names}
    out["accuracy"] = acc.tolist()
    out["archs"] = [int(i) for i in idx]
    comps = [f"az_{c}" for c in ("expressivity", "progressivity", "trainability", "complexity")]
    if all(c in rows for c in comps):
        agg = aznas_score(np.column_stack([rows[c] for c in comps]))
        taus["AZ-NAS (aggregate)"] = (stats.kendall_tau(agg, acc), len(idx))
    out["kendall_tau"] = taus
    print(f"| proxy | Kendall tau-b vs mean CIFAR-10 acc (-inf lowest) | finite / {len(idx)} |")
    print("|---|---:|---:|")
    for n, (t, k) in sorted(
        taus.items(), key=lambda kv: -abs(kv[1][0]) if math.isfinite(kv[1][0]) else 0
    ):
        print(f"| {n} | {t:.3f} | {k} |")
    print(f"\n{len(idx)} archs, batch {args.batch}, {elapsed:.0f} s, load {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


def _model(name: str, size: int):
    import torchvision

    if name == "resnet18":
        return torchvision.models.resnet18(num_classes=10)
    if name == "mobilenet_v2":
        return torchvision.models.mobilenet_v2(num_classes=10)
    raise SystemExit(f"unknown model {name}")


def _one(args) -> None:
    """Child: one proxy on one model; prints JSON {ms, peak_mb}."""
    import torch

    from zcnas.proxies import score

    torch.set_num_threads(args.threads)
    net = _model(args.model, args.size)
    x, y = _cifar(args.batch, args.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score(net, x[:2], y[:2], ["params"])  # warm-up (imports, allocator)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        try:
            v = score(net, x, y, [args.proxy])[args.proxy]
            err = ""
        except Exception as exc:  # reported in the table
            v, err = math.nan, f"{type(exc).__name__}: {str(exc)[:80]}"
        ms = (time.perf_counter() - t) * 1e3
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ms": ms, "peak_mb": max(0, peak - base) / 1024, "value": v, "error": err}))


def run_speed(args) -> None:
    from zcnas.proxies import list_proxies

    proxies = args.proxies.split(",") if args.proxies else list_proxies()
    print(f"batch {args.batch}, {args.threads} torch thread(s); ms / peak MB above the model")
    for model in args.models.split(","):
        for size in [int(s) for s in args.sizes.split(",")]:
            print(f"\n### {model}, {size}x{size}\n\n| proxy | ms | peak MB |\n|---|---:|---:|")
            for p in proxies:
                opts = {"--model": model, "--size": size, "--proxy": p, "--batch": args.batch}
                opts["--threads"] = args.threads
                cmd = [
                    sys.executable,
                    __file__,
                    "_one",
                    *(str(t) for kv in opts.items() for t in kv),
                ]
                try:
                    r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                    res = json.loads(r.stdout.strip().splitlines()[-1])
                    note = f" ({res['error']})" if res["error"] else ""
                    print(f"| {p}{note} | {res['ms']:.0f} | {res['peak_mb']:.0f} |", flush=True)
                except subprocess.TimeoutExpired:
                    print(f"| {p} | > {args.timeout * 1000} | - |", flush=True)
                except (IndexError, json.JSONDecodeError):
                    print(f"| {p} | failed | - |", flush=True)
    print(f"\nload average {os.getloadavg()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("macro")
    m.add_argument("--archs", type=int, default=100)
    m.add_argument("--batch", type=int, default=64)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--threads", type=int, default=1)
    m.add_argument("--json", default="")
    m.add_argument("--proxies", default="", help="comma-separated subset (default: all)")
    s = sub.add_parser("speed")
    s.add_argument("--models", default="resnet18,mobilenet_v2")
    s.add_argument("--sizes", default="32,224")
    s.add_argument("--batch", type=int, default=64)
    s.add_argument("--proxies", default="")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--timeout", type=int, default=600)
    o = sub.add_parser("_one")
    for a in ("--model", "--proxy"):
        o.add_argument(a, required=True)
    o.add_argument("--size", type=int, default=32)
    o.add_argument("--batch", type=int, default=64)
    o.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    {"macro": run_macro, "speed": run_speed, "_one": _one}[args.cmd](args)


if __name__ == "__main__":
    main()
