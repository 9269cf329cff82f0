"""Schema, record types and field validation of the score store (:mod:`zcnas.bench.store`).

The SQL of the three tables, the column orders used by every read and write, the frozen
records :class:`ScoreRecord` / :class:`GroundTruthRecord` returned by point reads, and the
validators that turn user values into SQL parameters (NaN becomes ``NULL``).
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from zcnas.exceptions import ZcnasError

__all__ = [
    "APPLICATION_ID",
    "LIVE_SOURCE",
    "SCHEMA_VERSION",
    "GroundTruthRecord",
    "ScoreRecord",
    "is_live_source",
]

#: ``PRAGMA application_id`` of a zcnas store ("ZCNS" in ASCII).
APPLICATION_ID = 0x5A434E53
#: Schema version written to ``PRAGMA user_version`` and the ``meta`` table.
SCHEMA_VERSION = 1
#: How the ``source`` of every row computed by :func:`zcnas.scoring.score_architectures`
#: (``zcnas score``, the distributed backends) begins: rows with another source were imported
#: or written by other code, and a live run neither reuses nor is overwritten by them.
LIVE_SOURCE = "zcnas score"


def is_live_source(source: str | None) -> bool:
    """Whether a stored ``source`` is :data:`LIVE_SOURCE`'s (a ``None`` source is not)."""
    return (source or "").startswith(LIVE_SOURCE)


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
