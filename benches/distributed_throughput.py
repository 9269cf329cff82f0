"""Throughput of zcnas.distributed: NB201 architectures scored per minute in-process, with the
local process backend and with the Ray backend (local Ray), 1 and 2 workers.

Each configuration scores the same ``N`` uniformly sampled NB201 architectures (seed 0) into a
fresh score store with ``PROXIES`` (real proxy computations on the 30 packaged CIFAR-10
images, one torch thread per worker). Reported: wall time including worker start-up, the
overall rate, and the steady rate between the first and the last result.

Run: ``.venv/bin/python benches/distributed_throughput.py [N] [inline,local,ray] [suite-zero]``.
The third argument replaces the three proxies by NAS-Bench-Suite-Zero's 13 (the setting of
``zcnas score --all`` in issue 16). Each row also gives the time projected for all 15,625 NB201
cells at the steady rate, and the peak resident memory (VmHWM) of each worker process, read
from ``/proc`` while the run goes on.
"""

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

from zcnas.bench import ScoreStore
from zcnas.distributed import score_distributed
from zcnas.scoring import sample_archs, score_architectures

PROXIES = ["synflow", "nwot", "jacov"]
N_NB201 = 15_625


class PeakRss:
    """Polls the peak RSS (VmHWM, MB) of this process's child processes every 0.5 s."""

    def __init__(self) -> None:
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _children(self) -> list[int]:
        me, out = str(os.getpid()), []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[1] == me:
                            out.append(int(d))
                except OSError:
                    continue
        return out

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for pid in self._children():
                try:
                    with open(f"/proc/{pid}/status") as f:
                        hwm = f.read().split("VmHWM:")[1].split()[0]
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), int(hwm) / 1024)
                except (OSError, IndexError):
                    continue

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    global PROXIES
    torch.set_num_threads(1)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    which = sys.argv[2].split(",") if len(sys.argv) > 2 else ["inline", "local", "ray"]
    if len(sys.argv) > 3 and sys.argv[3] == "suite-zero":
        from zcnas.bench import load_suite_zero_nb201

        PROXIES = list(load_suite_zero_nb201().proxies)
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
                with ScoreStore(Path(d) / f"{backend}{workers}.db") as st, PeakRss() as rss:
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
                        "projected_all_nb201_h": N_NB201 / rep.steady_archs_per_minute / 60,
                        "worker_peak_rss_mb": sorted(
                            round(v) for v in rss.peaks.values() if v > 100
                        ),
                        "load": os.getloadavg(),
                    }
                )
                print(rows[-1], flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
