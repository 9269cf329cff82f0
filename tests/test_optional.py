"""Core dependencies and extras: the core install is enough for scoring and the store, and a
missing extra is a ZcnasError that names the ``pip install`` line."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from zcnas import ZcnasError
from zcnas._optional import EXTRAS, available, require

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "zcnas"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _names(reqs: list[str]) -> set[str]:
    out = set()
    for r in reqs:
        name = r.split(";")[0]
        for sep in "<>=!~[ ":
            name = name.split(sep)[0]
        out.add(name.strip().lower())
    return out


def test_core_dependencies_are_the_core():
    core = _names(_pyproject()["project"]["dependencies"])
    assert core == {"numpy", "scipy", "torch", "rich", "pandas", "safetensors"}
    assert not core & {dist for dist, _ in EXTRAS.values()}


def test_every_optional_package_has_its_extra():
    extras = _pyproject()["project"]["optional-dependencies"]
    for module, (dist, extra) in EXTRAS.items():
        assert dist in _names(extras[extra]), (module, extra)
    assert extras["all"] == ["zcnas[analysis,ray,parquet]"]
    for req in (r for reqs in extras.values() for r in reqs if not r.startswith("zcnas[")):
        assert any(op in req for op in ("<", "==", "~=")), f"{req} has no upper bound"
    test = _names(extras["test"])
    assert {"torchvision", "timm"} <= test and "zcnas" in test


def _direct_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods = [node.module]
        else:
            continue
        found += [f"{path.name}:{node.lineno} {m}" for m in mods if m.split(".")[0] in EXTRAS]
    return found


def test_optional_packages_are_imported_only_through_require():
    """Every import of matplotlib, lightgbm, ray or pyarrow in the package goes through
    ``zcnas._optional.require`` (imports under ``TYPE_CHECKING`` are annotations only)."""
    bad = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_optional.py":
            continue
        text = path.read_text()
        hits = _direct_imports(path)
        if "TYPE_CHECKING" in text:  # allow `if TYPE_CHECKING:` imports
            tree = ast.parse(text)
            typing_only = {
                n.lineno
                for node in ast.walk(tree)
                if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
                for n in ast.walk(node)
                if isinstance(n, ast.Import | ast.ImportFrom)
            }
            hits = [h for h in hits if int(h.split(":")[1].split()[0]) not in typing_only]
        bad += hits
    assert not bad, bad


def _hide(monkeypatch: pytest.MonkeyPatch, top: str) -> None:
    """Make ``top`` and its submodules unimportable, as if the extra were not installed."""
    for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, top, None)


@pytest.mark.parametrize("module", sorted(EXTRAS))
def test_missing_extra_names_the_pip_line(monkeypatch, module):
    _hide(monkeypatch, module)
    extra = EXTRAS[module][1]
    with pytest.raises(ZcnasError, match=rf'pip install "zcnas\[{extra}\]"'):
        require(module)
    assert not available(module)


def test_require_rejects_non_optional_and_passes_other_errors(monkeypatch):
    with pytest.raises(ZcnasError, match="not an optional dependency"):
        require("numpy")

    def broken(name, *a, **k):
        raise ModuleNotFoundError("No module named 'libfoo'", name="libfoo")

    monkeypatch.setattr("importlib.import_module", broken)
    with pytest.raises(ModuleNotFoundError):  # a broken install is not a missing extra
        require("lightgbm")


def test_call_sites_raise_the_extra(monkeypatch, tmp_path):
    from zcnas.analysis import plots, surrogate
    from zcnas.bench import ScoreStore
    from zcnas.search import predictor, trajectory

    x = np.random.default_rng(0).random((20, 2))
    _hide(monkeypatch, "lightgbm")
    with pytest.raises(ZcnasError, match=r"zcnas\[analysis\]"):
        surrogate.fit_surrogate(x, x[:, 0])
    with pytest.raises(ZcnasError, match=r"zcnas\[analysis\]"):
        predictor.fit_gbdt(x, x[:, 0])
    _hide(monkeypatch, "matplotlib")
    with pytest.raises(ZcnasError, match=r"zcnas\[analysis\]"):
        plots.rank_scatter(x[:, 0], x[:, 1], "p")
    with pytest.raises(ZcnasError, match=r"zcnas\[analysis\]"):
        trajectory.plot({}, tmp_path / "t.png")
    _hide(monkeypatch, "pyarrow")
    with ScoreStore(tmp_path / "s.db") as st:
        with pytest.raises(ZcnasError, match=r"zcnas\[parquet\]"):
            st.export(tmp_path / "s.parquet", format="parquet")
        st.export(tmp_path / "s.csv", format="csv")  # CSV needs no extra
    _hide(monkeypatch, "ray")
    from zcnas.distributed import RayBackend

    with pytest.raises(ZcnasError, match=r"zcnas\[ray\]"):
        RayBackend()


def test_demo_without_matplotlib_says_which_extra(monkeypatch, tmp_path):
    from rich.console import Console

    from zcnas import demo

    _hide(monkeypatch, "matplotlib")
    console = Console(record=True, width=200)
    demo.run(console=console, live=False, out_dir=tmp_path)
    out = console.export_text()
    assert "entropy in bits" in out and 'pip install "zcnas[analysis]"' in out
    assert not list(tmp_path.iterdir())
