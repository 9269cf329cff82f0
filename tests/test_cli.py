"""The `zcnas` command."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from zcnas.cli import main


def test_demo_prints_real_benchmark_facts(capsys, tmp_path):
    assert main(["demo", "--no-live", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "entropy_nb201_cifar10.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "94.3733% at index 6111" in out
    assert "nonlinear(all 13)" in out
    assert "entropy in bits" in out


def test_console_entry_point():
    res = subprocess.run(
        [sys.executable, "-m", "zcnas.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert res.stdout.startswith("zcnas ")


def test_closed_pipe_is_a_quiet_exit():
    """``zcnas score --json ... | head``: the reader has gone; no traceback, status 1 (rich's
    status for the tables)."""
    cmd = [sys.executable, "-m", "zcnas.cli", "score", "--arch", "0", "--proxies", "params"]
    with subprocess.Popen([*cmd, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        proc.stdout.close()  # the reader leaves before the JSON is written
        err = proc.stderr.read().decode()
        assert proc.wait() == 1
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_unknown_command_fails():
    with pytest.raises(SystemExit):
        main(["frobnicate"])


def test_bench_query_any_encoding(capsys):
    arch = (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
        "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    )
    assert main(["bench", "query", "nb201", "--arch", arch, "--arch", "11472", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["index"] for r in rows] == [6111, 11472]
    assert rows[0]["test_accuracy"] == pytest.approx(94.3733, abs=1e-4)
    assert round(rows[1]["test_accuracy"], 2) == 93.91
    assert main(["bench", "query", "nb201", "--arch", "(2, 1, 0, 2, 1, 0)", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["index"] == 11472


def test_bench_info(capsys):
    assert main(["bench", "info", "nb201"]) == 0
    out = capsys.readouterr().out
    assert "15,625 architectures" in out and "6,466 isomorphism classes" in out


def test_bad_input_is_one_line_error(capsys):
    assert main(["bench", "query", "nb201", "--arch", "|bogus~0|"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bogus" in err and "Traceback" not in err


def test_store_import_info_export(tmp_path, shared_data, capsys, monkeypatch):
    db = str(tmp_path / "s.sqlite")
    src = shared_data / "suite_zero" / "naslib_zc_nasbench101_500.csv"
    assert main(["store", "--db", db, "import", str(src)]) == 0
    assert "nasbench101/cifar10: 500 archs" in capsys.readouterr().out
    assert main(["store", "--db", db, "info"]) == 0
    info = capsys.readouterr().out
    assert "nasbench101" in info and "suite_zero/naslib_zc_nasbench101_500.csv" in info
    live = str(tmp_path / "live.sqlite")
    argv = ["score", "--arch", "6111", "--proxies", "params", "--batch-size", "8"]
    assert main([*argv, "--store", live]) == 0
    capsys.readouterr()
    assert main(["store", "info", live]) == 0
    assert "batch 8, seed 0, cifar10-real" in capsys.readouterr().out
    assert main(["store", "info", db]) == 0  # the store as a positional argument
    assert "nasbench101" in capsys.readouterr().out
    assert main(["store", "info", db, "--store", db + "x"]) == 2
    out = tmp_path / "scores.parquet"
    assert main(["store", "--db", db, "export", str(out)]) == 0
    frame = pd.read_parquet(out)
    assert frame["arch"].nunique() == 500
    monkeypatch.chdir(tmp_path)
    assert main(["store", "--db", db, "export", "--format", "csv"]) == 0
    assert pd.read_csv(tmp_path / "zcnas_scores.csv", dtype={"arch": str})["arch"].nunique() == 500
    assert main(["store", "--db", str(tmp_path / "none.sqlite"), "import", "missing.csv"]) == 2


def test_bench_macro(capsys):
    assert main(["bench", "info", "macro"]) == 0
    assert "best 22212202 93.13%" in capsys.readouterr().out
    assert main(["bench", "query", "macro", "--arch", "22212202", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["mean_acc"] == pytest.approx(93.13, abs=0.01)
    assert main(["bench", "query", "macro", "--arch", "3"]) == 2


def test_score_writes_store_and_resumes(tmp_path, capsys):
    db = str(tmp_path / "scores.sqlite")
    args = ["score", "--space", "nb201", "--proxies", "params,flops", "--store", db]
    assert main([*args, "--arch", "0", "--arch", "11472", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert set(first) == {"0", "11472"}
    from zcnas.bench import ScoreStore, load_nb201

    t = load_nb201()
    assert first["11472"]["params"] == pytest.approx(t["params_M_cifar10"][11472], abs=1e-6)
    # a second run over a superset scores only the new architecture (the others are read
    # back from the store: no new row is written for them) and shows all three
    with ScoreStore(db) as store:
        before = store.get("nasbench201", "cifar10", "0", "params").time_s
    assert main([*args, "--arch", "0", "--arch", "11472", "--arch", "6111", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert list(second) == ["0", "11472", "6111"]
    assert {k: second[k] for k in first} == first
    with ScoreStore(db) as store:
        assert store.get("nasbench201", "cifar10", "0", "params").time_s == before
    with ScoreStore(db) as store:
        rec = store.get("nasbench201", "cifar10", "6111", "params")
        assert rec.batch_size == 30 and rec.input_kind == "cifar10-real"
    assert main(["score", "--arch", "0", "--proxies", "nope"]) == 2


def test_demo_live_scoring():
    from rich.console import Console

    from zcnas import demo

    console = Console(record=True, width=120)
    demo._live_scores(console, n_archs=3)
    text = console.export_text()
    assert "Live: 3 NB201 networks" in text and "nonlinear(all)" in text


def test_score_rerun_shows_the_stored_architectures(tmp_path, capsys):
    """A rerun against the store scores nothing and shows the same values, read from it."""

    argv = ["score", "--space", "nb201", "--arch", "1338", "--arch", "6111"]
    argv += ["--proxies", "params,synflow", "--store", str(tmp_path / "s.db"), "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert list(first) == ["1338", "6111"]
    assert main([*argv, "--arch", "5"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert list(second) == ["1338", "6111", "5"]
    assert {k: second[k] for k in first} == first


def test_score_table_states_units(capsys):
    assert main(["score", "--space", "nb201", "--proxies", "params,flops", "--arch", "11472"]) == 0
    cap = capsys.readouterr()
    assert "params (M)" in cap.out and "flops (MFLOPs)" in cap.out
    # the progress bar goes to stderr: `> file` / `| head` get the results only
    assert "scoring" not in cap.out and "scoring" in cap.err
    # a file or pipe is not squeezed into rich's 80 columns: a wide table keeps whole names
    many = "params,flops,l2_norm,synflow,nwot,grad_norm,snip,jacov,zen,fisher"
    assert main(["score", "--space", "nb201", "--proxies", many, "--arch", "11472"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(ln for ln in lines if ln.startswith("┃ arch"))
    assert all(p in header for p in many.split(",")[2:]) and len(header) > 100
    assert (
        main(["score", "--space", "nb201", "--proxies", "flops", "--arch", "1", "--flavor", "macs"])
        == 0
    )
    assert "flops (M MACs)" in capsys.readouterr().out
