"""The `zcnas` command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zcnas.cli import main


def test_demo_prints_real_benchmark_facts(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "94.3733% at index 6111" in out
    assert "nonlinear(all 13)" in out


def test_console_entry_point():
    res = subprocess.run(
        [sys.executable, "-m", "zcnas.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert res.stdout.startswith("zcnas ")


def test_unknown_command_fails():
    with pytest.raises(SystemExit):
        main(["frobnicate"])
