"""The CLI's error contract on hostile input (issue 14): one ``error:`` line and exit 2, never a
traceback; output paths checked before the work; messages that say what is wrong."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from zcnas import _native, rankagg
from zcnas.bench.importers import import_naslib_json, import_suite_zero
from zcnas.bench.store import ScoreStore
from zcnas.cli import main
from zcnas.exceptions import NonFiniteError, ZcnasError
from zcnas.spaces import nb201

NB201_KEY = "(2, 1, 0, 2, 1, 0)"  # NASLib key of NB201 index 11472
HUGE = "9" * 400


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "Traceback" not in captured.err + captured.out
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def write_json_with_score(path: Path, score: str) -> None:
    rec = f'{{"id": 1, "val_accuracy": 90.0, "synflow": {{"score": {score}, "time": 0.5}}}}'
    path.write_text(f'{{"cifar10": {{"{NB201_KEY}": {rec}}}}}')


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[" * 100_000 + "]" * 100_000, "RecursionError"),
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary", "not valid JSON"),
        ("score:" + HUGE, "out of the float64 range"),
    ],
)
def test_store_import_json_hostile(tmp_path, capsys, content, needle):
    f = tmp_path / "zc_nasbench201.json"
    if isinstance(content, bytes):
        f.write_bytes(content)
    elif content.startswith("score:"):
        write_json_with_score(f, content[6:])
    else:
        f.write_text(content)
    db = tmp_path / "s.db"
    assert main(["store", "import", "--store", str(db), str(f)]) == 2
    assert needle in one_error_line(capsys)
    with ScoreStore(db, mode="r") as st:  # nothing was written
        assert st.summary().empty


@pytest.mark.parametrize(
    ("value", "needle"),
    [(HUGE, "out of the float64 range"), ("1e999", "out of the float64 range"), ("x", "non")],
)
def test_store_import_csv_hostile_numbers(tmp_path, capsys, value, needle):
    f = tmp_path / "nb201_cifar10_zc13_2.csv"
    f.write_text(f"index,val_acc_naslib,synflow\n1,90.0,{value}\n2,91.0,inf\n")
    assert main(["store", "import", "--store", str(tmp_path / "s.db"), str(f)]) == 2
    err = one_error_line(capsys)
    assert needle in err and "line 2" in err and "synflow" in err


def test_store_import_csv_hostile_index(tmp_path, capsys):
    for idx in (HUGE, "1" * 5000, "²", "1e3"):
        f = tmp_path / "nb201_cifar10_zc13_2.csv"
        f.write_text(f"index,val_acc_naslib,synflow\n{idx},90.0,1.0\n")
        assert main(["store", "import", "--store", str(tmp_path / "s.db"), str(f)]) == 2
        assert "bad NB201 index" in one_error_line(capsys)


def test_store_import_csv_hostile_bytes(tmp_path, capsys):
    f = tmp_path / "nb201_cifar10_zc13_2.csv"
    f.write_bytes(b"\xff\xfe\x00\x01 not text")
    assert main(["store", "import", "--store", str(tmp_path / "s.db"), str(f)]) == 2
    assert "not a readable CSV" in one_error_line(capsys)


def test_naslib_json_dropped_values_are_counted_and_reported(tmp_path, capsys):
    f = tmp_path / "zc_nasbench201.json"
    f.write_text(
        json.dumps(
            {
                "cifar10": {
                    NB201_KEY: {"id": 1, "val_accuracy": 90.0, "synflow": 7, "snip": {"score": 2}},
                    "(4, 3, 3, 0, 0, 0)": {"id": 2, "val_accuracy": 80.0, "synflow": [1]},
                }
            }
        )
    )
    with ScoreStore(tmp_path / "a.db") as st:
        counts = import_naslib_json(st, f, "nasbench201")
        assert counts == {("nasbench201", "cifar10"): 1}  # the 2nd arch had no score left
        assert counts.dropped == {"synflow": 2}
        assert st.get("nasbench201", "cifar10", 11472, "snip", flavor="naslib").score == 2.0
        assert not st.has("nasbench201", "cifar10", 11472, "synflow", flavor="naslib")
    assert main(["store", "import", "--store", str(tmp_path / "b.db"), str(f)]) == 0
    out = capsys.readouterr().out
    assert "dropped 2 value(s) of field 'synflow'" in out


def test_nb201_arch_string_without_outer_bars_is_diagnosed(tmp_path):
    good = nb201.index_to_str(11472)
    assert good.startswith("|") and good.endswith("|")
    with pytest.raises(ZcnasError, match=r"must start and end with '\|'"):
        nb201.to_index(good[1:])
    with pytest.raises(ZcnasError, match=r"node group .* must start and end with '\|'"):
        nb201.to_index(good[:-1])
    assert nb201.to_index(good) == 11472
    # the importers say the same about such a key (not "bad NASLib tuple")
    f = tmp_path / "naslib_zc_x.csv"
    f.write_text(
        f"search_space,dataset,arch,val_accuracy,synflow\nnasbench201,cifar10,{good[1:]},90,1\n"
    )
    with ScoreStore(tmp_path / "s.db") as st, pytest.raises(ZcnasError, match="start and end"):
        import_suite_zero(st, f)
    f.write_text(
        f"search_space,dataset,arch,val_accuracy,synflow\nnasbench201,cifar10,{good},90,1\n"
    )
    with ScoreStore(tmp_path / "s.db") as st:
        import_suite_zero(st, f)
        assert st.has("nasbench201", "cifar10", 11472, "synflow", flavor="naslib")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\x00\xff\xfe\x89 binary program", "not a UTF-8 text"),
        ("[" * 100_000 + "]" * 100_000, "RecursionError"),
        ('{"expr": "Abs(T1D)", "fitness": ' + HUGE + "}", "finite number"),
        ('{"expr": "Abs(T1D)", "fitness": 1e999}', "finite number"),
        ('{"expr": "Abs(T1D)", "sign": ' + HUGE + "}", "sign must be"),
        ('{"expr": "' + "Abs(" * 300 + "T1D" + ")" * 300 + '"}', "deeper than 256"),
        ('{"expr": "Abs(T1D)", "meta": [1, 2]}', "meta must be an object"),
        ('{"expr": 5}', "expr must be a string"),
    ],
)
def test_eznas_show_hostile_program_files(tmp_path, capsys, content, needle):
    f = tmp_path / "p.json"
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content)
    assert main(["eznas", "show", str(f)]) == 2
    assert needle in one_error_line(capsys)


def test_outputs_checked_before_the_search(tmp_path, capsys, monkeypatch):
    import zcnas.search.cli_evolution as ce

    def no_search(*a, **k):
        raise AssertionError("the search must not start")

    monkeypatch.setattr(ce, "_build", no_search)
    base = ["search", "random", "--space", "nb201", "--budget", "5"]
    cases = [
        (["--out", str(tmp_path / "missing" / "t.json")], "does not exist"),
        (["--out", str(tmp_path / "t.txt")], "expected a .json or .csv file"),
        (["--out", str(tmp_path / "t.csv"), "--runs", "2"], "holds one run"),
        (["--out", str(tmp_path)], "is a folder"),
        (["--plot", str(tmp_path / "t.jpg")], "expected a .png or .pdf or .svg"),
        (["--plot", str(tmp_path / "no" / "t.png")], "does not exist"),
    ]
    for extra, needle in cases:
        t0 = time.perf_counter()
        assert main(base + extra) == 2
        assert needle in one_error_line(capsys)
        assert time.perf_counter() - t0 < 5


def test_eznas_evolve_and_analyze_outputs_checked_first(tmp_path, capsys):
    stats = tmp_path / "no_such_stats"
    assert main(["eznas", "evolve", "--stats", str(stats), "--out", str(tmp_path / "p.txt")]) == 2
    assert "--out" in one_error_line(capsys)
    assert (
        main(["eznas", "evolve", "--stats", str(stats), "--out", str(tmp_path / "x" / "p.json")])
        == 2
    )
    assert "does not exist" in one_error_line(capsys)
    db = tmp_path / "s.db"
    with ScoreStore(db) as st:
        st.put("nasbench201", "cifar10", 1, "snip", 1.0)
    (tmp_path / "afile").write_text("x")
    assert main(["analyze", "--store", str(db), "--out", str(tmp_path / "afile" / "rep")]) == 2
    assert "is a file" in one_error_line(capsys)


def test_python_dash_m_zcnas_works_like_zcnas(tmp_path):
    db = tmp_path / "s.db"
    with ScoreStore(db) as st:
        st.put("nasbench201", "cifar10", 1, "snip", 1.0)
    via_m = subprocess.run(
        [sys.executable, "-m", "zcnas", "store", "info", "--store", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    via_main = subprocess.run(
        [sys.executable, "-m", "zcnas.cli", "store", "info", "--store", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert via_m.returncode == 0 == via_main.returncode, via_m.stderr
    assert via_m.stdout == via_main.stdout and "nasbench201" in via_m.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "zcnas", "store", "info", "--store", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
    usage = subprocess.run(
        [sys.executable, "-m", "zcnas", "--help"], capture_output=True, text=True, timeout=120
    )
    assert usage.returncode == 0 and usage.stdout.startswith("usage: zcnas ")


# ----------------------------------------------------------------------------- messages


def test_rankagg_nan_message_names_the_accepted_policy_and_the_cell():
    s = np.arange(12.0).reshape(4, 3)
    s[1, 2] = np.nan
    with pytest.raises(NonFiniteError) as err:
        rankagg.aggregate(s, method="linear")
    msg = str(err.value)
    assert "row 1, column 2" in msg and "nan_policy='lowest'" in msg and "'omit'" not in msg
    # the policy the message names works
    got = rankagg.aggregate(s, method="linear", nan_policy="lowest")
    assert np.isfinite(got).all()
    with pytest.raises(ZcnasError, match="nan_policy"):
        rankagg.aggregate(s, method="linear", nan_policy="omit")
    # the incremental aggregator names the row id being added
    agg = _native.IncrementalAggregator("linear", [True, True, True])
    agg.add(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(NonFiniteError, match=r"row 1, column 0.*'lowest'"):
        agg.add(np.array([np.nan, 2.0, 3.0]))


def test_batch_statistics_nan_message_gives_row_and_column():
    from zcnas import stats

    x = np.arange(20.0).reshape(4, 5)
    x[2, 3] = np.inf
    with pytest.raises(NonFiniteError, match=r"row 2, column 3.*nan_policy='omit'"):
        stats.kendall_tau_batch(x, np.arange(5.0))
    y = np.tile(np.arange(5.0), (4, 1))
    y[3, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"`y`.*row 3, column 1"):
        stats.kendall_tau_batch(np.arange(20.0).reshape(4, 5), y)
    got = stats.kendall_tau_batch(x, np.arange(5.0), nan_policy="omit")
    assert np.allclose(got, 1.0)


def test_eznas_show_stats_with_missing_or_hostile_ground_truth(tmp_path, capsys):
    from eznas.tiny_task import write_task
    from zcnas.eznas.shards import load_manifest, manifest_targets

    d = tmp_path / "t"
    write_task(d, 4, seed=8, n_inst=1)
    m = json.loads((d / "manifest.json").read_text())
    full = manifest_targets(load_manifest(d))
    assert np.isfinite(full).all()
    for gt in ({}, {"cifar10_test": None}):  # a network without ground truth is left out
        m["networks"][0]["ground_truth"] = gt
        (d / "manifest.json").write_text(json.dumps(m))
        assert np.isnan(manifest_targets(load_manifest(d))[0])
        assert main(["eznas", "show", "EZNAS_A", "--stats", str(d), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["kendall_tau"][str(d)]["n"] == 3
    for bad in ('"x"', HUGE, "true"):
        m["networks"][0]["ground_truth"] = {"cifar10_test": "__BAD__"}
        (d / "manifest.json").write_text(json.dumps(m).replace('"__BAD__"', bad))
        assert main(["eznas", "show", "EZNAS_A", "--stats", str(d)]) == 2
        one_error_line(capsys)
        with pytest.raises(ZcnasError):
            manifest_targets(json.loads((d / "manifest.json").read_text()))


def test_settings_that_fail_every_architecture_fail_up_front(tmp_path, monkeypatch, capsys):
    """A bogus flavor or $ZCNAS_NTK_MEMORY_MB is an error before any work (exit 2), not one
    failure per architecture recorded in the store."""
    from zcnas.bench import ScoreStore

    db = str(tmp_path / "s.sqlite")
    base = ["score", "--space", "nb201", "--arch", "0", "--arch", "1", "--store", db]
    assert main([*base, "--proxies", "params", "--flavor", "bogus", "--workers", "1"]) == 2
    assert "flavor 'bogus'" in capsys.readouterr().err
    monkeypatch.setenv("ZCNAS_NTK_MEMORY_MB", "abc")
    assert main([*base, "--proxies", "tenas_ntk", "--workers", "1"]) == 2
    assert "ZCNAS_NTK_MEMORY_MB" in capsys.readouterr().err
    if (tmp_path / "s.sqlite").exists():
        with ScoreStore(db, mode="r") as st:
            assert st.failures().empty


def test_store_info_counts_failures(tmp_path, capsys):
    from zcnas.bench import ScoreStore

    db = str(tmp_path / "f.sqlite")
    with ScoreStore(db) as st:
        st.put_failure("nasbench201", "cifar10", 3, "boom", proxies=["params"])
        st.put_failure("nasbench201", "cifar10", 4, "boom", proxies=["params"])
    assert main(["store", "info", "--store", db]) == 0
    out = capsys.readouterr().out
    assert "(no scores)" in out
    assert "2 architectures recorded as failed (nasbench201, cifar10, flavor default)" in out
    assert "--retry-failed" in out
