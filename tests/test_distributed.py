"""zcnas.distributed: local processes and Ray give the stored scores of the in-process scorer;
failures are recorded and skipped; a killed run resumes without recomputation or lost rows.

Worker processes are spawned, so the failure and kill tests run a small driver script in a
subprocess (a spawned worker must be able to import the job's class from the script).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from zcnas import ZcnasError
from zcnas.bench import ScoreStore
from zcnas.distributed import score_distributed
from zcnas.scoring import score_architectures

PROXIES = ["params", "synflow"]
ARCHS = [0, 11, 4811, 6111]


def _rows(store: ScoreStore) -> dict[tuple[str, str], tuple[float, str]]:
    df = store.scores_frame()
    return {
        (a, p): (s, c)
        for a, p, s, c in zip(df.arch, df.proxy, df.score, df.created_at, strict=True)
    }


def test_local_backend_equals_in_process_and_skips_stored(tmp_path, torch_one_thread):
    ref = score_architectures("nb201", ARCHS, PROXIES, seed=3)
    with ScoreStore(tmp_path / "s.db") as st:
        score_architectures("nb201", ARCHS[:2], PROXIES, seed=3, store=st)  # stored before
        before = _rows(st)
        rep = score_distributed(
            "nb201", [*ARCHS, ARCHS[-1]], PROXIES, store=st, workers=2, seed=3, progress=False
        )
        after = _rows(st)
        rec = st.get("nasbench201", "cifar10", "6111", "synflow")
    # only the new architectures were scored; earlier rows are untouched (same timestamps)
    assert (rep.n_requested, rep.n_already_stored, rep.n_scored, rep.n_failed) == (4, 2, 2, 0)
    assert rep.workers == 2 and len(rep.completion_times) == 2
    assert all(after[k] == v for k, v in before.items())
    assert set(after) == {(str(a), p) for a in ARCHS for p in PROXIES}
    for a in ARCHS:
        for p in PROXIES:
            assert after[(str(a), p)][0] == ref[str(a)][p]  # bit-identical to in-process
    assert rec.seed == 3 and rec.batch_size == 30 and rec.input_kind == "cifar10-real"


def test_stored_scores_come_with_ground_truth_for_the_analysis(tmp_path, torch_one_thread):
    from zcnas.analysis import load_tasks
    from zcnas.bench import load_nb201
    from zcnas.spaces import macro

    with ScoreStore(tmp_path / "s.db") as st:
        score_architectures("nb201", ARCHS, ["params", "flops"], dataset="cifar100", store=st)
        score_architectures("macro", ["22212202", "00000000", "11111111"], ["params"], store=st)
        (task,) = [t for t in load_tasks(st) if t.space == "nasbench201"]
        gt = st.ground_truth_frame()
    acc = load_nb201().test_accuracy("cifar100")
    assert task.task == "cifar100" and sorted(task.proxies) == ["flops", "params"]
    np.testing.assert_array_equal(task.truth, acc[[int(a) for a in task.archs]])
    m = gt[gt.space == "nasbench_macro"].set_index("arch")["value"]
    assert m["22212202"] == pytest.approx(macro.load_macro().query("22212202"))


def test_bad_arguments(tmp_path):
    with ScoreStore(tmp_path / "s.db") as st:
        with pytest.raises(ZcnasError, match="workers"):
            score_distributed("nb201", [0], ["params"], store=st, workers=0)
        with pytest.raises(ZcnasError, match="unknown backend"):
            score_distributed("nb201", [0], ["params"], store=st, backend="mpi")
        with pytest.raises(ZcnasError, match="address"):
            score_distributed("nb201", [0], ["params"], store=st, address="auto")
    with pytest.raises(ZcnasError, match="needs a ScoreStore"):
        score_distributed("nb201", [0], ["params"], store=None)


JOB_MODULE = textwrap.dedent(
    """
    import json, os, signal, sys, time

    from zcnas.bench import ScoreStore
    from zcnas.distributed import score_distributed
    from zcnas.scoring import ArchScorer


    class FlakyScorer(ArchScorer):
        \"\"\"Arch 28 raises; arch 29 kills its worker unless the file `heal` exists.\"\"\"

        def __init__(self, folder, delay):
            super().__init__("nb201", ["params", "flops"])
            self.folder, self.delay = folder, delay

        def __call__(self, arch):
            if arch == 28:
                raise RuntimeError("boom on 28")
            if arch == 29 and not os.path.exists(os.path.join(self.folder, "heal")):
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(self.delay)
            return super().__call__(arch)


    def run(folder, delay, retry=False):
        with ScoreStore(os.path.join(folder, "s.db")) as st:
            return score_distributed(
                "nb201", list(range(30)), ["params", "flops"], store=st, workers=1,
                job=FlakyScorer(folder, delay), retry_failed=retry, progress=False,
            )


    if __name__ == "__main__":
        run(sys.argv[1], float(sys.argv[2]))
    """
)


@pytest.mark.slow
def test_killed_driver_resumes_and_failures_are_recorded(tmp_path, monkeypatch):
    db = tmp_path / "s.db"
    (tmp_path / "flaky_zcnas_job.py").write_text(JOB_MODULE)
    # 1. a slow run in a subprocess, SIGKILLed (driver and worker) after a few architectures
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "flaky_zcnas_job.py"), str(tmp_path), "0.4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                with ScoreStore(db) as st:
                    if len(st.scores_frame()) >= 6:
                        break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "run ended early"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    with ScoreStore(db) as st:
        before = _rows(st)
    done = {a for a, _ in before}
    assert 3 <= len(done) < 28 and all(len([k for k in before if k[0] == a]) == 2 for a in done)

    # 2. resume here (the job class imported from the same file; spawned workers find it on
    # sys.path): nothing stored is recomputed, the rest is scored, two failures are recorded
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("flaky_zcnas_job")
    monkeypatch.setitem(sys.modules, "flaky_zcnas_job", mod)  # removed again at teardown
    rep = mod.run(str(tmp_path), 0.0)
    assert rep.n_already_stored == len(done)
    assert rep.n_scored == 28 - len(done)
    assert (rep.n_failed, rep.worker_deaths) == (2, 1)
    with ScoreStore(db) as st:
        after = _rows(st)
        fails = st.failures("nasbench201", "cifar10").set_index("arch")
    assert all(after[k] == v for k, v in before.items())  # same values, same timestamps
    assert {a for a, _ in after} == {str(a) for a in range(28)}
    assert fails.loc["28", "error"] == "RuntimeError: boom on 28"
    assert fails.loc["29", "error"] == "worker process died (signal 9)"
    assert fails.loc["28", "proxies"] == "params,flops"
    ref = score_architectures("nb201", [27], ["params", "flops"])
    assert after[("27", "flops")][0] == ref["27"]["flops"]

    # 3. a plain rerun skips the recorded failures (no worker is started); retry_failed
    # retries them, and a success clears the record
    rep = mod.run(str(tmp_path), 0.0)
    assert (rep.n_skipped_failed, rep.n_scored, rep.n_failed, rep.workers) == (2, 0, 0, 0)
    (tmp_path / "heal").touch()
    rep = mod.run(str(tmp_path), 0.0, retry=True)
    assert (rep.n_scored, rep.n_failed, rep.worker_deaths) == (1, 1, 0)
    with ScoreStore(db) as st:
        fails = st.failures("nasbench201", "cifar10").set_index("arch")
        assert st.has("nasbench201", "cifar10", "29", "params")
    assert list(fails.index) == ["28"] and fails.loc["28", "attempts"] == 2


# ---------------------------------------------------------------------------------------- Ray


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance (2 CPUs) for the module; Ray starts slowly, so it is shared."""
    import logging

    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level=logging.ERROR,
        log_to_driver=False,
        configure_logging=True,
    )
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_backend_stores_the_same_scores(tmp_path, local_ray, torch_one_thread):
    ref = score_architectures("nb201", ARCHS, PROXIES, seed=1)
    with ScoreStore(tmp_path / "r.db") as st:
        rep = score_distributed(
            "nb201", ARCHS, PROXIES, store=st, backend="ray", workers=2, seed=1, progress=False
        )
        rows = _rows(st)
        again = score_distributed(
            "nb201", ARCHS, PROXIES, store=st, backend="ray", workers=2, seed=1, progress=False
        )
    assert (rep.backend, rep.n_scored, rep.n_failed) == ("ray", 4, 0)
    assert local_ray.is_initialized()  # an instance it did not start is left running
    assert again.n_already_stored == 4 and again.n_scored == 0
    got = np.array([rows[(str(a), p)][0] for a in ARCHS for p in PROXIES])
    want = np.array([ref[str(a)][p] for a in ARCHS for p in PROXIES])
    np.testing.assert_array_equal(got, want)


