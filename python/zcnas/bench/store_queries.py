"""Reads of the score store: point reads, the catalogue and wide tables.

:class:`StoreQueries` is a base class of :class:`zcnas.bench.store.ScoreStore`; its methods
only read (``SELECT``), so they work on a store opened read-only (``mode="r"``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from zcnas.bench.store_schema import (
    _GT_COLUMNS,
    _SCORE_COLUMNS,
    GroundTruthRecord,
    ScoreRecord,
    _arch_order,
    _key,
    _nan,
)
from zcnas.exceptions import ZcnasError

__all__ = ["StoreQueries"]


class StoreQueries:
    """The read methods of :class:`~zcnas.bench.store.ScoreStore` (not used on its own)."""

    path: Path
    _lock: threading.RLock

    if TYPE_CHECKING:

        def _db(self) -> sqlite3.Connection: ...

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._db()
            try:
                return conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as e:
                raise ZcnasError(f"reading score store {self.path} failed: {e}") from None

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

    def setups(
        self, space: str, task: str, *, flavor: str = "default"
    ) -> list[tuple[int | None, int | None, str | None, str | None, int]]:
        """The provenance of every stored score of ``(space, task, flavor)``, grouped by setup:
        what a run that scores into it (or an import into it) would stand beside.

        Unknown spaces/tasks/flavors are fine here (nothing stored: an empty list).

        Returns:
            ``(batch_size, seed, input_kind, source, n_rows)`` per distinct setup, most rows
            first; ``None`` where a field was not recorded.
        """
        space, task, flavor = _key("space", space), _key("task", task), _key("flavor", flavor)
        rows = self._read(
            "SELECT batch_size, seed, input_kind, source, COUNT(*) FROM scores "
            "WHERE space=? AND task=? AND flavor=? "
            "GROUP BY batch_size, seed, input_kind, source",
            (space, task, flavor),
        )
        return sorted(((b, s, k, src, int(n)) for b, s, k, src, n in rows), key=lambda r: -r[-1])

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
            pair, any metric), ``truth`` (each metric with its number of archs, e.g.
            ``"test_accuracy 3, val_accuracy 9445"``; empty without ground truth).
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
        per_metric: dict[tuple[str, str], list[str]] = {}
        for s, t, m, n in self._read(
            "SELECT space, task, metric, COUNT(*) FROM ground_truth "
            "GROUP BY space, task, metric ORDER BY space, task, metric"
        ):
            per_metric.setdefault((s, t), []).append(f"{m} {n}")
        cols = ["space", "task", "flavor", "n_archs", "n_proxies", "n_scores"]
        df = pd.DataFrame(rows, columns=cols)
        keys = list(zip(df.space, df.task, strict=True))
        df["n_truth"] = [truth.get(k, 0) for k in keys]
        df["truth"] = [", ".join(per_metric.get(k, [])) for k in keys]
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
        rows = self._select_scores("arch, proxy, score", space, task, flavor, wanted)
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

    def _select_scores(
        self,
        columns: str,
        space: str,
        task: str,
        flavor: str,
        wanted: list[str],
        tail: str = "",
    ) -> list[tuple[Any, ...]]:
        """``SELECT columns`` of the ``scores`` rows of ``(space, task, flavor)`` and the
        ``wanted`` (already checked) proxies, with ``tail`` (e.g. a GROUP BY) appended."""
        marks = ", ".join("?" * len(wanted))
        return self._read(
            f"SELECT {columns} FROM scores WHERE space=? AND task=? AND flavor=? "
            f"AND proxy IN ({marks}){tail}",
            (space, task, flavor, *wanted),
        )

    def batch_sizes(
        self,
        space: str,
        task: str,
        proxies: Iterable[str] | None = None,
        *,
        flavor: str = "default",
    ) -> dict[int | None, int]:
        """How many stored scores of ``(space, task, flavor)`` were computed at each batch size.

        Reads the provenance column ``batch_size`` (images per minibatch), which
        :func:`zcnas.scoring.score_architectures` always records and importers record when
        their source says (NAS-Bench-Suite-Zero's NB201 CSV: 32; NASLib JSON files do not
        say). A score program's reference pool and live scores must share it (proxy values
        depend on the batch size).

        Args:
            space: Search space.
            task: Task.
            proxies: Only these proxies (default: all of the flavor's).
            flavor: Flavor to read.

        Returns:
            ``{batch size: number of scores}`` in increasing batch size, then ``None`` (not
            recorded) if any.

        Raises:
            ZcnasError: Unknown space, task, flavor or proxy.
        """
        space, task = self._check_task(space, task)
        flavor = self._check_flavor(space, task, flavor)
        wanted = self._check_proxies(space, task, flavor, proxies)
        rows = self._select_scores(
            "batch_size, COUNT(*)", space, task, flavor, wanted, " GROUP BY batch_size"
        )
        out: dict[int | None, int] = {
            int(b): int(n) for b, n in sorted((b, n) for b, n in rows if b is not None)
        }
        unknown = sum(int(n) for b, n in rows if b is None)
        if unknown:
            out[None] = unknown
        return out

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
        rows = self._select_scores("arch, proxy, score", space, task, flavor, wanted)
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
