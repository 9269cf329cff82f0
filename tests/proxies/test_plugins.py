"""User proxies from a plugin file: loaded once per process, before names are checked, by the
CLI and by every scoring worker; the scores equal the same function called directly."""

from __future__ import annotations

import json
import sys

import pytest
import torch

from zcnas.cli import main
from zcnas.exceptions import ZcnasError
from zcnas.proxies import get_proxy, is_proxy, load_plugin, score, unregister
from zcnas.proxies import plugins as plugins_mod

PLUGIN = """
import torch
from zcnas.proxies import Proxy, register


def mean_abs_logit(ctx, flavor):
    with torch.no_grad():
        return float(ctx.forward(ctx.model_copy()).abs().mean())


register(Proxy("plugin_mean_abs_logit", mean_abs_logit, doc="mean |logit|; higher = better"))
"""


@pytest.fixture
def plugin_file(tmp_path):
    path = tmp_path / "my_proxies.py"
    path.write_text(PLUGIN)
    yield path
    if is_proxy("plugin_mean_abs_logit"):  # leave the registry as the other tests expect it
        unregister("plugin_mean_abs_logit")
    plugins_mod._LOADED.clear()


def test_load_plugin_registers_once_and_reports_what_it_added(plugin_file):
    assert load_plugin(str(plugin_file)) == ["plugin_mean_abs_logit"]
    assert load_plugin(str(plugin_file)) == []  # once per process: no double registration
    assert get_proxy("plugin_mean_abs_logit").doc.startswith("mean |logit|")
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    x = torch.randn(5, 3, 2, 2)
    got = score(net, x, proxies=["plugin_mean_abs_logit"])["plugin_mean_abs_logit"]
    assert got == pytest.approx(float(net(x).detach().abs().mean()), rel=1e-6)


def test_bad_plugins_are_one_clear_error(tmp_path):
    with pytest.raises(ZcnasError, match="no such file"):
        load_plugin(str(tmp_path / "missing.py"))
    with pytest.raises(ZcnasError, match="no module 'no_such_zcnas_plugin'"):
        load_plugin("no_such_zcnas_plugin")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ZcnasError, match=r"broken\.py: importing it raised RuntimeError: boom"):
        load_plugin(str(broken))
    clash = tmp_path / "clash.py"
    clash.write_text(
        "from zcnas.proxies import Proxy, register\n"
        "register(Proxy('synflow', lambda ctx, f: 0.0))\n"
    )
    with pytest.raises(ZcnasError, match="already registered"):
        load_plugin(str(clash))
    assert get_proxy("synflow").family != ""  # the built-in one is untouched
    override = tmp_path / "override.py"
    override.write_text(
        "from zcnas.proxies import Proxy, register\n"
        "register(Proxy('synflow', lambda ctx, f: 1.0), overwrite=True)\n"
    )
    original = get_proxy("synflow")
    with pytest.raises(ZcnasError, match=r"replaces the registered proxies \['synflow'\]"):
        load_plugin(str(override))
    assert get_proxy("synflow") is original  # put back


def test_module_plugin_in_the_working_directory(plugin_file, monkeypatch):
    """``--plugin my_proxies`` from the folder holding ``my_proxies.py``: the ``zcnas`` script's
    sys.path does not hold the working directory, the loader looks there as ``python -m``."""
    here = plugin_file.parent
    monkeypatch.chdir(here)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(here))])
    try:
        assert load_plugin("my_proxies") == ["plugin_mean_abs_logit"]
        assert sys.path[0] == str(here)
    finally:
        sys.modules.pop("my_proxies", None)
    with pytest.raises(ZcnasError, match=r"no module 'other_name'.*working directory"):
        load_plugin("other_name")  # nothing of that name here: the same error as before


def test_cli_scores_a_plugin_proxy_in_process_and_in_workers(plugin_file, tmp_path, capsys):
    args = ["score", "--space", "nb201", "--arch", "6111", "--arch", "1338", "--json"]
    args += ["--proxies", "plugin_mean_abs_logit,params", "--batch-size", "8"]
    assert main([*args, "--proxies", "plugin_mean_abs_logit"]) == 2  # not loaded: unknown
    assert "unknown proxy 'plugin_mean_abs_logit'" in capsys.readouterr().err
    assert main([*args, "--plugin", str(plugin_file)]) == 0
    serial = json.loads(capsys.readouterr().out)
    db = str(tmp_path / "w.db")
    argw = [*args, "--plugin", str(plugin_file), "--workers", "1", "--store", db]
    assert main(argw) == 0  # a spawned worker process loads the plugin itself
    capsys.readouterr()
    from zcnas.bench import ScoreStore

    with ScoreStore(db, mode="r") as st:
        for k in ("6111", "1338"):
            got = st.get("nasbench201", "cifar10", k, "plugin_mean_abs_logit").score
            assert got == pytest.approx(serial[k]["plugin_mean_abs_logit"], rel=1e-6)
