"""AZ-NAS on NAS-Bench-201: the four proxies and their non-linear rank aggregate on 200
uniformly sampled architectures (seed 0), Gaussian inputs (the aznas flavor) shaped like the 30
packaged CIFAR-10 images, Kendall tau against CIFAR-10 test accuracy.

Run: ``.venv/bin/python benches/aznas_nb201.py``. The AZ-NAS paper reports tau 0.741 for the
aggregate over all 15,625 architectures.
"""

import time

import numpy as np
import torch

from zcnas import proxies, stats
from zcnas.bench import load_nb201
from zcnas.datasets import cifar_batch
from zcnas.proxies.aznas import aznas_score
from zcnas.spaces import nb201

torch.set_num_threads(2)
n = 200
archs = [int(a) for a in nb201.sample(n, rng=np.random.default_rng(0), replace=False)]
x, y = cifar_batch("cifar10")
names = ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]
S = np.empty((n, 4))
t0 = time.perf_counter()
for i, a in enumerate(archs):
    torch.manual_seed(0)
    s = proxies.score(nb201.build(a), x, y, proxies=names, seed=0)
    S[i] = [s[p] for p in names]
acc = load_nb201().test_accuracy("cifar10")[archs]
az = aznas_score(S)
print(f"n {n} time/arch {(time.perf_counter() - t0) / n:.2f} s")
for j, p in enumerate(names):
    print(p, f"tau {stats.kendall_tau(S[:, j], acc, nan_policy='omit'):.3f}")
print(f"AZ-NAS aggregate tau {stats.kendall_tau(az, acc):.3f} (paper: 0.741 on all 15,625)")
