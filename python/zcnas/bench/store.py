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
import datetime as _dt
import math
import numbers
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zcnas import _native
from zcnas.exceptions import ZcnasError

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "GroundTruthRecord",
    "ScoreRecord",
    "ScoreStore",
    "cli_export",
    "cli_import",
    "cli_summary",
]

#: ``PRAGMA application_id`` of a zcnas store ("ZCNS" in ASCII).
APPLICATION_ID = 0x5A434E53
#: Schema version written to ``PRAGMA user_version`` and the ``meta`` table.
SCHEMA_VERSION = 1

_SCORE_COLUMNS = (
    "space",
    "task",
    "arch",
    "proxy",
    "flavor",
    "score",
    "time_s",
    "batch_size",
    "seed",
    "input_kind",
    "dtype",
    "source",
    "zcnas_version",
    "created_at",
)
_GT_COLUMNS = ("space", "task", "arch", "metric", "value", "source", "created_at")
_PUT_FIELDS = frozenset(
    {"space", "task", "arch", "proxy", "score", "flavor", "time_s", "batch_size", "seed"}
    | {"input_kind", "dtype", "source"}
)
_GT_FIELDS = frozenset({"space", "task", "arch", "metric", "value", "source"})

_SCHEMA = f"""
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE scores (
    space         TEXT NOT NULL,
    task          TEXT NOT NULL,
    arch          TEXT NOT NULL,
    proxy         TEXT NOT NULL,
    flavor        TEXT NOT NULL,
    score         REAL,
    time_s        REAL,
    batch_size    INTEGER,
    seed          INTEGER,
    input_kind    TEXT,
    dtype         TEXT,
    source        TEXT,
    zcnas_version TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (space, task, flavor, proxy, arch)
) WITHOUT ROWID;
CREATE TABLE ground_truth (
    space      TEXT NOT NULL,
    task       TEXT NOT NULL,
    arch       TEXT NOT NULL,
    metric     TEXT NOT NULL,
    value      REAL,
    source     TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (space, task, metric, arch)
) WITHOUT ROWID;
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""

# Added after schema 1 shipped, without a version bump: created (if absent) whenever a store is
# opened, so older files gain it and older zcnas versions simply ignore it. One row per
# architecture whose scoring raised (or whose worker died); cleared when it later succeeds.
_FAILURES_SCHEMA = """
CREATE TABLE IF NOT EXISTS failures (
    space         TEXT NOT NULL,
    task          TEXT NOT NULL,
    arch          TEXT NOT NULL,
    flavor        TEXT NOT NULL,
    proxies       TEXT NOT NULL,
    error         TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    zcnas_version TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (space, task, flavor, arch)
) WITHOUT ROWID
"""
_FAILURE_COLUMNS = tuple(
    "space task arch flavor proxies error attempts zcnas_version created_at".split()
)


@dataclass(frozen=True)
class ScoreRecord:
    """One stored proxy score with its provenance.

    Attributes:
        space: Search space, e.g. ``"nasbench201"``.
        task: Task / dataset, e.g. ``"cifar10"``.
        arch: Architecture key (text).
        proxy: Proxy name, e.g. ``"synflow"``.
        flavor: Variant of the proxy (``"default"`` unless given).
        score: The score as computed (``nan`` if it was NaN).
        time_s: Compute time in seconds, or ``None``.
        batch_size: Batch size used, or ``None``.
        seed: Random seed used, or ``None``.
        input_kind: Kind of input (``"data"``, ``"gaussian"``, ...), or ``None``.
        dtype: Floating-point type used (``"float32"``, ...), or ``None``.
        source: Free-text origin (e.g. the imported file), or ``None``.
        zcnas_version: Version of zcnas that wrote the row.
        created_at: UTC timestamp (ISO 8601) of the write.
    """

    space: str
    task: str
    arch: str
    proxy: str
    flavor: str
    score: float
    time_s: float | None
    batch_size: int | None
    seed: int | None
    input_kind: str | None
    dtype: str | None
    source: str | None
    zcnas_version: str
    created_at: str


@dataclass(frozen=True)
class GroundTruthRecord:
    """One ground-truth value (e.g. validation accuracy) of an architecture.

    Attributes:
        space: Search space.
        task: Task / dataset.
        arch: Architecture key (text).
        metric: Metric name, e.g. ``"val_accuracy"``.
        value: The value (``nan`` if it was NaN).
        source: Free-text origin, or ``None``.
        created_at: UTC timestamp (ISO 8601) of the write.
    """

    space: str
    task: str
    arch: str
    metric: str
    value: float
    source: str | None
    created_at: str


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def _key(name: str, value: Any) -> str:
    """Validate a text key; ``arch`` may also be an integer."""
    if type(value) is str and value:  # fast path
        return value
    if name == "arch" and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if not isinstance(value, str) or not value:
        raise ZcnasError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _real(name: str, value: Any, *, optional: bool) -> float | None:
    """Validate a real number; NaN becomes ``None`` (SQL NULL)."""
    if type(value) is float:  # fast path
        return None if value != value else value
    if value is None:
        if optional:
            return None
        raise ZcnasError(f"{name} must be a real number (NaN allowed), got None")
    if isinstance(value, bool | str | bytes) or not isinstance(value, numbers.Real):
        raise ZcnasError(f"{name} must be a real number, got {value!r}")
    x = float(value)
    return None if math.isnan(x) else x


def _opt_int(name: str, value: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ZcnasError(f"{name} must be an integer or None, got {value!r}")
    return int(value)


def _opt_text(name: str, value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    if name == "dtype":  # numpy / torch dtypes
        return str(getattr(value, "name", value)).removeprefix("torch.")
    raise ZcnasError(f"{name} must be a string or None, got {value!r}")


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _arch_order(archs: Iterable[str]) -> list[str]:
    """Archs sorted numerically when all are integers (NB201 indices), else as text."""
    archs = list(archs)
    if archs and all(a.isdigit() for a in archs):
        return sorted(archs, key=int)
    return sorted(archs)


class ScoreStore:
    """A SQLite-backed store of proxy scores and ground truth (see the module docstring).

    Args:
        path: Database file. Created (with its directory's existing parent) when absent or
            empty; otherwise it must be a zcnas store.
        synchronous: ``"FULL"`` (default: a returned ``put`` survives power loss) or
            ``"NORMAL"`` (faster; survives a crash of the process, the last commits may roll
            back on power loss; the file stays consistent either way).
        timeout_s: How long a write waits for another writer's lock (busy timeout).
        check: Run ``PRAGMA integrity_check`` when opening an existing file.

    Raises:
        ZcnasError: ``path`` is not a zcnas store, is corrupt, or was written by a newer schema.

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
    ) -> None:
        self.path = Path(path)
        sync = str(synchronous).upper()
        if sync not in ("FULL", "NORMAL", "EXTRA"):
            raise ZcnasError(
                f"synchronous must be 'FULL', 'NORMAL' or 'EXTRA', got {synchronous!r}"
            )
        if not (isinstance(timeout_s, numbers.Real) and timeout_s >= 0):
            raise ZcnasError(f"timeout_s must be a non-negative number, got {timeout_s!r}")
        if self.path.is_dir():
            raise ZcnasError(f"{self.path} is a directory, not a zcnas score store")
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        if fresh and not self.path.parent.is_dir():
            raise ZcnasError(f"cannot create score store {self.path}: no such directory")
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._version = str(_native.__version__)
        try:
            conn = sqlite3.connect(
                self.path, timeout=float(timeout_s), isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise ZcnasError(f"cannot open score store {self.path}: {e}") from None
        self._conn: sqlite3.Connection | None = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(float(timeout_s) * 1000)}")
            if not fresh:
                self._check_existing(check)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise ZcnasError(f"cannot switch score store {self.path} to WAL mode (got {mode})")
            conn.execute(f"PRAGMA synchronous = {sync}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._init_schema()
        except sqlite3.Error as e:
            self._abandon()
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
        return f"ScoreStore({str(self.path)!r}, {state})"

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

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._db()
            try:
                return conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as e:
                raise ZcnasError(f"reading score store {self.path} failed: {e}") from None

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

    # ------------------------------------------------------------------ point reads

    def has(
        self, space: str, task: str, arch: str | int, proxy: str, *, flavor: str = "default"
    ) -> bool:
        """Whether a score is stored for this key (a stored NaN counts as present)."""
        key = (_key("space", space), _key("task", task), _key("arch", arch))
        key += (_key("proxy", proxy), _key("flavor", flavor))
        rows = self._read(
            "SELECT 1 FROM scores WHERE space=? AND task=? AND arch=? AND proxy=? AND flavor=?",
            key,
        )
        return bool(rows)

    def get(
        self, space: str, task: str, arch: str | int, proxy: str, *, flavor: str = "default"
    ) -> ScoreRecord:
        """The stored score and provenance of one key.

        Returns:
            A :class:`ScoreRecord` (``score`` is ``nan`` for a stored NaN).

        Raises:
            ZcnasError: Nothing is stored under this key.
        """
        key = (_key("space", space), _key("task", task), _key("arch", arch))
        key += (_key("proxy", proxy), _key("flavor", flavor))
        rows = self._read(
            f"SELECT {', '.join(_SCORE_COLUMNS)} FROM scores "
            "WHERE space=? AND task=? AND arch=? AND proxy=? AND flavor=?",
            key,
        )
        if not rows:
            raise ZcnasError(
                f"no score stored for space={key[0]!r} task={key[1]!r} arch={key[2]!r} "
                f"proxy={key[3]!r} flavor={key[4]!r} in {self.path}"
            )
        rec = dict(zip(_SCORE_COLUMNS, rows[0], strict=True))
        rec["score"] = _nan(rec["score"])
        return ScoreRecord(**rec)

    def get_ground_truth(
        self, space: str, task: str, arch: str | int, metric: str = "val_accuracy"
    ) -> GroundTruthRecord:
        """The stored ground truth of one architecture.

        Raises:
            ZcnasError: Nothing is stored under this key.
        """
        key = (_key("space", space), _key("task", task), _key("arch", arch))
        key += (_key("metric", metric),)
        rows = self._read(
            f"SELECT {', '.join(_GT_COLUMNS)} FROM ground_truth "
            "WHERE space=? AND task=? AND arch=? AND metric=?",
            key,
        )
        if not rows:
            raise ZcnasError(
                f"no ground truth {key[3]!r} stored for space={key[0]!r} task={key[1]!r} "
                f"arch={key[2]!r} in {self.path}"
            )
        rec = dict(zip(_GT_COLUMNS, rows[0], strict=True))
        rec["value"] = _nan(rec["value"])
        return GroundTruthRecord(**rec)

    def missing(
        self,
        space: str,
        task: str,
        archs: Iterable[str | int],
        proxies: Iterable[str],
        *,
        flavor: str = "default",
    ) -> list[tuple[str, str]]:
        """What a resumed run still has to compute.

        Unknown spaces/tasks are fine here: for a fresh store everything is missing.

        Args:
            space: Search space.
            task: Task.
            archs: Architecture keys wanted.
            proxies: Proxies wanted.
            flavor: Flavor wanted.

        Returns:
            ``(arch, proxy)`` pairs with no stored row, arch-major in the order given
            (duplicates in the inputs are reported once).
        """
        space, task, flavor = _key("space", space), _key("task", task), _key("flavor", flavor)
        arch_list = list(dict.fromkeys(_key("arch", a) for a in archs))
        proxy_list = list(dict.fromkeys(_key("proxy", p) for p in proxies))
        done = set(
            self._read(
                "SELECT arch, proxy FROM scores WHERE space=? AND task=? AND flavor=?",
                (space, task, flavor),
            )
        )
        return [(a, p) for a in arch_list for p in proxy_list if (a, p) not in done]

    # ------------------------------------------------------------------ catalogue

    def _distinct(self, table: str, col: str, prefix: Mapping[str, str]) -> list[str]:
        """Distinct values of the primary-key column ``col`` that follows the ``prefix``
        columns, by a loose index scan (one index seek per value, not a table scan)."""
        where = "".join(f"{c} = ? AND " for c in prefix)
        params = list(prefix.values())
        sql = (
            f"WITH RECURSIVE d(v) AS ("
            f"SELECT min({col}) FROM {table} WHERE {where}1 "
            f"UNION ALL SELECT (SELECT min({col}) FROM {table} WHERE {where}{col} > d.v) "
            f"FROM d WHERE d.v IS NOT NULL) SELECT v FROM d WHERE v IS NOT NULL"
        )
        return [r[0] for r in self._read(sql, params + params)]

    def spaces(self) -> list[str]:
        """Search spaces with scores or ground truth, sorted."""
        found = self._distinct("scores", "space", {})
        return sorted(set(found) | set(self._distinct("ground_truth", "space", {})))

    def _check_space(self, space: str) -> str:
        space = _key("space", space)
        known = self.spaces()
        if space not in known:
            raise ZcnasError(
                f"unknown space {space!r} in {self.path}; stored: {', '.join(known) or 'none'}"
            )
        return space

    def tasks(self, space: str) -> list[str]:
        """Tasks of ``space`` (with scores or ground truth), sorted.

        Raises:
            ZcnasError: ``space`` is not stored (the message lists the stored spaces).
        """
        space = self._check_space(space)
        found = set(self._distinct("scores", "task", {"space": space}))
        return sorted(found | set(self._distinct("ground_truth", "task", {"space": space})))

    def _check_task(self, space: str, task: str) -> tuple[str, str]:
        space = self._check_space(space)
        task = _key("task", task)
        known = self.tasks(space)
        if task not in known:
            raise ZcnasError(
                f"unknown task {task!r} for space {space!r} in {self.path}; "
                f"stored: {', '.join(known)}"
            )
        return space, task

    def flavors(self, space: str, task: str) -> list[str]:
        """Flavors with scores for ``(space, task)``, sorted.

        Raises:
            ZcnasError: Unknown space or task.
        """
        space, task = self._check_task(space, task)
        return self._distinct("scores", "flavor", {"space": space, "task": task})

    def proxies(self, space: str, task: str, flavor: str | None = None) -> list[str]:
        """Proxies with scores for ``(space, task)``, sorted.

        Args:
            space: Search space.
            task: Task.
            flavor: Only this flavor; ``None`` means any flavor.

        Raises:
            ZcnasError: Unknown space, task or flavor.
        """
        space, task = self._check_task(space, task)
        flavors = self.flavors(space, task) if flavor is None else [flavor]
        if flavor is not None:
            self._check_flavor(space, task, flavor)
        found: set[str] = set()
        for f in flavors:
            found.update(
                self._distinct("scores", "proxy", {"space": space, "task": task, "flavor": f})
            )
        return sorted(found)

    def metrics(self, space: str, task: str) -> list[str]:
        """Ground-truth metrics stored for ``(space, task)``, sorted (may be empty).

        Raises:
            ZcnasError: Unknown space or task.
        """
        space, task = self._check_task(space, task)
        return self._distinct("ground_truth", "metric", {"space": space, "task": task})

    def _check_flavor(self, space: str, task: str, flavor: str) -> str:
        flavor = _key("flavor", flavor)
        known = self.flavors(space, task)
        if flavor not in known:
            raise ZcnasError(
                f"unknown flavor {flavor!r} for {space}/{task} in {self.path}; "
                f"stored: {', '.join(known) or 'none'}"
            )
        return flavor

    def _check_proxies(
        self, space: str, task: str, flavor: str, proxies: Iterable[str] | None
    ) -> list[str]:
        known = self.proxies(space, task, flavor)
        if proxies is None:
            return known
        if isinstance(proxies, str):
            proxies = [proxies]
        wanted = list(dict.fromkeys(_key("proxy", p) for p in proxies))
        if not wanted:
            raise ZcnasError("proxies must name at least one proxy")
        bad = [p for p in wanted if p not in known]
        if bad:
            raise ZcnasError(
                f"unknown proxy {', '.join(map(repr, bad))} for {space}/{task} flavor "
                f"{flavor!r} in {self.path}; stored: {', '.join(known)}"
            )
        return wanted

    def summary(self) -> pd.DataFrame:
        """Counts per ``(space, task, flavor)``.

        Returns:
            Columns ``space``, ``task``, ``flavor``, ``n_archs`` (distinct archs with a score),
            ``n_proxies``, ``n_scores``, ``n_truth`` (distinct archs with ground truth for the
            pair, any metric).
        """
        rows = self._read(
            "SELECT space, task, flavor, COUNT(DISTINCT arch), COUNT(DISTINCT proxy), COUNT(*) "
            "FROM scores GROUP BY space, task, flavor ORDER BY space, task, flavor"
        )
        truth = dict(
            ((s, t), n)
            for s, t, n in self._read(
                "SELECT space, task, COUNT(DISTINCT arch) FROM ground_truth GROUP BY space, task"
            )
        )
        cols = ["space", "task", "flavor", "n_archs", "n_proxies", "n_scores"]
        df = pd.DataFrame(rows, columns=cols)
        df["n_truth"] = [truth.get((s, t), 0) for s, t in zip(df.space, df.task, strict=True)]
        return df

    def n_archs(self, space: str, task: str) -> int:
        """Distinct architectures with at least one score (any flavor) for ``(space, task)``."""
        space, task = self._check_task(space, task)
        rows = self._read(
            "SELECT COUNT(DISTINCT arch) FROM scores WHERE space=? AND task=?", (space, task)
        )
        return int(rows[0][0])

    # ------------------------------------------------------------------ tables

    def query(
        self,
        space: str,
        task: str,
        proxies: Iterable[str] | None = None,
        *,
        flavor: str = "default",
    ) -> pd.DataFrame:
        """A wide table of one ``(space, task, flavor)``.

        Args:
            space: Search space.
            task: Task.
            proxies: Proxies to include (in this order); ``None`` means all of the flavor's.
            flavor: Flavor to read.

        Returns:
            One row per arch that has at least one of the requested scores (index ``arch``,
            sorted numerically when all keys are integers), one float column per proxy (NaN
            where not stored or stored as NaN), then one column per ground-truth metric
            (NaN where absent).

        Raises:
            ZcnasError: Unknown space, task, flavor or proxy (the message lists what exists).
        """
        space, task = self._check_task(space, task)
        flavor = self._check_flavor(space, task, flavor)
        wanted = self._check_proxies(space, task, flavor, proxies)
        marks = ", ".join("?" * len(wanted))
        rows = self._read(
            f"SELECT arch, proxy, score FROM scores WHERE space=? AND task=? AND flavor=? "
            f"AND proxy IN ({marks})",
            (space, task, flavor, *wanted),
        )
        long = pd.DataFrame(rows, columns=["arch", "proxy", "score"])
        long["score"] = long["score"].astype(np.float64)
        wide = long.pivot(index="arch", columns="proxy", values="score")
        wide = wide.reindex(index=_arch_order(wide.index), columns=wanted)
        gt = self._read(
            "SELECT arch, metric, value FROM ground_truth WHERE space=? AND task=?", (space, task)
        )
        if gt:
            gtl = pd.DataFrame(gt, columns=["arch", "metric", "value"])
            gtl["value"] = gtl["value"].astype(np.float64)
            gtw = gtl.pivot(index="arch", columns="metric", values="value")
            clash = sorted(set(gtw.columns) & set(wanted))
            if clash:
                raise ZcnasError(f"ground-truth metric(s) {clash} have the name of a proxy")
            wide = wide.join(gtw[sorted(gtw.columns)], how="left")
        wide.index.name = "arch"
        wide.columns.name = None
        return wide.astype(np.float64)

    def to_arrays(
        self,
        space: str,
        task: str,
        proxies: Iterable[str],
        metric: str = "val_accuracy",
        *,
        flavor: str = "default",
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Aligned arrays for evaluating proxies against ground truth.

        Only architectures with every requested proxy stored and a ground-truth row for
        ``metric`` are kept; stored NaNs stay NaN (decide with ``nan_policy`` downstream).

        Args:
            space: Search space.
            task: Task.
            proxies: Proxies, in the column order wanted.
            metric: Ground-truth metric.
            flavor: Flavor to read.

        Returns:
            ``(archs, scores, truth)``: ``archs`` a ``str`` array of length ``n``, ``scores``
            a float64 ``(n, k)`` array, ``truth`` a float64 ``(n,)`` array.

        Raises:
            ZcnasError: Unknown space, task, flavor, proxy or metric, or no arch has them all.
        """
        space, task = self._check_task(space, task)
        flavor = self._check_flavor(space, task, flavor)
        wanted = self._check_proxies(space, task, flavor, proxies)
        metric = _key("metric", metric)
        metrics = self.metrics(space, task)
        if metric not in metrics:
            raise ZcnasError(
                f"unknown ground-truth metric {metric!r} for {space}/{task} in {self.path}; "
                f"stored: {', '.join(metrics) or 'none'}"
            )
        marks = ", ".join("?" * len(wanted))
        rows = self._read(
            f"SELECT arch, proxy, score FROM scores WHERE space=? AND task=? AND flavor=? "
            f"AND proxy IN ({marks})",
            (space, task, flavor, *wanted),
        )
        long = pd.DataFrame(rows, columns=["arch", "proxy", "score"])
        long["score"] = long["score"].astype(np.float64)
        counts = long.groupby("arch")["proxy"].size()
        complete = counts.index[counts.to_numpy() == len(wanted)]
        wide = long.pivot(index="arch", columns="proxy", values="score").loc[complete, wanted]
        gt = dict(
            self._read(
                "SELECT arch, value FROM ground_truth WHERE space=? AND task=? AND metric=?",
                (space, task, metric),
            )
        )
        archs = _arch_order(a for a in wide.index if a in gt)
        if not archs:
            raise ZcnasError(
                f"no architecture of {space}/{task} flavor {flavor!r} has all of "
                f"{wanted} and ground truth {metric!r}"
            )
        scores = wide.loc[archs].to_numpy(dtype=np.float64)
        truth = np.array([_nan(gt[a]) for a in archs], dtype=np.float64)
        return np.array(archs, dtype=str), scores, truth

    def scores_frame(self) -> pd.DataFrame:
        """All score rows in long form (columns as in the ``scores`` table; NaN for NULL
        scores, nullable ``Int64`` for ``batch_size`` and ``seed``)."""
        rows = self._read(
            f"SELECT {', '.join(_SCORE_COLUMNS)} FROM scores "
            "ORDER BY space, task, flavor, proxy, arch"
        )
        df = pd.DataFrame(rows, columns=list(_SCORE_COLUMNS))
        for c in ("score", "time_s"):
            df[c] = df[c].astype(np.float64)
        for c in ("batch_size", "seed"):
            df[c] = df[c].astype("Int64")
        for c in ("input_kind", "dtype", "source"):
            df[c] = df[c].astype(object)
        return df

    def ground_truth_frame(self) -> pd.DataFrame:
        """All ground-truth rows in long form (NaN for NULL values)."""
        rows = self._read(
            f"SELECT {', '.join(_GT_COLUMNS)} FROM ground_truth ORDER BY space, task, metric, arch"
        )
        df = pd.DataFrame(rows, columns=list(_GT_COLUMNS))
        df["value"] = df["value"].astype(np.float64)
        df["source"] = df["source"].astype(object)
        return df

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
                import pyarrow as pa
                import pyarrow.parquet as pq

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
    with ScoreStore(store_path) as store:
        written = store.export(out_path, format, table=table)
        n = len(store.scores_frame()) if table == "scores" else len(store.ground_truth_frame())
    out(f"wrote {n} {table} rows to {written}")
    return 0


def cli_summary(store_path: str | os.PathLike[str], *, out: Any = print) -> int:
    """``zcnas store info DB``: print the counts per ``(space, task, flavor)``.

    Returns:
        0 on success.
    """
    if not Path(store_path).is_file():
        raise ZcnasError(f"score store {store_path} does not exist")
    with ScoreStore(store_path) as store:
        df = store.summary()
    out(df.to_string(index=False) if len(df) else "(empty store)")
    return 0
