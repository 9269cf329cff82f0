"""Importing ``suite_zero_extra/``: the nine extra Suite-Zero tasks and the full TNB101 tables.

Checked against the CSV text itself (read with the csv module here): per-task architecture
counts, values stored exactly as written (NASLib's -1e8 kept), empty fields not stored,
NB201 tuples keyed by the official index, flavors (``naslib`` for the nine tasks,
``naslib-full`` for the TNB101 tables, so that the ``naslib_zc_*`` TNB101 values keep theirs),
and with ``suite_zero/`` the analysis sees all 28 Suite-Zero tasks.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import pytest

from zcnas.bench import ScoreStore
from zcnas.bench.importers import EXTRA_TNB_FLAVOR, import_suite_zero

DATA = Path(__file__).resolve().parents[3] / "shared/data"
EXTRA = DATA / "suite_zero_extra"
pytestmark = pytest.mark.skipif(not EXTRA.exists(), reason="shared Suite-Zero data not available")


def _rows(name):
    with open(EXTRA / name) as f:
        return list(csv.DictReader(f))


def test_nine_extra_tasks(tmp_path):
    store = ScoreStore(tmp_path / "s.sqlite")
    got = import_suite_zero(store, EXTRA / "suite_zero_9x_svhn_scifar100_ninapro.csv")
    rows = _rows("suite_zero_9x_svhn_scifar100_ninapro.csv")
    assert got == dict(Counter((r["space"], r["task"]) for r in rows))
    assert len(got) == 9
    # an NB301 row: every proxy value and the accuracy exactly as written
    r = next(r for r in rows if r["space"] == "nasbench301" and r["task"] == "svhn")
    names = store.proxies("nasbench301", "svhn", "naslib")
    assert len(names) == 13
    archs, scores, truth = store.to_arrays(
        "nasbench301", "svhn", names, "val_accuracy", flavor="naslib"
    )
    i = list(archs).index(r["naslib_arch"])
    assert [scores[i][j] for j in range(13)] == [float(r[p]) for p in names]
    assert truth[i] == float(r["val_accuracy"])
    # NB201 tuples become official indices
    from zcnas.spaces import nb201

    r = next(r for r in rows if r["space"] == "nasbench201")
    enc = tuple(int(c) for c in r["naslib_arch"].strip("()").split(","))
    idx = str(nb201.to_index(nb201.naslib_to_str(enc)))
    archs, _, truth = store.to_arrays(
        "nasbench201", r["task"], ["synflow"], "val_accuracy", flavor="naslib"
    )
    assert truth[list(archs).index(idx)] == float(r["val_accuracy"])


def tnb101_key(text):
    codes = [int(c) for c in text.strip("()").split(",")]
    return str(tuple(codes + [0] * (6 - len(codes))))


def test_full_tnb101_macro_flavor_and_missing_values(tmp_path):
    store = ScoreStore(tmp_path / "s.sqlite")
    got = import_suite_zero(store, EXTRA / "tnb101_macro_3256_7tasks.csv")
    assert set(got.values()) == {3256} and len(got) == 7
    rows = _rows("tnb101_macro_3256_7tasks.csv")
    sp = "transbench101_macro"
    for task in ("autoencoder", "class_object", "jigsaw"):
        present = {
            p
            for r in rows
            if r["task"] == task
            for p in ("epe_nas", "fisher", "synflow", "zen")
            if r[p]
        }
        assert set(store.proxies(sp, task, EXTRA_TNB_FLAVOR)) == present
    assert store.flavors(sp, "autoencoder") == [EXTRA_TNB_FLAVOR]
    r = next(r for r in rows if r["task"] == "class_object" and r["synflow"])
    archs, scores, _ = store.to_arrays(
        sp, "class_object", ["synflow", "zen"], "val_accuracy", flavor=EXTRA_TNB_FLAVOR
    )
    i = list(archs).index(tnb101_key(r["naslib_arch"]))
    assert list(scores[i]) == [float(r["synflow"]), float(r["zen"])]
    # 4- and 5-stage networks are keyed zero-padded to 6, as in naslib_zc_* and zcnas score
    from zcnas.spaces import tnb101

    assert set(archs) == {tnb101.naslib_key(a, "macro") for a in tnb101.all_archs("macro")}
    fails = sum(float(r["zen"]) == -1e8 for r in rows if r["task"] == "class_object")
    stored = sum(v == -1e8 for v in scores[:, 1] if not math.isnan(v))
    assert stored == fails


def test_analysis_sees_all_28_tasks(tmp_path):
    from zcnas.analysis.data import list_tasks, load_task

    store = ScoreStore(tmp_path / "s.sqlite")
    import_suite_zero(store, DATA / "suite_zero")
    import_suite_zero(store, EXTRA)
    tasks = list_tasks(store)
    assert len(tasks) == 28
    # the naslib_zc_* TNB101 values stay the default; the full table is a second flavor
    assert load_task(store, "transbench101_micro", "jigsaw").flavor == "naslib"
    t = load_task(store, "nasbench301", "ninapro")
    assert t.flavor == "naslib" and len(t.archs) == 199
