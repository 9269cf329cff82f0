"""`zcnas score --backend ray --address HOST:PORT` against a real Ray head node.

The head node is started with ``ray start --head --block`` on loopback (free ports, a private
``--temp-dir`` and ``HOME``) with token authentication on, as Ray >= 2.52 does for a machine
that has a token. The CLI runs in a subprocess (a client process of its own, like a user's):

* with the token in ``~/.ray/auth_token`` and ``RAY_AUTH_MODE`` unset, it joins and stores
  the scores of the in-process scorer;
* without a token, joining fails with a message naming what to set.

The head node's process group is terminated in the fixture's finaliser (SIGTERM, then
SIGKILL); a global ``ray stop`` would also stop Ray instances this test did not start.
Skipped only when the ``ray`` extra is not installed.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from zcnas.bench import ScoreStore
from zcnas.scoring import score_architectures

pytest.importorskip("ray")

ARCHS = ["0", "5"]
PROXIES = ["params", "flops"]


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(home), **extra)
    return env


@pytest.fixture(scope="module")
def head_node(tmp_path_factory):
    """``(address, home with the cluster's token)`` of a head node started for this module."""
    home = tmp_path_factory.mktemp("ray_home")
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text(secrets.token_hex(32))
    temp_dir = tempfile.mkdtemp(prefix="zr", dir="/tmp")  # short: Unix socket paths
    gcs, nm, om, agent, agent_grpc, renv, metrics, dash = _free_ports(8)
    ray_bin = Path(sys.executable).with_name("ray")
    cmd = [
        str(ray_bin) if ray_bin.exists() else "ray",
        "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(gcs),
        "--num-cpus", "1", "--include-dashboard", "false", "--disable-usage-stats",
        "--temp-dir", temp_dir, "--node-manager-port", str(nm), "--object-manager-port", str(om),
        "--dashboard-agent-listen-port", str(agent), "--dashboard-agent-grpc-port",
        str(agent_grpc), "--runtime-env-agent-port", str(renv), "--metrics-export-port",
        str(metrics), "--dashboard-port", str(dash),
    ]  # fmt: skip
    env = _env(home, RAY_AUTH_MODE="token", RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S="0")
    log = open(home / "head.log", "w+")  # closed in the finaliser
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            log.seek(0)
            text = log.read()
            if "Ray runtime started" in text:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start --head did not come up:\n{text[-3000:]}")
            time.sleep(0.2)
        yield f"127.0.0.1:{gcs}", home
    finally:
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:  # whatever of the group outlived `ray start`
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.close()
        subprocess.run(["rm", "-rf", temp_dir], check=False)


def _score_cli(address: str, db: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "zcnas", "score", "--proxies", ",".join(PROXIES)]
    for a in ARCHS:
        args += ["--arch", a]
    args += ["--store", str(db), "--address", address, "--workers", "1", "--json"]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_cli_joins_a_head_node_by_address_with_its_token(head_node, tmp_path):
    address, home = head_node
    db = tmp_path / "s.db"
    res = _score_cli(address, db, _env(home))  # RAY_AUTH_MODE unset, token in ~/.ray
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)
    assert (summary["backend"], summary["scored"], summary["failed"]) == ("ray", 2, 0)
    ref = score_architectures("nb201", [int(a) for a in ARCHS], PROXIES)
    with ScoreStore(db) as st:
        for a in ARCHS:
            for p in PROXIES:
                assert st.get("nasbench201", "cifar10", a, p).score == ref[a][p]


@pytest.mark.slow
def test_join_without_the_token_says_what_to_set(head_node, tmp_path):
    """The Ray backend alone (no torch import: a light client process) fails with the
    message `zcnas score` prints as its `error:` line."""
    address, _ = head_node
    no_token = tmp_path / "home"
    no_token.mkdir()
    env = _env(no_token, RAY_NUM_REDIS_GET_RETRIES="2")  # fail after ~2 s, not ~20 s
    code = (
        "import sys\n"
        "from zcnas.distributed import make_backend\n"
        "from zcnas.exceptions import ZcnasError\n"
        "try:\n"
        f"    make_backend('ray', address={address!r}).start(None, 1)\n"
        "except ZcnasError as e:\n"
        "    print(e)\n"
        "    sys.exit(3)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 3, res.stderr[-3000:]
    msg = res.stdout
    assert f"cannot join the Ray cluster at {address}" in msg
    assert "no Ray token was found here" in msg
    assert "RAY_AUTH_MODE=token" in msg and "RAY_AUTH_TOKEN" in msg and "--address auto" in msg
