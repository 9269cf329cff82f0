"""Start-up cost of the command line and of the proxy package (issue 15 evidence).

Runs each command ``--repeat`` times in a fresh interpreter (warm page cache, no ``.pyc``
writing) and prints the median and minimum wall time as a Markdown table, with the load
average, since a shared machine inflates every row alike. ``zcnas --help`` must not import
torch or pandas; the last rows say which heavy packages each command loaded.

    python benches/cli_startup.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

PY = sys.executable
ZCNAS = [PY, "-m", "zcnas.cli"]
HEAVY = "import sys; print(sorted(m for m in ('torch', 'pandas', 'numpy') if m in sys.modules))"

CASES = {
    "python -c pass": [PY, "-c", "pass"],
    "python -c 'import numpy'": [PY, "-c", "import numpy"],
    "zcnas --help": [*ZCNAS, "--help"],
    "zcnas store import --help": [*ZCNAS, "store", "import", "--help"],
    "zcnas search zc-pt --help": [*ZCNAS, "search", "zc-pt", "--help"],
    "python -c 'import torch'": [PY, "-c", "import torch"],
    "python -c 'import zcnas.proxies' (cold: fresh interpreter)": [
        PY,
        "-c",
        "import zcnas.proxies",
    ],
}


def _time(cmd: list[str], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}\n")
    print("| command | median s | min s |\n|---|---:|---:|")
    for name, cmd in CASES.items():
        ts = _time(cmd, args.repeat)
        print(f"| `{name}` | {statistics.median(ts):.2f} | {min(ts):.2f} |", flush=True)
    code = f"from zcnas.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\n{HEAVY}"
    r = subprocess.run([PY, "-c", code], check=True, capture_output=True, text=True)
    print(f"\nheavy packages loaded by `zcnas --help`: {r.stdout.strip().splitlines()[-1]}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
