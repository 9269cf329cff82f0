"""Fuzz targets (hypothesis) for every parser of untrusted bytes reached from Python: Suite-Zero
CSV and NASLib JSON importers, program JSON and formulas, ``manifest.json``, safetensors shards
and EZNAS checkpoints. Each input must end in a :class:`ZcnasError` or a correct result, never
another exception, a Rust panic (``PanicException``), an abort or a hang.

The default run is short (``ZCNAS_FUZZ_EXAMPLES``, default 40 examples per target). A longer run
(see benches/RESULTS.md, reliability section)::

    ZCNAS_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest -q tests/test_fuzz.py -p no:randomly

The Rust side has its own proptest targets: ``cargo test -p zcnas-core --test fuzz_parsers``.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eznas.tiny_task import write_task
from zcnas import _native
from zcnas.bench.importers import import_naslib_json, import_suite_zero
from zcnas.bench.store import ScoreStore
from zcnas.exceptions import ZcnasError
from zcnas.eznas.evolution import evaluate_stats
from zcnas.eznas.program import Program
from zcnas.eznas.shards import load_manifest

EXAMPLES = int(os.environ.get("ZCNAS_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
pytestmark = pytest.mark.timeout(600)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def json_text(v: object) -> str:
    return json.dumps(v, allow_nan=True)


def hostile_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=400),
        st.text(max_size=200).map(str.encode),
        st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(1, 5000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    )


def cell() -> st.SearchStrategy[str]:
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-(10**400), max_value=10**400).map(str),
        st.sampled_from(["", " ", "nan", "-inf", "1e999", "0x10", "1_000", "²", "١٢"]),
        st.text(max_size=8),
    )


# ----------------------------------------------------------------------------- importers


@FUZZ
@given(data=hostile_bytes(), name=st.sampled_from(["nb201_cifar10_zc13_5.csv", "naslib_zc_x.csv"]))
def test_fuzz_suite_zero_csv_bytes(data, name):
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / name
        f.write_bytes(data)
        with ScoreStore(Path(d) / "s.db") as store:
            try:
                counts = import_suite_zero(store, f)
            except ZcnasError:
                assert store.summary().empty  # a refused file writes nothing
            else:
                assert isinstance(counts, dict)


@FUZZ
@given(
    rows=st.lists(
        st.tuples(st.integers(-3, 20000).map(str) | st.text(max_size=6), cell(), cell()),
        min_size=1,
        max_size=8,
    )
)
def test_fuzz_zc13_csv_cells_are_stored_exactly(rows):
    """Structured CSV: a refused file writes nothing; an accepted one stores float(text)."""
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "nb201_cifar10_zc13_5.csv"
        lines = ["index,val_acc_naslib,synflow"]
        for idx, gt, score in rows:
            lines.append(",".join(v.replace(",", ";").replace("\n", " ") for v in (idx, gt, score)))
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with ScoreStore(Path(d) / "s.db") as store:
            try:
                import_suite_zero(store, f)
            except ZcnasError:
                assert store.summary().empty
                return
            for idx, _gt, score in rows:
                want = float(score.replace(",", ";").strip() or "nan")
                assert math.isfinite(want) or math.isnan(want) or "inf" in score.lower()
                got = store.get(
                    "nasbench201", "cifar10", str(int(idx.strip())), "synflow", flavor="naslib-zc13"
                )
                assert got.score == want or (math.isnan(got.score) and math.isnan(want))


@FUZZ
@given(data=hostile_bytes() | json_values.map(lambda v: json_text(v).encode()))
def test_fuzz_naslib_json_bytes(data):
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "zc_transbench101_micro.json"
        f.write_bytes(data)
        with ScoreStore(Path(d) / "s.db") as store:
            try:
                import_naslib_json(store, f, "transbench101_micro")
            except ZcnasError:
                assert store.summary().empty


score_objects = st.one_of(
    st.fixed_dictionaries({"score": json_values}),
    st.fixed_dictionaries(
        {"score": st.floats(allow_nan=False, width=64), "time": st.floats(0, 10)}
    ),
    json_values,
)


@FUZZ
@given(
    records=st.dictionaries(
        st.text(min_size=1, max_size=6),
        st.fixed_dictionaries(
            {"val_accuracy": st.floats(0, 100)},
            optional={"synflow": score_objects, "snip": score_objects, "id": json_values},
        ),
        min_size=1,
        max_size=5,
    )
)
def test_fuzz_naslib_json_records_are_stored_exactly(records):
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "zc_transbench101_micro.json"
        f.write_text(json_text({"class_scene": records}))
        with ScoreStore(Path(d) / "s.db") as store:
            try:
                counts = import_naslib_json(store, f, "transbench101_micro")
            except ZcnasError:
                assert store.summary().empty
                return
            n_dropped = 0
            for arch, rec in records.items():
                for proxy in ("synflow", "snip"):
                    if proxy not in rec:
                        continue
                    val = rec[proxy]
                    if not isinstance(val, dict):
                        n_dropped += 1
                        continue
                    got = store.get(
                        "transbench101_micro", "class_scene", arch, proxy, flavor="naslib"
                    )
                    want = float(val["score"])
                    assert got.score == want or (math.isnan(got.score) and math.isnan(want))
            assert sum(counts.dropped.values()) == n_dropped


# ----------------------------------------------------------------------------- programs


@FUZZ
@given(data=hostile_bytes() | json_values.map(lambda v: json_text(v).encode()))
def test_fuzz_program_files(data):
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "p.json"
        f.write_bytes(data)
        try:
            p = Program.load(f)
        except ZcnasError:
            return
        assert Program.from_json(p.to_json()) == p


formula_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="AbsT1DGNP234(), MatMulAdd", max_size=80),
    st.integers(1, 400).map(lambda n: "Abs(" * n + "T1D" + ")" * n),
    st.integers(1, 300).map(lambda n: "Add(" * n + "T1D" + ", T2D)" * n),
)


@FUZZ
@given(text=formula_text)
def test_fuzz_formulas(text):
    try:
        canonical, height, _terms, n_nodes = _native.eznas_parse(text)
    except ZcnasError:
        return
    assert height <= 256 and n_nodes >= 1
    assert _native.eznas_parse(canonical)[0] == canonical


# ----------------------------------------------------------------------------- task datasets


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz_task") / "t"
    write_task(d, 3, seed=11, dtype="float32", n_inst=1)
    return d


@FUZZ
@given(data=hostile_bytes() | json_values.map(lambda v: json_text(v).encode()))
def test_fuzz_manifest_bytes(task_dir, data):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "manifest.json").write_bytes(data)
        for f in task_dir.glob("*.safetensors"):
            os.symlink(f, Path(d) / f.name)
        try:
            load_manifest(d)
        except ZcnasError:
            pass
        try:
            s = _native.eznas_score_stats(["FrobeniusNorm(T1D)"], d)
        except ZcnasError:
            return
        assert s.shape[0] == 1


@FUZZ
@given(
    field=st.sampled_from(["file", "n_instances", "ground_truth", "arch", "index", None]),
    value=json_values,
)
def test_fuzz_manifest_fields(task_dir, field, value):
    m = json.loads((task_dir / "manifest.json").read_text())
    with tempfile.TemporaryDirectory() as d:
        for f in task_dir.glob("*.safetensors"):
            os.symlink(f, Path(d) / f.name)
        if field is None:
            m["networks"] = value
        else:
            m["networks"][0][field] = value
        (Path(d) / "manifest.json").write_text(json_text(m))
        try:
            s = _native.eznas_score_stats(["FrobeniusNorm(T1D)"], d)
        except ZcnasError:
            return
        assert s.shape == (1, len(m["networks"]))


@FUZZ
@given(
    pos=st.integers(0, 10**6),
    chunk=st.binary(min_size=1, max_size=16),
    header=st.none() | json_values,
    length=st.none() | st.integers(0, 2**64 - 1),
)
def test_fuzz_shard_bytes(task_dir, pos, chunk, header, length):
    """Corrupted shards: overwritten bytes, a replaced header, a hostile length field."""
    raw = (task_dir / "net_00000.safetensors").read_bytes()
    want = evaluate_stats(["FrobeniusNorm(T1D)"], task_dir)
    with tempfile.TemporaryDirectory() as d:
        for f in task_dir.glob("*"):
            if f.name != "net_00000.safetensors":
                os.symlink(f, Path(d) / f.name)
        data = bytearray(raw)
        p = pos % len(data)
        data[p : p + len(chunk)] = chunk
        if header is not None:
            text = json_text(header).encode()
            data = bytearray(struct.pack("<Q", len(text)) + text + bytes(data[8:]))
        if length is not None:
            data[:8] = struct.pack("<Q", length)
        (Path(d) / "net_00000.safetensors").write_bytes(bytes(data))
        try:
            got = evaluate_stats(["FrobeniusNorm(T1D)"], d)
        except ZcnasError:
            return
        assert got.shape == want.shape
        # the other networks' shards are untouched: their scores cannot change
        np.testing.assert_array_equal(got[:, 1:], want[:, 1:])


# ----------------------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def checkpoint(task_dir):
    cfg = json.dumps({"population": 4, "mu": 2, "lambda": 4, "generations": 2, "seed": 1})
    ev = _native.EznasEvolver([str(task_dir)], cfg)
    ev.step()
    return cfg, json.loads(ev.state_json())


@FUZZ
@given(
    path=st.sampled_from(
        [
            ("next_generation",),
            ("validation",),
            ("dataset_sizes",),
            ("population",),
            ("hall_of_fame",),
            ("history",),
            ("config", "population"),
            ("config", "max_depth"),
            ("config", "mut_depth"),
            ("config", "typo"),
            ("population", 0, "expr"),
            ("validation", 0),
        ]
    ),
    value=json_values,
)
def test_fuzz_checkpoint_fields(task_dir, checkpoint, path, value):
    cfg, state = checkpoint
    state = json.loads(json.dumps(state))
    node = state
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    try:
        ev = _native.EznasEvolver([str(task_dir)], cfg, json_text(state))
    except ZcnasError:
        return
    try:
        if not ev.done:
            ev.step()
    except ZcnasError:
        pass


@FUZZ
@given(data=hostile_bytes())
def test_fuzz_checkpoint_bytes(task_dir, checkpoint, data):
    cfg, _state = checkpoint
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # the binding takes str; Python's own decoding is out of scope here
    with pytest.raises(ZcnasError):
        _native.EznasEvolver([str(task_dir)], cfg, text)
