"""One name per concept on the command line, fast ``--help``, dataset names as users write
them, and the layering of spaces under benchmarks."""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zcnas import ZcnasError
from zcnas.cli import _parser, main
from zcnas.datasets import DATASETS, canonical_dataset
from zcnas.exceptions import ZcnasWarning

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "zcnas"
ARCH_6111 = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
)


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every (sub)command path of the parser, e.g. ('store', 'import')."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


COMMANDS = sorted(set(_commands(_parser())))


def test_every_command_is_listed():
    assert {("store", "import"), ("search", "zc-pt"), ("eznas", "show"), ("analyze",)} <= set(
        COMMANDS
    )


def test_help_imports_neither_torch_nor_pandas():
    """``zcnas --help`` and every subcommand's ``--help`` in one fresh interpreter."""
    code = (
        "import sys\nfrom zcnas.cli import main\n"
        f"for argv in [[]] + {[list(c) for c in COMMANDS]!r}:\n"
        "    try:\n        main([*argv, '--help'])\n    except SystemExit as e:\n"
        "        assert e.code == 0, argv\n"
        "bad = sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.parametrize("path", [c for c in COMMANDS if c[0] != "search" or len(c) > 1])
def test_one_name_per_concept(path):
    """No subcommand shows an old spelling; where a concept exists it has its one name."""
    parser = _parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    shown = {s for a in parser._actions if a.help != argparse.SUPPRESS for s in a.option_strings}
    assert not shown & {"--db", "--proxy", "--report"}, shown
    # --dataset names a dataset; --task only a stored SPACE/TASK (analyze, store import)
    assert "--task" not in shown or path in (("analyze",), ("store", "import")), shown


@pytest.mark.parametrize(
    "argv",
    [
        ["store", "import", "d", "--store", "x.sqlite"],
        ["store", "--store", "x.sqlite", "import", "d"],
        ["store", "--db", "x.sqlite", "info"],
        ["store", "info", "--db", "x.sqlite"],
        ["store", "export", "--store", "x.sqlite", "--out", "o.csv"],
    ],
)
def test_store_option_before_or_after_the_subcommand(argv):
    assert _parser().parse_args(argv).store == "x.sqlite"


@pytest.mark.parametrize(
    ("argv", "dest", "value"),
    [
        (["analyze", "--report", "r/"], "out", "r/"),
        (["analyze", "--db", "s.sqlite", "--out", "r/"], "store", "s.sqlite"),
        (["search", "aznas", "--proxy", "nwot"], "proxies", "nwot"),
        (["eznas", "collect", "--out", "o", "--task", "cifar100"], "dataset", "cifar100"),
        (["score", "--arch", "0", "--db", "s.sqlite"], "store", "s.sqlite"),
    ],
)
def test_old_spellings_still_work(argv, dest, value):
    assert getattr(_parser().parse_args(argv), dest) == value


def test_store_default_is_the_environment(monkeypatch):
    from zcnas._cliargs import store_path

    args = _parser().parse_args(["store", "info"])
    monkeypatch.delenv("ZCNAS_STORE", raising=False)
    assert store_path(args) == "zcnas_scores.sqlite"
    monkeypatch.setenv("ZCNAS_STORE", "env.sqlite")
    assert store_path(args) == "env.sqlite"


def test_seeds_and_proxies_are_spelled_alike():
    from zcnas._cliargs import proxy_list, seed_list

    zc = _parser().parse_args(["search", "zc-pt", "--proxy", "synflow", "--seeds", "3,1"])
    assert proxy_list(zc.proxies) == ["synflow"] and seed_list(zc) == [3, 1]
    ag = _parser().parse_args(["search", "aging", "--seed", "5", "--runs", "3"])
    assert seed_list(ag) == [5, 6, 7]
    zc2 = _parser().parse_args(["search", "zc-pt", "--seed", "2"])
    assert seed_list(zc2) == [2] and proxy_list(zc2.proxies) == ["nwot"]
    with pytest.raises(ZcnasError, match="--seeds"):
        seed_list(_parser().parse_args(["search", "random", "--seeds", "1,x"]))


def test_dataset_names_as_users_write_them():
    for written, name in [
        ("ImageNet16-120", "imagenet16"),
        ("imagenet16_120", "imagenet16"),
        ("cifar10-valid", "cifar10"),
        ("CIFAR-10", "cifar10"),
        ("cifar100", "cifar100"),
        ("CIFAR-100", "cifar100"),
    ]:
        assert canonical_dataset(written) == name
    assert set(map(canonical_dataset, DATASETS)) == set(DATASETS)
    with pytest.raises(ZcnasError, match="unknown dataset 'svhn'"):
        canonical_dataset("svhn")
    assert canonical_dataset("class_scene", strict=False) == "class_scene"


def test_dataset_names_in_the_library():
    from zcnas.bench import load_nb201, load_suite_zero_nb201
    from zcnas.bench.importers import canonical_task
    from zcnas.datasets import cifar_batch
    from zcnas.search.problem import Constraint, Oracle, TableProxies

    t = load_nb201()
    assert t.test_accuracy("ImageNet16-120") is t.test_accuracy("imagenet16")
    assert t.query(6111, "ImageNet16-120") == t.query(6111, "imagenet16")
    assert load_suite_zero_nb201("ImageNet16-120") is load_suite_zero_nb201("imagenet16")
    assert canonical_task("nasbench201", "ImageNet16-120") == "imagenet16"
    assert canonical_task("transbench101_micro", "class_scene") == "class_scene"
    x1, _ = cifar_batch("CIFAR-100", 2)
    x2, _ = cifar_batch("cifar100", 2)
    assert np.array_equal(x1.numpy(), x2.numpy())
    assert Oracle("nb201", "ImageNet16-120").dataset == "imagenet16"
    assert Constraint(dataset="cifar10-valid", max_flops_m=100).dataset == "cifar10"
    a = TableProxies(["nwot"], task="ImageNet16-120")
    b = TableProxies(["nwot"], task="imagenet16")
    idx = np.arange(10)
    np.testing.assert_array_equal(a(idx), b(idx))
    with pytest.raises(ZcnasError, match="unknown dataset"):
        t.test_accuracy("imagenet")


def test_dataset_names_on_the_command_line(capsys):
    assert (
        _parser()
        .parse_args(["bench", "query", "nb201", "--arch", "0", "--dataset", "ImageNet16-120"])
        .dataset
        == "imagenet16"
    )
    assert _parser().parse_args(["demo", "--task", "ImageNet16-120"]).dataset == "imagenet16"
    assert (
        _parser().parse_args(["eznas", "collect", "--out", "o", "--task", "cifar10-valid"]).dataset
        == "cifar10"
    )
    with pytest.raises(SystemExit) as e:
        _parser().parse_args(["score", "--arch", "0", "--dataset", "ImageNet16-120"])
    assert e.value.code == 2
    assert "not available here" in capsys.readouterr().err


def test_bench_query_prints_whole_arch_strings():
    env = dict(os.environ, COLUMNS="40")
    r = subprocess.run(
        [sys.executable, "-m", "zcnas.cli", "bench", "query", "nb201", "--arch", "6111"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert f"6111: {ARCH_6111}" in r.stdout.splitlines()


def test_eznas_show_accepts_the_registry_name(capsys, tmp_path):
    from zcnas.eznas.program import EZNAS_A

    for name in ("eznas_a", "EZNAS_A"):
        assert main(["eznas", "show", name]) == 0
        assert capsys.readouterr().out.splitlines()[0] == str(EZNAS_A)
    assert main(["eznas", "show", str(tmp_path / "nope.json")]) == 2
    assert "neither a program file nor a released program" in capsys.readouterr().err


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_spaces_do_not_import_the_benchmarks():
    """The benchmark tables depend on the spaces (zcnas.bench -> zcnas.spaces), not both ways."""
    for path in (PACKAGE / "spaces").glob("*.py"):
        bad = {m for m in _imports(path) if m == "zcnas.bench" or m.startswith("zcnas.bench.")}
        assert not bad, (path.name, bad)
    code = (
        "import sys\nfrom zcnas.spaces import nb201\n"
        f"assert nb201.to_index({ARCH_6111!r}) == 6111\n"
        "assert nb201.index_to_str(6111) and nb201.iso_class(6111) >= 0\n"
        "assert not any(m.startswith('zcnas.bench') for m in sys.modules), 'bench imported'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def test_score_macro_with_its_defaults(capsys):
    """``zcnas score --space macro``: the default proxies are those that apply to the space's
    networks, and scoring with its defaults (dataset, seed, flavor) works."""
    import json

    from zcnas import proxies
    from zcnas.cli import _default_proxies

    args = _parser().parse_args(["score", "--space", "macro", "--arch", "22212202"])
    names = _default_proxies(args)
    assert set(names) <= set(proxies.list_proxies()) and len(names) >= 20
    cheap = [p for p in ("params", "flops", "jacov", "nwot", "l2_norm") if p in names]
    argv = ["score", "--space", "macro", "--arch", "22212202", "--proxies", ",".join(cheap)]
    assert main([*argv, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert list(res) == ["22212202"] and sorted(res["22212202"]) == sorted(cheap)


def test_store_import_task_as_zcnas_names_it(tmp_path):
    """``zcnas store import zc_nasbench201.json --task imagenet16`` finds NASLib's
    ``ImageNet16-120`` and stores it as ``imagenet16``."""
    import json

    from zcnas.bench import ScoreStore

    rec = {"id": 0, "val_accuracy": 41.5, "synflow": {"score": 3.0, "time": 0.1}}
    path = tmp_path / "zc_nasbench201.json"
    path.write_text(json.dumps({"ImageNet16-120": {"(4, 3, 3, 3, 2, 3)": rec}, "cifar10": {}}))
    db = str(tmp_path / "s.sqlite")
    argv = ["store", "import", str(path), "--space", "nasbench201", "--task", "imagenet16"]
    assert main([*argv, "--store", db]) == 0
    with ScoreStore(db) as st:
        assert st.tasks("nasbench201") == ["imagenet16"]
    assert main([*argv[:-1], "svhn", "--store", db]) == 2


def _parsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(command path, parser) for the top-level parser and every subcommand parser."""
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*prefix, name))


def _documented(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        yield action


def test_every_argument_and_command_has_help():
    missing = []
    for path, parser in _parsers(_parser()):
        for action in _documented(parser):
            where = " ".join(("zcnas", *path))
            if isinstance(action, argparse._SubParsersAction):  # one help line per command
                missing += [f"{where} {c.dest}" for c in action._choices_actions if not c.help]
            elif not (action.help or "").strip():
                missing.append(f"{where} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, "arguments without help: " + ", ".join(missing)


def test_help_states_every_default():
    """An option with a default shows it in --help (None/False: the text says what leaving
    it out does), in the rendered text of its own parser."""
    unstated = []
    for path, parser in _parsers(_parser()):
        text = "".join(parser.format_help().split())  # wrapping (at hyphens too) aside
        formatter = parser._get_formatter()
        for action in _documented(parser):
            d = action.default
            if d is None or d is False or d is argparse.SUPPRESS or not action.option_strings:
                continue
            shown = formatter._expand_help(action)
            if str(d) not in shown or "".join(shown.split()) not in text:
                unstated.append(f"zcnas {' '.join(path)} {action.option_strings[0]}={d!r}")
    assert not unstated, "defaults not in --help: " + ", ".join(unstated)


def test_score_progress_bar_fits_80_columns(monkeypatch):
    """`zcnas score --all` progress at 80 columns on a non-tty console (COLUMNS=80): counts,
    rate, elapsed time, ETA and failures stay whole on one line."""
    import io

    from rich.console import Console

    from zcnas.distributed import _progress_bar

    monkeypatch.setenv("COLUMNS", "80")
    clock = [0.0]
    out = io.StringIO()
    bar = _progress_bar(Console(file=out))
    bar.get_time = lambda: clock[0]
    bar.start()
    task = bar.add_task("scoring (local x2) and a long description", total=15625, failed=0)
    clock[0] = 1.0
    bar.update(task, advance=1)
    clock[0] = 21.0
    bar.update(task, advance=1233, failed=12)
    bar.stop()
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    assert len(lines) == 1 and len(lines[0]) <= 80, lines
    line = lines[0]
    rate = 1233 / 20.0  # architectures per second between the two updates: rich's ETA
    eta = math.ceil((15625 - 1234) / rate)  # rich rounds the remaining seconds up
    assert " 1234/15625 " in line
    # the rate is the mean since the start (the final report's archs_per_minute)
    assert f" {60 * 1234 / 21.0:,.0f}/min " in line
    assert " 0:00:21 " in line
    assert f" ETA {eta // 3600}:{eta // 60 % 60:02d}:{eta % 60:02d} " in line
    assert line.endswith(" 12 failed")
    assert line.startswith("scoring (lo… ")  # the description is ellipsised


def test_cli_console_keeps_wide_lines_in_files_and_pipes(monkeypatch):
    """Every command's console (score, bench, analyze, search, demo) is `cli_console`: not a
    terminal (pytest captures it) gives 200 columns instead of rich's 80, $COLUMNS wins, and
    Console options pass through."""
    from zcnas._outputs import cli_console

    monkeypatch.delenv("COLUMNS", raising=False)
    c = cli_console(stderr=True, markup=False)
    assert not c.is_terminal and c.width == 200 and c.stderr and not c._markup
    monkeypatch.setenv("COLUMNS", "57")
    assert cli_console().width == 57
    for mod in ("cli", "demo", "analysis.cli", "search.cli_zcpt", "search.cli_evolution"):
        src = Path(__file__).parents[1] / "python/zcnas" / (mod.replace(".", "/") + ".py")
        text = src.read_text()
        assert "cli_console(" in text and "Console(" not in text.replace("cli_console(", ""), mod


def test_score_notes_swap_saturation_at_small_batches(capsys):
    """SWAP counts distinct patterns of B samples (at most 2**B): at --batch-size 4 the
    command says so on stderr, and the NB201 network does reach 2**4 in every repeat."""
    argv = ["score", "--space", "nb201", "--arch", "6111", "--proxies", "swap", "--json"]
    assert main([*argv, "--batch-size", "4"]) == 0
    out, err = capsys.readouterr()
    assert "note: swap counts distinct activation patterns" in err and "2**4 = 16" in err
    assert json.loads(out)["6111"]["swap"] == 16.0
    assert main([*argv, "--batch-size", "16", "--proxies", "params"]) == 0
    assert "note:" not in capsys.readouterr().err


def test_score_on_an_image_file(tmp_path, capsys, monkeypatch):
    """--images: the shipped 30 CIFAR-10 images written to a file and taken whole score
    exactly as the default run; the store records the file's hash as the input kind, so a
    task scored on the shipped images refuses them; the worker path agrees; bad uses exit 2."""
    import sqlite3

    from zcnas._tables import load_npz
    from zcnas.datasets import image_file_id

    z = load_npz("cifar_images.npz")
    f = tmp_path / "mine.npz"
    np.savez(f, x=z["cifar10_x"], y=z["cifar10_y"])
    base = ["score", "--space", "nb201", "--arch", "6111", "--arch", "1338", "--json"]
    base += ["--proxies", "params,nwot,snip"]
    assert main(base) == 0
    shipped = json.loads(capsys.readouterr().out)
    assert main([*base, "--images", str(f), "--batch-size", "30"]) == 0
    assert json.loads(capsys.readouterr().out) == shipped
    assert main([*base, "--images", str(f), "--batch-size", "12"]) == 0
    drawn = json.loads(capsys.readouterr().out)
    assert drawn["6111"]["params"] == shipped["6111"]["params"]
    assert drawn["6111"]["nwot"] != shipped["6111"]["nwot"]  # another batch

    db = tmp_path / "s.db"
    stored = [*base, "--images", str(f), "--batch-size", "12", "--store", str(db)]
    assert main(stored) == 0
    assert json.loads(capsys.readouterr().out) == drawn
    kinds = sqlite3.connect(db).execute("SELECT DISTINCT input_kind FROM scores").fetchall()
    assert kinds == [(f"cifar10-file-{image_file_id(f)}",)]
    assert main([*base, "--batch-size", "12", "--store", str(db)]) == 2  # shipped images
    assert "inputs cifar10-real" in capsys.readouterr().err
    par = tmp_path / "p.db"
    assert main([*stored[:-1], str(par), "--workers", "1"]) == 0
    got = json.loads(capsys.readouterr().out)["scores"]  # one torch thread: float rounding
    assert got.keys() == drawn.keys()
    for k in drawn:
        assert got[k] == pytest.approx(drawn[k], rel=1e-6)

    assert main([*base, "--images", str(tmp_path / "none.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    x60 = np.concatenate([z["cifar10_x"], z["cifar10_x"]])
    np.savez(tmp_path / "c100.npz", x=x60, y=np.r_[np.zeros(59, int), 50])
    monkeypatch.chdir(tmp_path)  # a relative path: the message names the absolute one
    assert main([*base, "--images", "c100.npz", "--batch-size", "2"]) == 2
    err = capsys.readouterr().err  # every label of the file is checked, not the batch's
    assert f"image file {tmp_path / 'c100.npz'}: label 50, but cifar10 has 10 classes" in err
    np.savez(tmp_path / "c10.npz", x=np.concatenate([x60, x60]), y=np.arange(120) % 10)
    c100 = [*base, "--dataset", "cifar100", "--proxies", "params", "--images", "c10.npz"]
    with pytest.warns(ZcnasWarning, match="labels are all in 0..9, but cifar100 has 100 classes"):
        assert main(c100) == 0  # CIFAR-10 images for a CIFAR-100 network: scored, with a warning
    capsys.readouterr()
    tnb = ["score", "--space", "tnb101-micro", "--arch", "(1, 0, 0, 2, 1, 0)", "--images", str(f)]
    assert main(tnb) == 2
    assert "not for TransNAS-Bench-101" in capsys.readouterr().err
