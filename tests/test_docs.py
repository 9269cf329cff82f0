"""The documentation site: every public module has an API page, and every zcnas name the
migration page and the home page mention exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "python" / "zcnas"

#: Modules without an API page: command-line front ends (documented by ``--help``), the demo.
NO_PAGE = {"zcnas.cli", "zcnas.demo"}


def _public_modules() -> list[str]:
    out = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or parts[-1].startswith("cli"):
            continue
        if len(parts) > 1 and (PACKAGE / Path(*parts[1:]) / "__init__.py").exists():
            continue  # packages: their modules have the pages
        out.append(".".join(parts))
    return sorted(set(out) - NO_PAGE - {"zcnas"})


def test_every_public_module_has_an_api_page():
    directives = set(
        re.findall(
            r"^::: ([\w.]+)",
            "".join(p.read_text() for p in (DOCS / "api").glob("*.md")),
            flags=re.M,
        )
    )
    missing = [m for m in _public_modules() if m not in directives]
    assert not missing, f"modules without an API page: {missing}"
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (DOCS / "api").glob("*.md"):
        assert f"api/{page.name}" in nav, page.name


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


NAMES = sorted(
    {
        m
        for page in ("migration.md", "index.md")
        for m in re.findall(r"`(zcnas(?:\.\w+)+)", (DOCS / page).read_text())
    }
)


@pytest.mark.parametrize("name", NAMES)
def test_names_on_the_pages_exist(name):
    _resolve(name)


def test_pages_name_enough():
    assert len(NAMES) >= 15


def test_doctests_are_fenced_for_the_site():
    """The site's griffe extension puts bare ``>>>`` examples in code fences (else Markdown
    reads ``t["a"][i]`` as a reference link) and leaves prose and fenced code alone."""
    pytest.importorskip("griffe")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "doctest_blocks", DOCS / "_ext" / "doctest_blocks.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = 'Summary.\n\n>>> t["a"][0]\n1\n\nMore [prose].\n\n```\n>>> kept\n```'
    assert mod.fence_doctests(text) == (
        'Summary.\n\n```pycon\n>>> t["a"][0]\n1\n```\n\nMore [prose].\n\n```\n>>> kept\n```'
    )
