"""Hardened boundaries (issue 14): bounded sizes, checked parser arithmetic, dataset paths
that stay inside, read-only score stores, and the right error for each."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import zcnas
from eznas.tiny_task import write_task
from zcnas import _native
from zcnas.bench.store import ScoreStore, cli_summary
from zcnas.exceptions import ZcnasError
from zcnas.eznas.evolution import evaluate_stats
from zcnas.eznas.shards import MAX_INSTANCES, load_manifest, read_shard

# ----------------------------------------------------------------------------- sizes


@pytest.mark.parametrize("n", [0, -1, 10**6, 10**30, -(10**30)])
def test_set_num_threads_bounds(n):
    before = zcnas.get_num_threads()
    t0 = time.perf_counter()
    with pytest.raises(ZcnasError, match=r"at least 1 and at most \d+"):
        zcnas.set_num_threads(n)
    assert time.perf_counter() - t0 < 1.0  # refused, not attempted
    assert zcnas.get_num_threads() == before
    with pytest.raises(TypeError):
        zcnas.set_num_threads("4")


def test_max_num_threads_is_accepted():
    before = zcnas.get_num_threads()
    cap = _native.max_num_threads()
    assert cap >= max(256, os.cpu_count() or 1)
    try:
        zcnas.set_num_threads(2)
        assert zcnas.get_num_threads() == 2
    finally:
        zcnas.set_num_threads(before)


@pytest.mark.parametrize(
    ("value", "message"),
    [("1000000", "at most"), ("abc", "positive integer"), ("0", "at least 1"), ("-3", "")],
)
def test_zcnas_num_threads_variable_bounds(value, message):
    code = (
        "import zcnas\n"
        "try:\n    zcnas.get_num_threads()\n"
        "except zcnas.ZcnasError as e:\n    print('ERR', e)\n"
        "else:\n    print('OK')\n"
    )
    env = dict(os.environ, ZCNAS_NUM_THREADS=value)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ERR"), out.stdout
    assert "ZCNAS_NUM_THREADS" in out.stdout and message in out.stdout
    assert time.perf_counter() - t0 < 60


def test_zcnas_num_threads_variable_valid():
    env = dict(os.environ, ZCNAS_NUM_THREADS="3")
    out = subprocess.run(
        [sys.executable, "-c", "import zcnas; print(zcnas.get_num_threads())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.strip() == "3", out.stderr


def test_eznas_depth_and_count_bounds():
    t0 = time.perf_counter()
    # issue 14's probe: this grew a tree until the process aborted on allocation failure
    with pytest.raises(ZcnasError, match="min_depth <= max_depth <= 16"):
        _native.eznas_mutate("Abs(T1D)", 0, min_depth=300, max_depth=5)
    with pytest.raises(ZcnasError, match="min_depth <= max_depth"):
        _native.eznas_mutate("Abs(T1D)", 0, min_depth=3, max_depth=2)
    with pytest.raises(ZcnasError, match="max_depth <= 16"):
        _native.eznas_random_trees(1, 0, 0, 17)
    with pytest.raises(ZcnasError, match="formulas"):
        _native.eznas_random_trees(10**7, 0, 0, 2)
    with pytest.raises(ZcnasError, match="nodes"):
        _native.eznas_random_trees(10_000, 0, 16, 16)
    assert time.perf_counter() - t0 < 2.0
    # within the bounds: heights as asked
    for t in _native.eznas_random_trees(50, 1, 3, 3, "full"):
        assert _native.eznas_parse(t)[1] == 3
    m = _native.eznas_mutate("Add(T1D, T2D)", 5, min_depth=4, max_depth=4)
    assert 4 <= _native.eznas_parse(m)[1] <= 5
    # crossover of two formulas of the largest height: the children stay parseable or err
    deep = "Abs(" * 256 + "T1D" + ")" * 256
    assert _native.eznas_parse(deep)[1] == 256
    with pytest.raises(ZcnasError, match="nesting deeper than 256"):
        _native.eznas_parse("Abs(" * 257 + "T1D" + ")" * 257)
    for seed in range(5):
        try:
            a, b = _native.eznas_crossover(deep, deep, seed)
        except ZcnasError as e:
            assert "more than a formula may be (256)" in str(e)
        else:
            assert _native.eznas_parse(a)[1] <= 256 and _native.eznas_parse(b)[1] <= 256


def test_evolver_config_bounds_and_unknown_keys(tmp_path):
    write_task(tmp_path / "t", 4, seed=1)
    dirs = [str(tmp_path / "t")]
    # issue 14's probe: a misspelt key ran silently with the default
    with pytest.raises(ZcnasError, match="unknown field `populaton`"):
        _native.EznasEvolver(dirs, json.dumps({"populaton": 5}))
    for key, value in [
        ("population", 10**6),
        ("generations", 10**7),
        ("lambda", 10**6),
        ("hall_of_fame", 10**6),
    ]:
        with pytest.raises(ZcnasError, match="must be at most"):
            _native.EznasEvolver(dirs, json.dumps({key: value}))
    with pytest.raises(ZcnasError, match="max_depth"):
        _native.EznasEvolver(dirs, json.dumps({"max_depth": 300}))


def test_evolver_checkpoint_indices_are_checked(tmp_path):
    write_task(tmp_path / "t", 4, seed=2)
    dirs = [str(tmp_path / "t")]
    cfg = json.dumps({"population": 4, "mu": 2, "lambda": 4, "generations": 1})
    ev = _native.EznasEvolver(dirs, cfg)
    state = json.loads(ev.state_json())
    for bad, match in [
        ({"validation": [[0, 99], [0, 0]]}, "validation network"),
        ({"validation": [[5, 0], [0, 0]]}, "validation network"),
        ({"validation": [[0, 0]]}, "validation networks"),
        ({"next_generation": 10**6}, "past the last"),
    ]:
        with pytest.raises(ZcnasError, match=match):
            _native.EznasEvolver(dirs, cfg, json.dumps(state | bad))
    with pytest.raises(ZcnasError, match="checkpoint"):
        _native.EznasEvolver(dirs, cfg, json.dumps(state | {"extra_key": 1}) + "x")


# ----------------------------------------------------------------------------- shards


def _rewrite_offsets(path: Path, name: str, lo: int, hi: int) -> int:
    """Rewrite one tensor's data_offsets in a safetensors file; the header is written compact
    and padded with spaces (as the format allows) to the compact original's length + 64.
    Returns the new header length."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    n_new = len(json.dumps(header, separators=(",", ":"))) + 64
    header[name]["data_offsets"] = [lo, hi]
    text = json.dumps(header, separators=(",", ":")).encode()
    assert len(text) <= n_new, "the new header must fit"
    path.write_bytes(struct.pack("<Q", n_new) + text.ljust(n_new, b" ") + raw[8 + n :])
    return n_new


