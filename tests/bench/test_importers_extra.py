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
from zcnas.bench.importers import EXTRA_TNB_FLAVOR, EXTRA_TNB_METRIC, import_suite_zero

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


def _write_rows(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)


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
        sp, "class_object", ["synflow", "zen"], EXTRA_TNB_METRIC, flavor=EXTRA_TNB_FLAVOR
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


def _naslib_zc_truth(space_file, task):
    with open(DATA / "suite_zero" / space_file) as f:
        return {
            r["arch"]: float(r["val_accuracy"]) for r in csv.DictReader(f) if r["dataset"] == task
        }


def test_full_tnb101_ground_truth_does_not_replace_the_naslib_files(tmp_path):
    """The full TNB101 table's accuracies differ from the naslib_zc_* file's on shared
    architectures: after importing both (either order), each flavor is analysed against its
    own file's values, read here from the CSV text."""
    from zcnas.analysis.data import load_task

    full = {
        r["naslib_arch"]: float(r["val_accuracy"])
        for r in _rows("tnb101_micro_4096_7tasks.csv")
        if r["task"] == "autoencoder"
    }
    zc = _naslib_zc_truth("naslib_zc_transbench101_micro_e5a821c2.csv", "autoencoder")
    shared = sorted(set(full) & set(zc))
    assert sum(full[a] != zc[a] for a in shared) > 100  # two data versions
    for order in ((EXTRA, DATA / "suite_zero"), (DATA / "suite_zero", EXTRA)):
        store = ScoreStore(tmp_path / f"s{len(str(order[0]))}.sqlite")
        for path in order:
            import_suite_zero(store, path)
        t = load_task(store, "transbench101_micro", "autoencoder")
        assert t.flavor == "naslib" and t.metric == "val_accuracy"
        assert dict(zip(t.archs, t.truth, strict=True)) == {a: zc[a] for a in t.archs}
        u = load_task(store, "transbench101_micro", "autoencoder", flavor=EXTRA_TNB_FLAVOR)
        assert u.metric == EXTRA_TNB_METRIC and u.n > t.n
        assert dict(zip(u.archs, u.truth, strict=True)) == {a: full[a] for a in u.archs}


def test_import_refuses_ground_truth_that_differs_from_another_files(tmp_path):
    """A user CSV in the naslib_zc layout with one accuracy changed: the import stops with a
    message naming the other file, the architecture and both values, and writes nothing; the
    same file again (same source) and equal values import fine."""
    from zcnas.exceptions import ZcnasError

    src = DATA / "suite_zero" / "naslib_zc_nasbench101_500.csv"
    store = ScoreStore(tmp_path / "s.sqlite")
    import_suite_zero(store, src)
    import_suite_zero(store, src)  # a re-import replaces its own rows
    with open(src) as f:
        rows = list(csv.reader(f))
    j = rows[0].index("val_accuracy")
    arch = rows[1][rows[0].index("arch")]
    mine = tmp_path / "naslib_zc_mine.csv"
    _write_rows(mine, rows[:3])
    import_suite_zero(store, mine)  # equal values: fine
    rows[1][j] = str(float(rows[1][j]) + 1.0)
    _write_rows(mine, rows[:3])
    before = store.ground_truth_frame()
    with pytest.raises(
        ZcnasError,
        match=r"1 of its 'val_accuracy' values .*from suite_zero/naslib_zc_nasbench101_500.csv "
        r"\(arch ",
    ):
        import_suite_zero(store, mine)
    after = store.ground_truth_frame()
    assert after.equals(before)
    assert arch in set(after.arch)


def test_import_refuses_scores_that_differ_from_another_files(tmp_path):
    """A user's CSV in the naslib_zc layout with one synflow value changed lands in flavor naslib
    beside Suite-Zero's: refused, nothing written, the message names the proxy, the arch, both
    values and the other file; the user file's provenance is its own folder and name."""
    from zcnas.exceptions import ZcnasError

    src = DATA / "suite_zero" / "naslib_zc_nasbench101_500.csv"
    store = ScoreStore(tmp_path / "s.sqlite")
    import_suite_zero(store, src)
    with open(src) as f:
        rows = list(csv.reader(f))
    mine = tmp_path / "mine" / "scores.csv"
    mine.parent.mkdir()
    _write_rows(mine, rows[:4])
    import_suite_zero(store, mine)  # equal values: kept with their first source
    arch = rows[1][rows[0].index("arch")]
    rec = store.get("nasbench101", "cifar10", arch, "synflow", flavor="naslib")
    assert rec.source == "suite_zero/naslib_zc_nasbench101_500.csv"
    j = rows[0].index("synflow")
    rows[2][j] = str(float(rows[2][j]) + 1.0)
    _write_rows(mine, rows[:4])
    before = store.scores_frame()
    with pytest.raises(
        ZcnasError,
        match=r"mine/scores.csv: 1 of its scores for nasbench101/cifar10 flavor 'naslib' "
        r"differ from those .* holds from suite_zero/naslib_zc_nasbench101_500.csv \(synflow",
    ):
        import_suite_zero(store, mine)
    assert store.scores_frame().equals(before)
