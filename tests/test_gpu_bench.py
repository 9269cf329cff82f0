"""The GPU scoring benchmark (``benches/gpu_nb201_all.py``) runs on the CPU too, and its stored
scores equal a direct ``ArchScorer`` call on the same networks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from zcnas.exceptions import ZcnasError
from zcnas.scoring import ArchScorer

BENCH = Path(__file__).resolve().parents[1] / "benches" / "gpu_nb201_all.py"


def _bench():
    spec = importlib.util.spec_from_file_location("gpu_nb201_all", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cpu_run_equals_direct_scores(tmp_path):
    from zcnas.bench import ScoreStore

    names = ["synflow", "nwot", "params"]
    res = _bench().run(
        device="cpu",
        workers=2,
        limit=3,
        seed=1,
        store_path=tmp_path / "s.db",
        proxy_names=names,
        batch_size=8,
        progress=False,
    )
    assert res["n"] == res["n_scored"] == 3 and res["n_failed"] == 0
    assert set(res["kendall_tau"]) == set(names)
    assert all(-1.0 <= t <= 1.0 for t in res["kendall_tau"].values())
    store = ScoreStore(tmp_path / "s.db", mode="r")
    table = store.query("nasbench201", "cifar10", names)
    store.close()
    job = ArchScorer("nb201", names, seed=1, batch_size=8)
    for arch in table.index:
        direct, _ = job(int(arch))
        np.testing.assert_array_equal(
            table.loc[arch, names].to_numpy(float), [direct[p] for p in names]
        )


def test_unusable_device_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ZcnasError, match="CUDA is not available"):
        ArchScorer("nb201", ["params"], device="cuda")
    with pytest.raises(ZcnasError, match="unknown device"):
        ArchScorer("nb201", ["params"], device="gpu0")


def test_cli_device_flag(capsys):
    import torch

    from zcnas.cli import main

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert main(["score", "--arch", "0", "--proxies", "params", "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err
    assert main(["score", "--arch", "0", "--proxies", "params", "--device", "cpu", "--json"]) == 0
    assert '"0"' in capsys.readouterr().out
