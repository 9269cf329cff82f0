"""Export of the score store and the ``zcnas store`` command helpers.

:class:`StoreExport` (a base class of :class:`zcnas.bench.store.ScoreStore`) writes a table
to Parquet or CSV; :func:`cli_import`, :func:`cli_export` and :func:`cli_summary` implement
``zcnas store import|export|info``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from zcnas.exceptions import ZcnasError

__all__ = ["StoreExport", "cli_export", "cli_import", "cli_summary"]


class StoreExport:
    """The export method of :class:`~zcnas.bench.store.ScoreStore` (not used on its own)."""

    _version: str

    if TYPE_CHECKING:

        def scores_frame(self) -> pd.DataFrame: ...

        def ground_truth_frame(self) -> pd.DataFrame: ...

    def export(
        self, path: str | os.PathLike[str], format: str = "parquet", *, table: str = "scores"
    ) -> Path:
        """Write one table to a Parquet or CSV file.

        Args:
            path: Output file (overwritten).
            format: ``"parquet"`` (pyarrow) or ``"csv"``.
            table: ``"scores"`` (long form, all columns of the ``scores`` table) or
                ``"ground_truth"``.

        Returns:
            The path written.

        Notes:
            NaN scores are written as NaN in Parquet and as empty fields in CSV (floats in
            shortest round-trip form). Read key columns of a CSV back as text
            (``dtype={"arch": str, ...}``), or NB201 indices become integers.

        Raises:
            ZcnasError: Unknown format or table, or the file cannot be written.
        """
        fmt = str(format).lower()
        if fmt not in ("parquet", "csv"):
            raise ZcnasError(f"unknown export format {format!r}; expected 'parquet' or 'csv'")
        if table == "scores":
            df = self.scores_frame()
        elif table == "ground_truth":
            df = self.ground_truth_frame()
        else:
            raise ZcnasError(f"unknown table {table!r}; expected 'scores' or 'ground_truth'")
        out = Path(path)
        try:
            if fmt == "parquet":
                from zcnas._optional import require

                pa = require("pyarrow", "Parquet export")
                pq = require("pyarrow.parquet")

                tbl = pa.Table.from_pandas(df, preserve_index=False)
                tbl = tbl.replace_schema_metadata(
                    {
                        **(tbl.schema.metadata or {}),
                        b"zcnas_version": self._version.encode(),
                        b"zcnas_table": table.encode(),
                    }
                )
                pq.write_table(tbl, out)
            else:
                df.to_csv(out, index=False)
        except OSError as e:
            raise ZcnasError(f"cannot write export file {out}: {e}") from None
        return out


# ---------------------------------------------------------------------- CLI helpers


def cli_import(
    store_path: str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    *,
    space: str | None = None,
    task: str | None = None,
    out: Any = print,
) -> int:
    """``zcnas store import --store DB PATH...``: import Suite-Zero CSVs / NASLib JSONs.

    ``*.csv`` files (or directories of them) go through
    :func:`zcnas.bench.importers.import_suite_zero`; ``*.json`` files through
    :func:`zcnas.bench.importers.import_naslib_json` with ``space`` (default: taken from a
    ``zc_<space>.json`` file name) and ``task`` (default: every task in the file).

    Args:
        store_path: The store (created if absent).
        paths: Files or directories to import.
        space: Search space for JSON files.
        task: Task for JSON files.
        out: Function printing one line (``print`` by default).

    Returns:
        0 on success (errors raise :class:`~zcnas.exceptions.ZcnasError`).
    """
    from zcnas.bench.importers import import_naslib_json, import_suite_zero
    from zcnas.bench.store import ScoreStore

    if not paths:
        raise ZcnasError("no files to import")
    with ScoreStore(store_path) as store:
        for p in map(Path, paths):
            if p.suffix.lower() == ".json":
                sp = space
                if sp is None:
                    if not (p.stem.startswith("zc_") and len(p.stem) > 3):
                        raise ZcnasError(
                            f"{p}: give the search space (file is not zc_<space>.json)"
                        )
                    sp = p.stem[3:]
                counts = import_naslib_json(store, p, sp, task)
            else:
                counts = import_suite_zero(store, p)
            for (s, t), n in sorted(counts.items()):
                out(f"{p.name}: {s}/{t}: {n} archs")
            for field, n in getattr(counts, "dropped", {}).items():
                out(
                    f"{p.name}: dropped {n} value(s) of field {field!r} (not a "
                    '{"score": ...} object)'
                )
    return 0


def cli_export(
    store_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    format: str = "parquet",
    table: str = "scores",
    out: Any = print,
) -> int:
    """``zcnas store export --format parquet|csv [--table scores|ground_truth] OUT``.

    Args:
        store_path: An existing store.
        out_path: Output file.
        format: ``"parquet"`` or ``"csv"``.
        table: ``"scores"`` or ``"ground_truth"``.
        out: Function printing one line.

    Returns:
        0 on success.

    Raises:
        ZcnasError: The store does not exist, or the export failed.
    """
    if not Path(store_path).is_file():
        raise ZcnasError(f"score store {store_path} does not exist")
    from zcnas.bench.store import ScoreStore

    with ScoreStore(store_path, mode="r") as store:
        written = store.export(out_path, format, table=table)
        n = len(store.scores_frame()) if table == "scores" else len(store.ground_truth_frame())
    out(f"wrote {n} {table} rows to {written}")
    return 0


def cli_summary(store_path: str | os.PathLike[str], *, out: Any = print) -> int:
    """``zcnas store info DB``: print the counts per ``(space, task, flavor)`` with the setup
    of its scores (batch size, seed and inputs of live rows, e.g. an ``--images`` file's hash;
    the file of imported ones), and the number of architectures recorded as failed.

    Returns:
        0 on success.
    """
    if not Path(store_path).is_file():
        raise ZcnasError(f"score store {store_path} does not exist")
    from zcnas.bench.store import ScoreStore
    from zcnas.bench.store_schema import is_live_source

    with ScoreStore(store_path, mode="r") as store:
        df = store.summary()
        failed = store.failures()
        setups = []  # what the scores of each (space, task, flavor) were computed with
        for space, task, flavor in zip(df.space, df.task, df.flavor, strict=True):
            rows = store.setups(space, task, flavor=flavor)
            if not rows:
                setups.append("")
                continue
            b, seed, kind, src, _ = rows[0]
            text = f"batch {b}, seed {seed}, {kind}" if is_live_source(src) else f"{src}"
            setups.append(text + (f" (+{len(rows) - 1} more)" if len(rows) > 1 else ""))
        if len(df):
            df["setup"] = setups
    out(df.to_string(index=False) if len(df) else "(no scores)")
    if len(failed):
        groups = failed.groupby(["space", "task", "flavor"]).size()
        for (space, task, flavor), k in groups.items():
            out(
                f"{k} architectures recorded as failed ({space}, {task}, flavor {flavor}); "
                "`zcnas score ... --retry-failed` scores them again"
            )
    return 0
