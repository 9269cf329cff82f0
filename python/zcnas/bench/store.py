"""An embedded, crash-safe store of computed zero-cost proxy scores.

:class:`ScoreStore` keeps proxy scores in one SQLite file (standard-library :mod:`sqlite3`)
so that a long proxy run can be killed at any moment and resumed: ask :meth:`ScoreStore.missing`
what is left and compute only that.

Data model:

* ``scores``: one row per ``(space, task, arch, proxy, flavor)`` holding the ``score``, the
  compute time ``time_s`` (seconds) and provenance: ``batch_size``, ``seed``, ``input_kind``
  (e.g. ``"data"``, ``"gaussian"``), ``dtype``, ``source`` (free text, e.g. the file a row was
  imported from), ``zcnas_version`` (the zcnas that *wrote* the row) and ``created_at`` (UTC,
  ISO 8601).
* ``ground_truth``: one row per ``(space, task, arch, metric)`` with its ``value``
  (e.g. ``metric="val_accuracy"`` in percent).
* ``failures``: one row per ``(space, task, flavor, arch)`` whose scoring failed, with the
  ``error`` message, the ``proxies`` asked for and the number of ``attempts``
  (:meth:`ScoreStore.put_failure`, :meth:`ScoreStore.failures`); added without a schema bump,
  created when any store is opened.

Conventions:

* ``arch`` is a string key: for NAS-Bench-201 the official index as text (``"4811"``), for other
  spaces an encoding such as NASLib's tuple string ``"(1, 0, 0, 2, 1, 0)"``. Integers are
  accepted and converted with ``str()``.
* ``flavor`` separates variants of the same proxy (implementation, settings, source);
  the default is ``"default"``.
* Scores are stored exactly as computed. Whether higher is better is a property of each proxy,
  not of the store; the store never flips signs.
* NaN scores (and NaN ground truth) are stored as SQL ``NULL`` and read back as ``nan``; a NaN
  score still counts as computed (:meth:`ScoreStore.has` is true). ``inf`` and ``-inf`` are
  stored as such.
* Putting a key that already exists **replaces** the row (score, time and provenance).

Durability and concurrency: the database runs in WAL mode with ``synchronous=FULL`` (default;
``NORMAL`` on request) and a busy timeout, and every write is its own short ``BEGIN IMMEDIATE``
transaction (:meth:`ScoreStore.put_many` writes its whole batch atomically). A row whose
``put`` returned survives a ``SIGKILL`` of the writer; several processes may write to the same
file at once. A :class:`ScoreStore` object may be shared between threads (calls are
serialised) but not across ``fork``: open a new one in the child.

>>> import tempfile, os
>>> with tempfile.TemporaryDirectory() as d, ScoreStore(os.path.join(d, "s.db")) as st:
...     st.put("nasbench201", "cifar10", 4811, "snip", 46.0, time_s=0.7, batch_size=64)
...     st.missing("nasbench201", "cifar10", ["4811", "1"], ["snip"])
[('1', 'snip')]
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from zcnas import _native
from zcnas.bench.store_io import StoreExport, cli_export, cli_import, cli_summary
from zcnas.bench.store_queries import StoreQueries
from zcnas.bench.store_schema import (
    _FAILURE_COLUMNS,
    _FAILURES_SCHEMA,
    _GT_COLUMNS,
    _GT_FIELDS,
    _PUT_FIELDS,
    _SCHEMA,
    _SCORE_COLUMNS,
    APPLICATION_ID,
    SCHEMA_VERSION,
    GroundTruthRecord,
    ScoreRecord,
    _key,
    _now,
    _opt_int,
    _opt_text,
    _real,
)
from zcnas.exceptions import ZcnasError

#: Longest busy timeout accepted by :class:`ScoreStore` (seconds).
MAX_TIMEOUT_S = 86_400.0


def _is_busy(e: sqlite3.Error) -> bool:
    """Whether ``e`` is SQLite's "database is locked/busy" (another connection holds a lock)."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (and extended codes)
    return "locked" in str(e) or "busy" in str(e)


__all__ = [
    "APPLICATION_ID",
    "MAX_TIMEOUT_S",
    "SCHEMA_VERSION",
    "GroundTruthRecord",
    "ScoreRecord",
    "ScoreStore",
    "cli_export",
    "cli_import",
    "cli_summary",
]