def test_score_cli_parallel(tmp_path, capsys):
    from zcnas.cli import main

    db = str(tmp_path / "c.db")
    assert main(["score", "--all", "--proxies", "params"]) == 2
    assert "needs --store" in capsys.readouterr().err
    args = ["score", "--arch", "0", "--arch", "5", "--proxies", "params,flops", "--store", db]
    assert main([*args, "--workers", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["backend"], summary["scored"], summary["failed"]) == ("local", 2, 0)
    with ScoreStore(db) as st:
        assert st.get("nasbench201", "cifar10", "5", "flops").score == pytest.approx(
            score_architectures("nb201", [5], ["flops"])["5"]["flops"]
        )
        # the JSON report carries the scores, as a serial run's JSON does
        assert summary["scores"] == {
            k: {p: st.get("nasbench201", "cifar10", k, p).score for p in ("params", "flops")}
            for k in ("0", "5")
        }
    # a rerun has nothing left: it says so instead of "local x0: scored 0 of 2"
    assert main([*args, "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "nothing to score: 2 of 2 architectures already stored" in out and "x0" not in out
    # and shows the stored scores, as a serial run does: arch 5 before 0 when asked so
    rows = [ln for ln in out.splitlines() if ln.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ["0", "5"]
    assert "flops (MFLOPs)" in out
    assert main([*args[:1], "--arch", "5", *args[1:], "--workers", "1"]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("│")]
    with ScoreStore(db) as st:
        flops5 = st.get("nasbench201", "cifar10", "5", "flops").score
    assert [r.split("│")[1].strip() for r in rows] == ["5", "0"]
    assert rows[0].split("│")[3].strip() == f"{flops5:.4g}"


def test_score_cli_parallel_failures_exit_2(tmp_path, capsys):
    """Architectures that fail in a parallel run: the others are stored and shown, the run
    exits 2 as a serial run does, and the message says how a rerun treats them."""
    from zcnas.cli import main
    from zcnas.proxies import is_proxy, unregister
    from zcnas.proxies import plugins as plugins_mod

    plugin = tmp_path / "boom_plugin.py"
    plugin.write_text(
        "from zcnas.proxies import Proxy, register\n"
        "def boom(ctx, flavor):\n"
        "    if sum(p.numel() for p in ctx.model.parameters()) > 200_000:\n"
        "        raise RuntimeError('boom on a large network')\n"
        "    return 1.0\n"
        "register(Proxy('boom_large', boom))\n"
    )
    db = str(tmp_path / "f.db")
    args = ["score", "--arch", "0", "--arch", "6111", "--proxies", "boom_large,params"]
    args += ["--plugin", str(plugin), "--store", db, "--workers", "1", "--batch-size", "4"]
    try:
        assert main([*args, "--json"]) == 2
        summary = json.loads(capsys.readouterr().out)
        assert (summary["scored"], summary["failed"]) == (1, 1)  # arch 0 has 0.13 M params
        assert list(summary["scores"]) == ["0"] and summary["failures"][0][0] == "6111"
        assert main([*args, "--retry-failed"]) == 2
        out = capsys.readouterr().out
        assert "failed 6111: ZcnasError: proxy 'boom_large' failed" in out
        assert "--retry-failed" in out and "--proxy-errors nan" in out
    finally:
        if is_proxy("boom_large"):
            unregister("boom_large")
        plugins_mod._LOADED.clear()


def test_ray_address_without_a_head_node_fails_fast(tmp_path, capsys):
    """An explicit HOST:PORT where nothing listens is a one-line error, not minutes of Ray
    retrying its GCS connection."""
    import socket

    pytest.importorskip("ray")
    from zcnas.cli import main

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    argv = ["score", "--space", "nb201", "--arch", "0", "--proxies", "params"]
    argv += ["--address", f"127.0.0.1:{port}", "--store", str(tmp_path / "s.db")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"no Ray head node answers at 127.0.0.1:{port}" in err
    assert "ray start --head" in err
    assert time.perf_counter() - t0 < 30
