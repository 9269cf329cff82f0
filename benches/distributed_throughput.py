"""Throughput of zcnas.distributed: NB201 architectures scored per minute in-process, with the
local process backend and with the Ray backend (local Ray), 1 and 2 workers.

Each configuration scores the same ``N`` uniformly sampled NB201 architectures (seed 0) into a
fresh score store with ``PROXIES`` (real proxy computations on the 30 packaged CIFAR-10
images, one torch thread per worker). Reported: wall time including worker start-up, the
overall rate, and the steady rate between the first and the last result.

Run: ``.venv/bin/python benches/distributed_throughput.py [N] [inline,local,ray]``.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from zcnas.bench import ScoreStore
from zcnas.distributed import score_distributed
from zcnas.scoring import sample_archs, score_architectures

PROXIES = ["synflow", "nwot", "jacov"]


def main() -> None:
    torch.set_num_threads(1)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    which = sys.argv[2].split(",") if len(sys.argv) > 2 else ["inline", "local", "ray"]
    archs = sample_archs("nb201", n, 0)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        if "inline" in which:
            t0 = time.perf_counter()
            score_architectures("nb201", archs, PROXIES)
            el = time.perf_counter() - t0
            rows.append(
                {
                    "config": "in-process",
                    "workers": 1,
                    "elapsed_s": el,
                    "per_min": 60 * n / el,
                    "steady_per_min": 60 * n / el,
                }
            )
            print(rows[-1], flush=True)
        for backend in [b for b in ("local", "ray") if b in which]:
            for workers in (1, 2):
                with ScoreStore(Path(d) / f"{backend}{workers}.db") as st:
                    rep = score_distributed(
                        "nb201",
                        archs,
                        PROXIES,
                        store=st,
                        backend=backend,
                        workers=workers,
                        progress=False,
                    )
                assert rep.n_scored == n and rep.n_failed == 0
                rows.append(
                    {
                        "config": backend,
                        "workers": workers,
                        "elapsed_s": rep.elapsed_s,
                        "per_min": rep.archs_per_minute,
                        "steady_per_min": rep.steady_archs_per_minute,
                    }
                )
                print(rows[-1], flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
