"""mkdocs hook: publish ``benches/RESULTS.md`` (as ``results.md``) and its figures, which live
beside the benchmarks rather than under ``docs/``."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ROOT / "benches"


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "results.md", abs_src_path=str(BENCHES / "RESULTS.md")))
    for png in sorted((BENCHES / "figures").glob("*.png")):
        files.append(File.generated(config, f"figures/{png.name}", abs_src_path=str(png)))
    for f in list(files):
        if f.src_uri.endswith(".py"):  # this hook and the griffe extension are not pages
            files.remove(f)
    return files