class ScoreStore(StoreQueries, StoreExport):
    """A SQLite-backed store of proxy scores and ground truth (see the module docstring).

    Args:
        path: Database file. Created (with its directory's existing parent) when absent or
            empty; otherwise it must be a zcnas store.
        synchronous: ``"FULL"`` (default: a returned ``put`` survives power loss) or
            ``"NORMAL"`` (faster; survives a crash of the process, the last commits may roll
            back on power loss; the file stays consistent either way).
        timeout_s: How long a write waits for another writer's lock (busy timeout), at most
            :data:`MAX_TIMEOUT_S` (one day).
        check: Run ``PRAGMA integrity_check`` when opening an existing file.
        mode: ``"w"`` (default: read and write; creates the file) or ``"r"`` (read only: the
            file must exist; no lock is taken, so readers proceed while a writer holds a long
            transaction, seeing the last committed state; every write raises).

    Raises:
        ZcnasError: ``path`` is not a zcnas store, is corrupt, or was written by a newer schema;
            with ``mode="r"``, it does not exist; with ``mode="w"``, another process held the
            write lock for longer than ``timeout_s`` (the message says so: the file is fine).

    Example:
        >>> import tempfile, os
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with ScoreStore(os.path.join(d, "s.db")) as st:
        ...         st.put("nasbench201", "cifar10", "0", "synflow", float("nan"))
        ...         st.get("nasbench201", "cifar10", "0", "synflow").score
        nan
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "FULL",
        timeout_s: float = 60.0,
        check: bool = True,
        mode: str = "w",
    ) -> None:
        self.path = Path(path)
        if mode not in ("r", "w"):
            raise ZcnasError(f"mode must be 'r' (read only) or 'w', got {mode!r}")
        self._mode = mode
        sync = str(synchronous).upper()
        if sync not in ("FULL", "NORMAL", "EXTRA"):
            raise ZcnasError(
                f"synchronous must be 'FULL', 'NORMAL' or 'EXTRA', got {synchronous!r}"
            )
        if not (isinstance(timeout_s, numbers.Real) and 0 <= timeout_s <= MAX_TIMEOUT_S):
            raise ZcnasError(
                f"timeout_s must be a number in [0, {MAX_TIMEOUT_S}] seconds, got {timeout_s!r}"
            )
        if self.path.is_dir():
            raise ZcnasError(f"{self.path} is a directory, not a zcnas score store")
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        if mode == "r" and fresh:
            what = "is empty" if self.path.exists() else "does not exist"
            raise ZcnasError(f"score store {self.path} {what} (opened read-only)")
        if fresh and not self.path.parent.is_dir():
            raise ZcnasError(f"cannot create score store {self.path}: no such directory")
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._version = str(_native.__version__)
        try:
            target: str | Path = self.path
            if mode == "r":
                target = f"{self.path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(
                target,
                timeout=float(timeout_s),
                isolation_level=None,
                check_same_thread=False,
                uri=mode == "r",
            )
        except sqlite3.Error as e:
            raise ZcnasError(f"cannot open score store {self.path}: {e}") from None
        self._conn: sqlite3.Connection | None = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(float(timeout_s) * 1000)}")
            if not fresh:
                self._check_existing(check)
            if mode == "r":
                conn.execute("PRAGMA query_only = ON")
                return
            journal = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(journal).lower() != "wal":
                raise ZcnasError(
                    f"cannot switch score store {self.path} to WAL mode (got {journal})"
                )
            conn.execute(f"PRAGMA synchronous = {sync}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._init_schema()
        except sqlite3.Error as e:
            self._abandon()
            if _is_busy(e):
                raise ZcnasError(
                    f"score store {self.path} is locked by another writer (waited "
                    f"{float(timeout_s):g} s): {e}; open it with mode='r' to read meanwhile"
                ) from None
            raise ZcnasError(f"{self.path} is not a usable zcnas score store: {e}") from None
        except BaseException:
            self._abandon()
            raise

    # ------------------------------------------------------------------ lifecycle

    def _abandon(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _check_existing(self, check: bool) -> None:
        conn = self._conn
        assert conn is not None
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as e:
            raise ZcnasError(
                f"{self.path} is not a zcnas score store (or is corrupt): {e}"
            ) from None
        if app_id == 0 and not tables:
            return  # an empty SQLite database: initialise it
        if app_id != APPLICATION_ID or "meta" not in tables:
            raise ZcnasError(
                f"{self.path} is an SQLite database but not a zcnas score store "
                f"(application_id {app_id:#x}, tables: {', '.join(sorted(tables)) or 'none'})"
            )
        if version > SCHEMA_VERSION:
            raise ZcnasError(
                f"{self.path} has score-store schema version {version}, newer than the "
                f"{SCHEMA_VERSION} this zcnas {self._version} understands"
            )
        if check:
            problems = self._integrity()
            if problems:
                raise ZcnasError(
                    f"score store {self.path} is corrupt: integrity_check reports "
                    + "; ".join(problems[:5])
                )

    def _integrity(self) -> list[str]:
        assert self._conn is not None
        try:
            rows = [r[0] for r in self._conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as e:
            return [str(e)]
        return [] if rows == ["ok"] else rows

    def _init_schema(self) -> None:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
            ).fetchone()
            if not has_meta:
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                conn.executemany(
                    "INSERT INTO meta(key, value) VALUES (?, ?)",
                    [
                        ("format", "zcnas-score-store"),
                        ("schema_version", str(SCHEMA_VERSION)),
                        ("created_by", f"zcnas {self._version}"),
                        ("created_at", _now()),
                    ],
                )
            conn.execute(_FAILURES_SCHEMA)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @property
    def mode(self) -> str:
        """``"r"`` (opened read-only) or ``"w"``."""
        return self._mode

    def _check_writable(self) -> None:
        if self._mode == "r":
            raise ZcnasError(f"score store {self.path} is open read-only (mode='r')")

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ZcnasError(f"score store {self.path} is closed")
        if os.getpid() != self._pid:
            raise ZcnasError(
                f"score store {self.path} was opened in process {self._pid}; "
                "open a new ScoreStore in this (forked) process"
            )
        return self._conn

    def close(self) -> None:
        """Close the database (idempotent). Committed rows are already on disk."""
        with self._lock:
            if self._conn is not None and os.getpid() == self._pid:
                self._conn.close()
            self._conn = None

    def __enter__(self) -> ScoreStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        ro = ", read-only" if self._mode == "r" else ""
        return f"ScoreStore({str(self.path)!r}, {state}{ro})"

    def integrity_check(self) -> list[str]:
        """Run ``PRAGMA integrity_check``.

        Returns:
            The problems found; an empty list when the file is sound.
        """
        with self._lock:
            self._db()
            return self._integrity()

    @contextlib.contextmanager
    def _transaction(self, action: str = "writing to") -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` .. ``COMMIT`` under the store's lock, rolled back on any
        exception; SQLite errors become a ``ZcnasError`` naming the store and ``action``."""
        with self._lock:
            conn = self._db()
            self._check_writable()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise ZcnasError(f"{action} score store {self.path} failed: {e}") from None

    # ------------------------------------------------------------------ writes

    def _score_row(self, row: Mapping[str, Any], created_at: str) -> tuple[Any, ...]:
        if not row.keys() <= _PUT_FIELDS:
            unknown = sorted(set(row) - _PUT_FIELDS)
            raise ZcnasError(
                f"unknown score field(s) {unknown}; expected some of {sorted(_PUT_FIELDS)}"
            )
        try:
            space, task, arch, proxy, score = (
                row["space"],
                row["task"],
                row["arch"],
                row["proxy"],
                row["score"],
            )
        except KeyError as e:
            raise ZcnasError(
                f"score row lacks required field {e.args[0]!r}: {dict(row)!r}"
            ) from None
        get = row.get
        time_s = get("time_s")
        if time_s is not None:
            time_s = _real("time_s", time_s, optional=True)
            if time_s is not None and not (0.0 <= time_s < math.inf):
                raise ZcnasError(f"time_s must be finite and >= 0, got {row['time_s']!r}")
        batch_size = _opt_int("batch_size", get("batch_size"))
        if batch_size is not None and batch_size <= 0:
            raise ZcnasError(f"batch_size must be positive, got {batch_size}")
        return (
            _key("space", space),
            _key("task", task),
            _key("arch", arch),
            _key("proxy", proxy),
            _key("flavor", get("flavor", "default")),
            _real("score", score, optional=False),
            time_s,
            batch_size,
            _opt_int("seed", get("seed")),
            _opt_text("input_kind", get("input_kind")),
            _opt_text("dtype", get("dtype")),
            _opt_text("source", get("source")),
            self._version,
            created_at,
        )

    _PUT_SQL = (
        f"INSERT OR REPLACE INTO scores ({', '.join(_SCORE_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(_SCORE_COLUMNS))})"
    )

    def put(
        self,
        space: str,
        task: str,
        arch: str | int,
        proxy: str,
        score: float,
        *,
        flavor: str = "default",
        time_s: float | None = None,
        batch_size: int | None = None,
        seed: int | None = None,
        input_kind: str | None = None,
        dtype: str | None = None,
        source: str | None = None,
    ) -> None:
        """Store one score in its own transaction; replaces an existing row with the same key.

        Args:
            space: Search space, e.g. ``"nasbench201"``.
            task: Task / dataset, e.g. ``"cifar10"``.
            arch: Architecture key (text; an integer is converted with ``str``).
            proxy: Proxy name.
            score: The score as computed; NaN is allowed (stored as NULL, read back as NaN),
                ``None`` is not.
            flavor: Variant of the proxy.
            time_s: Compute time in seconds (finite, >= 0), or ``None``.
            batch_size: Batch size used (positive), or ``None``.
            seed: Random seed used, or ``None``.
            input_kind: e.g. ``"data"`` or ``"gaussian"``, or ``None``.
            dtype: e.g. ``"float32"`` (numpy/torch dtypes are converted to their name).
            source: Free-text origin of the value.

        Raises:
            ZcnasError: A field is invalid, or the write failed.
        """
        row = {
            "space": space,
            "task": task,
            "arch": arch,
            "proxy": proxy,
            "score": score,
            "flavor": flavor,
            "time_s": time_s,
            "batch_size": batch_size,
            "seed": seed,
            "input_kind": input_kind,
            "dtype": dtype,
            "source": source,
        }
        self._write_bulk([self._score_row(row, _now())], [])

    def put_many(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store many scores atomically (one transaction: all rows land or none).

        Args:
            rows: Mappings with the keys of :meth:`put` (``space``, ``task``, ``arch``,
                ``proxy``, ``score`` required; ``flavor`` defaults to ``"default"``).
                Existing keys are replaced.

        Returns:
            The number of rows written.

        Raises:
            ZcnasError: A row is invalid (nothing is written), or the write failed.
        """
        now = _now()
        values = [self._score_row(r, now) for r in rows]
        return self._write_bulk(values, [])

    def _write_bulk(
        self, scores: list[tuple[Any, ...]], truth: list[tuple[Any, ...]], *, stamp: bool = False
    ) -> int:
        """Write validated score and ground-truth tuples in one transaction.

        With ``stamp``, the tuples lack the trailing ``zcnas_version``/``created_at`` (scores)
        or ``created_at`` (ground truth) fields and get them here (used by the importers).
        """
        if stamp:
            now = _now()
            scores = [(*r, self._version, now) for r in scores]
            truth = [(*r, now) for r in truth]
        # Primary-key order makes the B-tree inserts sequential; the sorts are stable, so of
        # repeated keys the last one still wins.
        scores.sort(key=lambda r: (r[0], r[1], r[4], r[3], r[2]))
        truth.sort(key=lambda r: (r[0], r[1], r[3], r[2]))
        if not scores and not truth:
            return 0
        with self._transaction() as conn:
            if scores:
                conn.executemany(self._PUT_SQL, scores)
            if truth:
                conn.executemany(self._GT_SQL, truth)
        return len(scores) + len(truth)

    def _gt_row(self, row: Mapping[str, Any], created_at: str) -> tuple[Any, ...]:
        unknown = set(row) - _GT_FIELDS
        if unknown:
            raise ZcnasError(
                f"unknown ground-truth field(s) {sorted(unknown)}; expected {sorted(_GT_FIELDS)}"
            )
        for req in ("space", "task", "arch", "metric", "value"):
            if req not in row:
                raise ZcnasError(f"ground-truth row lacks required field {req!r}: {dict(row)!r}")
        return (
            _key("space", row["space"]),
            _key("task", row["task"]),
            _key("arch", row["arch"]),
            _key("metric", row["metric"]),
            _real("value", row["value"], optional=False),
            _opt_text("source", row.get("source")),
            created_at,
        )

    _GT_SQL = (
        f"INSERT OR REPLACE INTO ground_truth ({', '.join(_GT_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(_GT_COLUMNS))})"
    )

    def put_ground_truth(
        self,
        space: str,
        task: str,
        arch: str | int,
        metric: str,
        value: float,
        *,
        source: str | None = None,
    ) -> None:
        """Store one ground-truth value; replaces an existing ``(space, task, arch, metric)``.

        Args:
            space: Search space.
            task: Task / dataset.
            arch: Architecture key.
            metric: Metric name, e.g. ``"val_accuracy"``.
            value: The value (NaN allowed, stored as NULL).
            source: Free-text origin.

        Raises:
            ZcnasError: A field is invalid, or the write failed.
        """
        row = {"space": space, "task": task, "arch": arch, "metric": metric, "value": value}
        row["source"] = source
        self._write_bulk([], [self._gt_row(row, _now())])

    def put_ground_truth_many(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store many ground-truth values atomically.

        Args:
            rows: Mappings with keys ``space``, ``task``, ``arch``, ``metric``, ``value`` and
                optionally ``source``. Existing keys are replaced.

        Returns:
            The number of rows written.
        """
        now = _now()
        values = [self._gt_row(r, now) for r in rows]
        return self._write_bulk([], values)

    def delete(
        self, space: str, task: str, arch: str | int, proxy: str, *, flavor: str = "default"
    ) -> bool:
        """Delete one score.

        Returns:
            Whether a row was deleted.
        """
        key = (_key("space", space), _key("task", task), _key("arch", arch))
        key += (_key("proxy", proxy), _key("flavor", flavor))
        with self._lock:
            conn = self._db()
            self._check_writable()
            try:
                cur = conn.execute(
                    "DELETE FROM scores WHERE space=? AND task=? AND arch=? AND proxy=? "
                    "AND flavor=?",
                    key,
                )
            except sqlite3.Error as e:
                raise ZcnasError(f"deleting from score store {self.path} failed: {e}") from None
            return cur.rowcount > 0

    # ------------------------------------------------------------------ failures

    def put_failure(
        self,
        space: str,
        task: str,
        arch: str | int,
        error: str,
        *,
        proxies: Iterable[str] = (),
        flavor: str = "default",
    ) -> None:
        """Record that scoring ``arch`` failed (``error``: the message; ``attempts`` counts
        the failures recorded for the key). Scores are never written for a failure.

        Raises:
            ZcnasError: A field is invalid, or the write failed.
        """
        key = (_key("space", space), _key("task", task), _key("arch", arch))
        key += (_key("flavor", flavor),)
        names = ",".join(_key("proxy", p) for p in proxies)
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO failures VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) "
                "ON CONFLICT (space, task, flavor, arch) DO UPDATE SET "
                "proxies=excluded.proxies, error=excluded.error, "
                "attempts=attempts + 1, zcnas_version=excluded.zcnas_version, "
                "created_at=excluded.created_at",
                (*key, names, str(error), self._version, _now()),
            )

    def failures(
        self, space: str | None = None, task: str | None = None, *, flavor: str | None = None
    ) -> pd.DataFrame:
        """Recorded failures (columns ``space, task, arch, flavor, proxies, error, attempts,
        zcnas_version, created_at``), optionally of one space / task / flavor."""
        where, params = [], []
        for col, val in (("space", space), ("task", task), ("flavor", flavor)):
            if val is not None:
                where.append(f"{col}=?")
                params.append(_key(col, val))
        if self._mode == "r" and not self._read(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='failures'"
        ):  # a file from before the table existed, not upgraded (read-only)
            return pd.DataFrame([], columns=list(_FAILURE_COLUMNS))
        sql = f"SELECT {', '.join(_FAILURE_COLUMNS)} FROM failures"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._read(sql + " ORDER BY space, task, flavor, arch", params)
        return pd.DataFrame(rows, columns=list(_FAILURE_COLUMNS))

    def clear_failures(
        self,
        space: str,
        task: str,
        archs: Iterable[str | int] | None = None,
        *,
        flavor: str = "default",
    ) -> int:
        """Delete recorded failures of ``archs`` (all of the space/task/flavor if None).

        Returns:
            The number of rows deleted.
        """
        key = (_key("space", space), _key("task", task), _key("flavor", flavor))
        sql = "DELETE FROM failures WHERE space=? AND task=? AND flavor=?"
        keys = None if archs is None else [_key("arch", a) for a in archs]
        with self._transaction("deleting from") as conn:
            if keys is None:
                return conn.execute(sql, key).rowcount
            return sum(conn.execute(sql + " AND arch=?", (*key, a)).rowcount for a in keys)
