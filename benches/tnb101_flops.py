"""TransNAS-Bench-101 FLOPs of zcnas's networks vs the Suite-Zero CSVs' ``flops`` column.

Run: ``.venv/bin/python benches/tnb101_flops.py [--space micro|macro] [--every K]``.

The ``flops`` column of ``naslib_zc_transbench101_{micro,macro}_e5a821c2.csv`` (NASLib's
tensorwatch count, millions) is compared with :func:`zcnas.spaces.tnb101.naslib_flops`
(:func:`zcnas.proxies.naslib.count_flops_naslib` on a 256x256 input, jigsaw on 64x64 tiles)
for every row (``--every K``: every K-th row). A network's count is its encoder's count on the
input plus its decoder's count on the encoder's output (each module is charged once), so each
encoder is counted once per architecture and input size and each decoder once per (task,
input shape), on the meta device (shapes only, no arithmetic); the first network of every
(task, decoder input shape) is also counted whole and must equal the sum.
Prints rows checked, rows equal (after rounding to the column's printed digits: 10
significant, whole FLOPs below 10,000 M) and the largest difference in last-digit units.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import torch

from zcnas.proxies.naslib import count_flops_naslib
from zcnas.spaces import tnb101

DATA = Path(os.environ.get("ZCNAS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FILES = {
    "micro": "naslib_zc_transbench101_micro_e5a821c2.csv",
    "macro": "naslib_zc_transbench101_macro_e5a821c2.csv",
}


def check(space: str, every: int = 1) -> dict[str, float]:
    with open(DATA / "data" / "suite_zero" / FILES[space]) as f:
        rows = [r for r in csv.DictReader(f) if r["flops"].strip()][::every]
    enc: dict[tuple[str, int], tuple[float, tuple[int, ...]]] = {}
    dec: dict[tuple[str, tuple[int, ...]], float] = {}
    n_equal, worst = 0, 0.0
    for r in rows:
        task, arch = r["dataset"], r["arch"]
        side = tnb101.naslib_flops_side(task)
        if (arch, side) not in enc:
            with torch.device("meta"):
                e = tnb101.build(arch, "room_layout", space).encoder
                out = e.eval()(torch.zeros(1, 3, side, side))
            enc[(arch, side)] = (count_flops_naslib(e, (1, 3, side, side)), tuple(out.shape))
        f_enc, shape = enc[(arch, side)]
        if task == "jigsaw":
            shape = (1, 9 * shape[1], *shape[2:])
        if (task, shape) not in dec:
            with torch.device("meta"):
                m = tnb101.build(arch, task, space)
            dec[(task, shape)] = count_flops_naslib(m.decoder, shape)
            whole = tnb101.naslib_flops(arch, task, space, device="meta")
            assert abs(whole - f_enc - dec[(task, shape)]) <= 1e-9 * whole, (arch, task)
        # the column prints 10 significant digits (whole FLOPs below 10,000 M): equal means
        # equal after rounding to the printed decimals
        text = r["flops"].strip()
        diff = abs(f_enc + dec[(task, shape)] - float(text))
        half_ulp = 0.5 * 10.0 ** -len(text.partition(".")[2])
        worst = max(worst, diff / (2 * half_ulp))
        n_equal += diff <= half_ulp * (1 + 1e-9)
    return {"rows": len(rows), "equal": n_equal, "max_diff_in_last_digit": worst}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--space", choices=sorted(FILES), action="append")
    ap.add_argument("--every", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for space in args.space or sorted(FILES):
        t0 = time.perf_counter()
        res = check(space, args.every)
        print(
            f"{space}: {res['equal']}/{res['rows']} rows equal, largest difference "
            f"{res['max_diff_in_last_digit']:.2f} units of the last printed digit, "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