def test_wrapping_shard_offsets_are_an_error_not_a_nan(tmp_path):
    d = tmp_path / "t"
    write_task(d, 3, seed=3, dtype="float64", n_inst=1)
    good = evaluate_stats(["FrobeniusNorm(T1D)"], d)
    assert np.isfinite(good).all()
    shard = d / "net_00000.safetensors"
    original = shard.read_bytes()
    (n,) = struct.unpack("<Q", original[:8])
    lo0, hi0 = json.loads(original[8 : 8 + n])["000/T1D"]["data_offsets"]
    size = hi0 - lo0
    n_new = _rewrite_offsets(shard, "000/T1D", lo0, hi0)  # same offsets, longer header
    np.testing.assert_array_equal(evaluate_stats(["FrobeniusNorm(T1D)"], d), good)
    # issue 14's probe: data_start + hi wraps around 2**64 to a point inside the header
    hi = 2**64 - (8 + n_new) + 16
    shard.write_bytes(original)
    assert _rewrite_offsets(shard, "000/T1D", hi - size, hi) == n_new
    with pytest.raises(ZcnasError, match="inconsistent offsets"):
        evaluate_stats(["FrobeniusNorm(T1D)"], d)
    for lo, hi in [(2**64 - 1 - size, 2**64 - 1), (hi0, lo0), (lo0, hi0 + 8), (lo0, 2**63)]:
        shard.write_bytes(original)
        _rewrite_offsets(shard, "000/T1D", lo, hi)
        with pytest.raises(ZcnasError, match="inconsistent offsets"):
            evaluate_stats(["FrobeniusNorm(T1D)"], d)


