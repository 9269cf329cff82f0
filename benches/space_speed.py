"""One ``zcnas score`` call on NB101 / NB301 / NAS-Bench-Macro networks, before and after the
2026-12-05 speed-ups, side by side in one process.

The two changes, both value-preserving:

* max pooling (NB101's ``maxpool3x3`` and stack downsampling, DARTS ``max_pool_3x3``) runs
  :class:`zcnas.spaces._pooling.MaxPool2d` (channels-last kernel, bitwise equal to
  ``nn.MaxPool2d``); "before" restores ``nn.MaxPool2d.forward``;
* MeCo skips the eigendecomposition of a layer whose correlation is singular (``C >= H*W``;
  its minimum eigenvalue is exactly 0); "before" restores the decomposition.

For each of ``--n`` architectures of the proxy table's sample (``zcnas.scoring.sample_archs``
for macro, Suite-Zero's CSV order for nb101 / darts), the two versions alternate ``--rounds``
times on the same model and images (the first call of each version is an untimed warm-up).
Reported per version: median over rounds of the wall time and of the thread CPU time of the
call (1 torch thread, garbage collector collected before and disabled during each call). Every
proxy's value is checked: bitwise equal except ``meco`` (within 1e-9 absolute: rounding noise
of the skipped decompositions).

    .venv/bin/python benches/space_speed.py --space nb101 --n 3
    .venv/bin/python benches/space_speed.py --space darts --n 3 --proxies all
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import time
import warnings

import numpy as np
import torch
from torch import nn

from zcnas import kernels
from zcnas.exceptions import ZcnasError
from zcnas.proxies import list_proxies, swap_meco
from zcnas.scoring import ArchScorer, sample_archs
from zcnas.spaces import _pooling

_FAST_POOL = _pooling.MaxPool2d.forward
_FAST_MECO = swap_meco._meco_term


def _meco_term_before(fea: torch.Tensor, opt_gen: torch.Generator | None) -> float | None:
    """``swap_meco._meco_term`` as of cb65286^ (a decomposition for every layer)."""
    if fea.dim() == 0:
        return None
    x = fea.detach().reshape(fea.shape[0], -1).cpu().double().numpy()
    if x.shape[1] < 2:
        return None
    c = x.shape[0]
    scale = 1.0
    if opt_gen is not None:
        k = min(swap_meco.MECO_OPT_CHANNELS, c)
        idx = torch.randperm(c, generator=opt_gen)[:k].numpy()
        x = x[idx]
        scale = c / k
    corr = kernels.corrcoef(x)
    corr[~np.isfinite(corr)] = 0.0
    return float(np.linalg.eigvalsh(corr)[0]) * scale


def _use(before: bool) -> None:
    _pooling.MaxPool2d.forward = nn.MaxPool2d.forward if before else _FAST_POOL  # type: ignore[method-assign]
    swap_meco._meco_term = _meco_term_before if before else _FAST_MECO


def _archs(space: str, n: int) -> list:
    if space == "macro":
        return sample_archs("macro", n, 0)
    from zcnas.distributed import all_archs

    return all_archs(space)[:n]


def _timed(fn):
    gc.collect()
    gc.disable()
    try:
        t, c = time.perf_counter(), time.thread_time()
        out = fn()
        return out, time.perf_counter() - t, time.thread_time() - c
    finally:
        gc.enable()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--space", choices=["nb101", "darts", "macro"], default="nb101")
    ap.add_argument("--n", type=int, default=3, help="architectures (default 3)")
    ap.add_argument("--rounds", type=int, default=2, help="timed calls per version (default 2)")
    ap.add_argument(
        "--proxies",
        default="table",
        help="'table': every proxy but tenas_ntk, swap and reg_swap (the table's first run); "
        "'all': every registered proxy; or a comma-separated list",
    )
    args = ap.parse_args()
    if args.n < 1 or args.rounds < 1:
        ap.error("--n and --rounds must be at least 1")
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    if args.proxies == "all":
        names = list_proxies()
    elif args.proxies == "table":
        names = [p for p in list_proxies() if p not in ("tenas_ntk", "swap", "reg_swap")]
    else:
        names = args.proxies.split(",")
    try:
        scorer = ArchScorer(args.space, names, proxy_errors="nan")
    except ZcnasError as e:
        ap.error(str(e))
    print(f"load average {os.getloadavg()[0]:.2f}; {len(names)} proxies; space {args.space}")
    ratios = []
    for i, arch in enumerate(_archs(args.space, args.n)):
        times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        values: dict[bool, dict[str, float]] = {}
        for r in range(args.rounds + 1):
            for before in (True, False):
                _use(before)
                (scores, _), wall, cpu = _timed(lambda a=arch: scorer(a))
                values.setdefault(before, scores)
                if r:
                    times[before].append((wall, cpu))
        _use(False)
        for p in names:
            a, b = values[True][p], values[False][p]
            same = a == b or (math.isnan(a) and math.isnan(b))
            if not same and not (p == "meco" and abs(a - b) <= 1e-9):
                raise SystemExit(f"{p} differs on architecture {i}: {a!r} before, {b!r} after")
        w0, c0 = np.median(times[True], axis=0)
        w1, c1 = np.median(times[False], axis=0)
        ratios.append(c0 / c1)
        print(
            f"arch {i}: before {w0:.2f} s wall ({c0:.2f} s CPU), after {w1:.2f} s wall "
            f"({c1:.2f} s CPU): {c0 / c1:.2f}x CPU, {w0 / w1:.2f}x wall; values equal",
            flush=True,
        )
    print(f"median CPU ratio {np.median(ratios):.2f}x; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