def _set_file(d: Path, j: int, value: object) -> None:
    m = json.loads((d / "manifest.json").read_text())
    m["networks"][j]["file"] = value
    (d / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize("name", ["../outside.safetensors", "/etc/hostname", "a/../../x", ""])
def test_manifest_paths_stay_inside(tmp_path, name):
    d = tmp_path / "t"
    write_task(d, 3, seed=4, n_inst=1)
    (tmp_path / "outside.safetensors").write_bytes((d / "net_00001.safetensors").read_bytes())
    _set_file(d, 0, name)
    with pytest.raises(ZcnasError, match=r"shard name|not a file name"):
        load_manifest(d)
    with pytest.raises(ZcnasError, match=r"unsafe shard name|not a file name"):
        evaluate_stats(["FrobeniusNorm(T1D)"], d)
    with pytest.raises(ZcnasError, match=r"unsafe shard name|not a file name"):
        _native.eznas_score_stats(["FrobeniusNorm(T1D)"], str(d))  # the Rust reader itself
    with pytest.raises(ZcnasError):
        read_shard(d, {"file": name, "n_instances": 1})


def test_manifest_symlink_leaving_the_folder(tmp_path):
    d = tmp_path / "t"
    write_task(d, 3, seed=5, n_inst=1)
    (tmp_path / "outside.safetensors").write_bytes((d / "net_00001.safetensors").read_bytes())
    os.symlink(tmp_path / "outside.safetensors", d / "link.safetensors")
    _set_file(d, 0, "link.safetensors")
    with pytest.raises(ZcnasError, match="outside the directory"):
        load_manifest(d)
    with pytest.raises(ZcnasError, match="outside"):
        evaluate_stats(["FrobeniusNorm(T1D)"], d)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[" * 100_000 + "]" * 100_000, "cannot read the manifest"),
        ("[1, 2]", "is not a zcnas-eznas-stats"),
        (None, "cannot read the manifest"),
    ],
)
def test_manifest_bad_documents(tmp_path, text, match):
    p = tmp_path / "manifest.json"
    if text is None:
        p.write_bytes(b"\xff\xfe\x00binary")
    else:
        p.write_text(text)
    with pytest.raises(ZcnasError, match=match):
        load_manifest(tmp_path)


def test_manifest_instance_count_bound(tmp_path):
    d = tmp_path / "t"
    write_task(d, 2, seed=6, n_inst=1)
    m = json.loads((d / "manifest.json").read_text())
    for bad in (-1, MAX_INSTANCES + 1, 1.5, "3", True):
        m["networks"][0]["n_instances"] = bad
        (d / "manifest.json").write_text(json.dumps(m))
        with pytest.raises(ZcnasError, match="n_instances"):
            load_manifest(d)


# ----------------------------------------------------------------------------- store


@pytest.fixture
def filled_store(tmp_path):
    path = tmp_path / "s.db"
    with ScoreStore(path) as st:
        st.put("nasbench201", "cifar10", 1, "snip", 1.5)
        st.put("nasbench201", "cifar10", 2, "snip", math.nan)
        st.put_ground_truth("nasbench201", "cifar10", 1, "val_accuracy", 90.0)
    return path


def test_readers_proceed_while_a_writer_holds_the_lock(filled_store, capsys):
    writer = sqlite3.connect(filled_store, isolation_level=None, timeout=0.1)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO scores (space, task, arch, proxy, flavor, score, zcnas_version, "
        "created_at) VALUES ('nasbench201', 'cifar10', '3', 'snip', 'default', 7.0, 'x', 'y')"
    )
    try:
        t0 = time.perf_counter()
        with ScoreStore(filled_store, mode="r", timeout_s=0.2) as ro:
            assert ro.mode == "r"
            # the last committed state: the uncommitted row is not seen
            assert ro.missing("nasbench201", "cifar10", ["1", "2", "3"], ["snip"]) == [
                ("3", "snip")
            ]
            assert ro.get("nasbench201", "cifar10", 1, "snip").score == 1.5
            assert len(ro.summary()) == 1
            assert ro.failures().empty
            assert ro.integrity_check() == []
            with pytest.raises(ZcnasError, match="read-only"):
                ro.put("nasbench201", "cifar10", 4, "snip", 1.0)
            with pytest.raises(ZcnasError, match="read-only"):
                ro.delete("nasbench201", "cifar10", 1, "snip")
            with pytest.raises(ZcnasError, match="read-only"):
                ro.put_failure("nasbench201", "cifar10", 4, "boom")
        assert time.perf_counter() - t0 < 5
        assert cli_summary(filled_store) == 0  # `zcnas store info` reads read-only
        assert "nasbench201" in capsys.readouterr().out
        # a writer waiting past its timeout is told the store is locked, not unusable
        with pytest.raises(ZcnasError, match="locked by another writer") as err:
            ScoreStore(filled_store, timeout_s=0.2)
        assert "not a usable" not in str(err.value)
    finally:
        writer.execute("COMMIT")
        writer.close()
    with ScoreStore(filled_store, mode="r") as ro:
        assert ro.get("nasbench201", "cifar10", 3, "snip").score == 7.0


def test_read_only_open_errors(tmp_path, filled_store):
    with pytest.raises(ZcnasError, match="does not exist"):
        ScoreStore(tmp_path / "absent.db", mode="r")
    assert not (tmp_path / "absent.db").exists()
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(ZcnasError, match="is empty"):
        ScoreStore(tmp_path / "empty.db", mode="r")
    with pytest.raises(ZcnasError, match="mode must be"):
        ScoreStore(filled_store, mode="rw")
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ZcnasError, match="not a zcnas score store"):
        ScoreStore(tmp_path / "junk.db", mode="r")
    assert "read-only" in repr(ScoreStore(filled_store, mode="r"))


def test_read_only_store_of_an_old_file_without_failures_table(filled_store):
    con = sqlite3.connect(filled_store)
    con.execute("DROP TABLE failures")
    con.commit()
    con.close()
    with ScoreStore(filled_store, mode="r") as ro:
        assert list(ro.failures().columns)[:3] == ["space", "task", "arch"]
        assert ro.failures().empty
    with ScoreStore(filled_store) as rw:  # a writer adds the table back
        assert rw.failures().empty


@pytest.mark.parametrize("t", [math.inf, 1e30, -1.0, math.nan, "5"])
def test_store_timeout_bound(tmp_path, t):
    from zcnas.bench.store import MAX_TIMEOUT_S

    assert MAX_TIMEOUT_S == 86_400.0
    with pytest.raises(ZcnasError, match="timeout_s must be a number in"):
        ScoreStore(tmp_path / "s.db", timeout_s=t)
    ScoreStore(tmp_path / "s.db", timeout_s=MAX_TIMEOUT_S).close()


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe binary", b"[1, 2]", b"[" * 100_000 + b"]" * 100_000, b'{"config": 3}', b"{}"],
)
def test_evolve_checkpoint_files_are_checked(tmp_path, content):
    from zcnas.eznas.evolution import evolve

    write_task(tmp_path / "t", 4, seed=7)
    ckpt = tmp_path / "ckpt.json"
    ckpt.write_bytes(content)
    with pytest.raises(ZcnasError, match="checkpoint"):
        evolve(
            tmp_path / "t",
            generations=1,
            population=4,
            mu=2,
            lam=4,
            checkpoint=ckpt,
            progress=False,
        )


def test_evaluate_stats_manifest_is_checked(tmp_path):
    (tmp_path / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ZcnasError, match="cannot read the manifest"):
        evaluate_stats(["Abs(T1D)"], tmp_path)


@pytest.mark.parametrize("bad", [-1, -(10**30), 10**30])
def test_size_arguments_are_zcnas_errors_not_overflow(bad):
    """Negative or huge ints for size/depth/count/index parameters: ZcnasError naming the
    range (PyO3 alone raises OverflowError); the note names the argument."""
    x = np.arange(5.0)
    calls = {
        "n": lambda: _native.eznas_random_trees(bad, 0),
        "min_depth": lambda: _native.eznas_mutate("Abs(T1D)", 0, min_depth=bad),
        "max_depth": lambda: _native.eznas_random_trees(1, 0, 0, bad),
        "k": lambda: _native.top_k_precision(x, x, bad),
        "id": lambda: _native.IncrementalAggregator("linear", [True]).remove(bad),
        "networks": lambda: _native.eznas_score_stats(["Abs(T1D)"], "/nonexistent", "mean", [bad]),
    }
    for name, call in calls.items():
        with pytest.raises(ZcnasError, match=r"must be an integer in 0\.\.2\*\*64") as err:
            call()
        assert f"'{name}'" in " ".join(getattr(err.value, "__notes__", [])), name
    with pytest.raises(TypeError):
        _native.eznas_random_trees("3", 0)


def test_load_tasks_from_a_path_reads_while_a_writer_holds_the_lock(filled_store):
    from zcnas.analysis.data import load_tasks

    with ScoreStore(filled_store) as st:
        for i in range(3, 30):
            st.put("nasbench201", "cifar10", i, "snip", float(i))
            st.put("nasbench201", "cifar10", i, "synflow", float(-i))
            st.put_ground_truth("nasbench201", "cifar10", i, "val_accuracy", 50.0 + i)
    writer = sqlite3.connect(filled_store, isolation_level=None, timeout=0.1)
    writer.execute("BEGIN IMMEDIATE")
    try:
        (task,) = load_tasks(filled_store)
        assert (task.space, task.task) == ("nasbench201", "cifar10")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
