"""EZNAS task datasets on disk, resumable collection, and programs as proxies.

**Task dataset** (the paper's "evolution task dataset", section 3.6): for one (space, task) a
pool of sampled networks (paper: 80), each with its real ground truth and its statistics
(:mod:`zcnas.eznas.stats`). On disk, one directory:

* ``net_00000.safetensors`` ... one shard per network, tensors ``"<instance:03d>/<terminal>"``
  (e.g. ``"007/T1GD"``), float32 or float16, C-contiguous, shapes as collected;
* ``manifest.json`` (format ``zcnas-eznas-stats`` version 1): ``space``, ``dataset``,
  ``target`` (the ground-truth key used as fitness target, ``<dataset>_test``), ``pattern``,
  ``batch_size``, ``seed``, ``dtype``, ``gradient``, ``double_conv``, ``terminals`` (the 22
  names), ``inputs`` (what D, N and P are), ``planned`` (every architecture index of the pool,
  in order) and ``networks``: one entry per written shard with ``file``, ``arch`` (arch
  string), ``index`` (benchmark index), ``ground_truth`` (``{"cifar10_test": ..., ...}``, test
  accuracy in %), ``n_instances``, ``shapes`` (per instance the shapes of T1, T2, T3, T4; the
  gradients and the N / P versions have the same shapes), ``seed`` (the network's own seed),
  ``images`` (which real images formed D) and ``time_s``.

Collection is resumable: each shard is written to a temporary file and renamed, then the
manifest is rewritten atomically (temporary file + ``os.replace``), so a killed run loses at
most the network in flight and a rerun with the same arguments continues where it stopped.

**Tasks with real ground truth here:** NAS-Bench-201 x ``cifar10``, ``cifar100``,
``imagenet16`` (test accuracy, mean over seeds) and NAS-Bench-Macro x ``cifar10`` (mean test
accuracy of 3 runs). D is one batch of the real images zcnas ships
(:func:`zcnas.datasets.cifar_batch`: 30 CIFAR-10, 25 CIFAR-100 pictures), drawn per network
without replacement by the network's seed, like the reference's shuffled loader.
**ImageNet16-120 has no pixels here:** its D is CIFAR-10 images average-pooled 2x2 to 16x16
(normalised with CIFAR's mean/std), fed to the 120-class NB201 network; with
``gradient="cross-entropy"`` their CIFAR-10 labels (0..9) are used as class indices. NB201
networks use the reference's RCB pattern; NAS-Bench-Macro defaults to Conv-BN-ReLU (its
MobileNetV2 blocks are Conv-BN-ReLU6), as the issue asks.

Every network is built with the default init seeded by its own seed, then re-initialised as
the reference (:func:`zcnas.proxies.eznas.eznas_init`) with the same seed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from zcnas.datasets import canonical_dataset
from zcnas.exceptions import ZcnasError
from zcnas.eznas import GRADIENTS, PATTERNS, TERMINALS

__all__ = [
    "EZNAS_A_PROXY",
    "FORMAT",
    "MAX_INSTANCES",
    "TASKS",
    "VERSION",
    "collect_task",
    "load_manifest",
    "manifest_targets",
    "pool_archs",
    "read_shard",
    "register_program",
    "register_released_programs",
    "sample_pool",
    "score_program",
    "shard_path",
    "task_inputs",
]

FORMAT = "zcnas-eznas-stats"
VERSION = 1
MANIFEST = "manifest.json"
#: (space, dataset) pairs with real ground truth.
TASKS: tuple[tuple[str, str], ...] = (
    ("nb201", "cifar10"),
    ("nb201", "cifar100"),
    ("nb201", "imagenet16"),
    ("macro", "cifar10"),
)
_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16": 120}
_DEFAULT_PATTERN = {"nb201": "relu-conv-bn", "macro": "conv-bn-relu"}
_DTYPES = {"float32": np.float32, "float16": np.float16}


def _check_task(space: str, dataset: str) -> str:
    """The canonical dataset name of a (space, dataset) pair that has task datasets."""
    dataset = canonical_dataset(dataset, strict=False)
    if (space, dataset) not in TASKS:
        raise ZcnasError(
            f"no task dataset for space {space!r} and dataset {dataset!r}; available: "
            + ", ".join(f"{s}/{d}" for s, d in TASKS)
        )
    return dataset


def task_inputs(space: str, dataset: str) -> tuple[Any, Any, str]:
    """The pool of real images D is drawn from: ``(x, y, description)``.

    >>> x, y, what = task_inputs("nb201", "imagenet16")
    >>> tuple(x.shape), what.split(",")[0]
    ((30, 3, 16, 16), 'CIFAR-10 test/train images average-pooled 2x2 to 16x16')
    """
    import torch

    from zcnas.datasets import cifar_batch

    dataset = _check_task(space, dataset)
    if dataset == "imagenet16":
        x, y = cifar_batch("cifar10")
        what = (
            "CIFAR-10 test/train images average-pooled 2x2 to 16x16, CIFAR mean/std "
            "(ImageNet16-120 pixels are not available)"
        )
        return torch.nn.functional.avg_pool2d(x, 2), y, what
    x, y = cifar_batch(dataset)
    return x, y, f"real {dataset} images (zcnas.datasets.cifar_batch), CIFAR mean/std"


def _arch_table(space: str) -> tuple[int, Any]:
    if space == "nb201":
        from zcnas.spaces import nb201

        return nb201.NUM_ARCHS, nb201
    from zcnas.spaces import macro

    return macro.NUM_ARCHS, macro


def _to_index(space: str, arch: Any) -> int:
    return int(_arch_table(space)[1].to_index(arch))


def _arch_str(space: str, index: int) -> str:
    mod = _arch_table(space)[1]
    return mod.index_to_str(index)


def _ground_truth(space: str, index: int) -> dict[str, float]:
    if space == "nb201":
        from zcnas.bench import load_nb201

        t = load_nb201()
        return {f"{d}_test": float(t.test_accuracy(d)[index]) for d in _CLASSES}
    from zcnas.spaces.macro import load_macro

    return {"cifar10_test": float(load_macro()["mean_acc"][index])}


def _build(space: str, dataset: str, index: int) -> Any:
    if space == "nb201":
        from zcnas.spaces import nb201

        return nb201.build(index, num_classes=_CLASSES[dataset])
    from zcnas.spaces import macro

    return macro.build(index, num_classes=10)


def sample_pool(
    space: str, n: int, seed: int = 0, exclude: Iterable[Any] | None = None
) -> list[int]:
    """``n`` distinct architecture indices drawn uniformly with ``seed``, none in ``exclude``.

    Args:
        space: ``nb201`` or ``macro``.
        n: pool size.
        seed: sampling seed.
        exclude: architectures (any encoding of the space) that must not be drawn, e.g. the
            held-out evaluation set.

    >>> pool = sample_pool("nb201", 5, seed=0, exclude=range(15000))
    >>> len(pool), min(pool) >= 15000
    (5, True)
    """
    total, _ = _arch_table(space) if space in _DEFAULT_PATTERN else (0, None)
    if not total:
        raise ZcnasError(f"unknown space {space!r}; expected 'nb201' or 'macro'")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ZcnasError(f"nets must be a positive integer, got {n!r}")
    banned = {_to_index(space, a) for a in exclude} if exclude is not None else set()
    allowed = np.setdiff1d(np.arange(total, dtype=np.int64), np.fromiter(banned, np.int64))
    if n > len(allowed):
        raise ZcnasError(f"cannot draw {n} networks from the {len(allowed)} not excluded")
    rng = np.random.default_rng([int(seed), 0xE2, total])
    return [int(i) for i in rng.choice(allowed, size=int(n), replace=False)]


def _net_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0] >> 1)


#: Most instances one network's shard may declare in a manifest.
MAX_INSTANCES = 100_000


def shard_path(directory: str | os.PathLike[str], file: Any) -> Path:
    """The path of a manifest's shard ``file`` inside ``directory``.

    Raises:
        ZcnasError: ``file`` is not a plain relative name (absolute, empty, with ``..``), or it
            resolves (through a symbolic link) outside ``directory``.
    """
    d = Path(directory)
    if not isinstance(file, str) or not file:
        raise ZcnasError(f"shard name {file!r} in {d / MANIFEST} is not a file name")
    rel = PurePath(file)
    if rel.is_absolute() or ".." in rel.parts or not [q for q in rel.parts if q != "."]:
        raise ZcnasError(
            f"unsafe shard name {file!r} in {d / MANIFEST}: it must stay inside the directory"
        )
    path = d / rel
    if path.exists() and not path.resolve().is_relative_to(d.resolve()):
        raise ZcnasError(
            f"shard {file!r} of {d} resolves to {path.resolve()}, outside the directory"
        )
    return path


def load_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a task dataset directory (or of the ``manifest.json`` given).

    Every network entry is checked: a dict with a shard ``file`` that stays inside the
    directory (:func:`shard_path`) and ``0 <= n_instances <=`` :data:`MAX_INSTANCES`.

    Raises:
        ZcnasError: if it is missing, unreadable (binary, deeply nested), not a zcnas EZNAS
            statistics manifest, or an entry fails the checks above.
    """
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST
    if not p.is_file():
        raise ZcnasError(f"no EZNAS statistics manifest at {p}")
    try:
        m = json.loads(p.read_text())
    except (OSError, ValueError, RecursionError) as e:
        raise ZcnasError(f"cannot read the manifest {p}: {type(e).__name__}: {e}") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT or m.get("version") != VERSION:
        raise ZcnasError(f"{p} is not a {FORMAT} v{VERSION} manifest")
    nets = m.get("networks")
    if not isinstance(nets, list):
        raise ZcnasError(f"{p}: 'networks' must be a list")
    for j, e in enumerate(nets):
        if not isinstance(e, dict):
            raise ZcnasError(f"{p}: network {j} is not an object")
        shard_path(p.parent, e.get("file"))
        n = e.get("n_instances")
        if type(n) is not int or not 0 <= n <= MAX_INSTANCES:
            raise ZcnasError(
                f"{p}: network {j} has n_instances {n!r}; expected an integer in "
                f"[0, {MAX_INSTANCES}]"
            )
    return m


def manifest_targets(manifest: Mapping[str, Any]) -> np.ndarray:
    """The ground truth under the manifest's ``target`` key, one float64 per network.

    A network without that key (or with ``null``) gives NaN.

    Raises:
        ZcnasError: a value is not a number or is outside the float64 range.
    """
    key = manifest.get("target")
    out = np.full(len(manifest["networks"]), np.nan)
    for j, e in enumerate(manifest["networks"]):
        gt = e.get("ground_truth")
        v = gt.get(key) if isinstance(gt, Mapping) else None
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ZcnasError(f"network {j}: ground truth {key!r} is not a number: {str(v)[:40]}")
        try:
            out[j] = float(v)
        except OverflowError:
            raise ZcnasError(
                f"network {j}: ground truth {key!r} is outside the float64 range"
            ) from None
    return out


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


_NP_DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8"}


def read_shard(
    directory: str | os.PathLike[str],
    network: int | Mapping[str, Any],
    terminals: Iterable[str] | None = None,
) -> list[dict[str, np.ndarray]]:
    """The statistics of one network of a task dataset, as :func:`collect_network` returns them.

    The shard is memory-mapped and parsed by the Rust core (the same checked reader the
    interpreter uses, ``zcnas_core::shards``), and each tensor is copied out of the map once.

    Args:
        directory: the task dataset directory.
        network: position in the manifest's ``networks`` list, or one of its entries.
        terminals: names to read (default all 22).

    Returns:
        One dict per instance: terminal name -> C-contiguous, writable array of the stored
        dtype (float16, float32 or float64) and shape.

    Raises:
        ZcnasError: an unsafe shard name, a missing or malformed shard, a missing tensor.
    """
    from zcnas import _native
    from zcnas.eznas.stats import parse_terminals

    d = Path(directory)
    entry = network if isinstance(network, Mapping) else load_manifest(d)["networks"][network]
    names = parse_terminals(terminals)
    raw = _native.eznas_read_shard(
        os.fspath(shard_path(d, entry["file"])), int(entry["n_instances"]), list(names)
    )
    return [
        {
            name: np.frombuffer(data, dtype=_NP_DTYPES[dtype]).reshape(shape)
            for name, dtype, shape, data in inst
        }
        for inst in raw
    ]


def pool_archs(directories: Iterable[str | os.PathLike[str]]) -> dict[str, set[int]]:
    """Architecture indices used by task datasets, per space (planned ones included), so that
    an evaluation set can exclude every evolution pool."""
    out: dict[str, set[int]] = {}
    for d in directories:
        m = load_manifest(d)
        s = out.setdefault(m["space"], set())
        s.update(int(i) for i in m.get("planned", []))
        s.update(int(e["index"]) for e in m["networks"])
    return out


def _progress(enabled: bool) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[size]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )


def collect_task(
    space: str,
    dataset: str,
    nets: int | Sequence[Any],
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    batch_size: int = 1,
    dtype: str = "float32",
    exclude: Iterable[Any] | None = None,
    progress: bool = True,
    pattern: str | None = None,
    gradient: str = "sum-of-logits",
    double_conv: str = "skip-second",
) -> Path:
    """Write (or finish writing) a task dataset: statistics and ground truth of a pool.

    Args:
        space: ``nb201`` or ``macro``.
        dataset: ``cifar10``, ``cifar100`` or ``imagenet16`` (NB201); ``cifar10`` (Macro).
        nets: pool size (drawn by :func:`sample_pool` with ``seed`` and ``exclude``) or the
            architectures themselves (any encoding).
        out_dir: the directory (created if needed). If it already holds a manifest, the
            arguments must match it and only the missing networks are collected.
        seed: pool sampling, per-network init, image choice and noise.
        batch_size: images in D (paper: 1).
        dtype: ``float32`` or ``float16`` storage (statistics are computed in float32).
        exclude: architectures never drawn (held-out evaluation sets).
        progress: show a rich progress bar.
        pattern: ``relu-conv-bn`` or ``conv-bn-relu`` (default: RCB for NB201, CBR for Macro).
        gradient: ``sum-of-logits`` (reference) or ``cross-entropy``.
        double_conv: see :func:`zcnas.eznas.stats.collect_network`.

    Returns:
        The directory.

    Raises:
        ZcnasError: unknown task, bad arguments, or a directory collected with other settings.
    """
    import torch
    from safetensors.numpy import save_file

    from zcnas.eznas.stats import collect_network

    dataset = _check_task(space, dataset)
    pattern = pattern or _DEFAULT_PATTERN[space]
    if pattern not in PATTERNS:
        raise ZcnasError(f"pattern must be one of {list(PATTERNS)}, got {pattern!r}")
    if gradient not in GRADIENTS:
        raise ZcnasError(f"gradient must be one of {list(GRADIENTS)}, got {gradient!r}")
    if dtype not in _DTYPES:
        raise ZcnasError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    x_pool, y_pool, what = task_inputs(space, dataset)
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not (1 <= batch_size <= len(x_pool))
    ):
        raise ZcnasError(f"batch_size must be an integer in 1..{len(x_pool)}, got {batch_size!r}")
    if isinstance(nets, int | np.integer) and not isinstance(nets, bool):
        planned = sample_pool(space, int(nets), seed, exclude)
    else:
        planned = [_to_index(space, a) for a in nets]
        if len(set(planned)) != len(planned) or not planned:
            raise ZcnasError("nets must name distinct architectures (at least one)")
        if exclude is not None:
            banned = {_to_index(space, a) for a in exclude}
            hit = sorted(set(planned) & banned)
            if hit:
                raise ZcnasError(f"architectures {hit[:5]} are both requested and excluded")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "space": space,
        "dataset": dataset,
        "target": f"{dataset}_test",
        "pattern": pattern,
        "batch_size": int(batch_size),
        "seed": int(seed),
        "dtype": dtype,
        "gradient": gradient,
        "double_conv": double_conv,
        "init": "eznas (Kaiming-normal fan_out convs, BN 1/0, Linear N(0, 0.01))",
        "terminals": list(TERMINALS),
        "inputs": {
            "D": what,
            "N": "torch.randn of D's shape",
            "P": "D + sqrt(0.01) * randn (stored as the perturbed tensors, not differences)",
        },
        "planned": planned,
    }
    networks: list[dict[str, Any]] = []
    if (out / MANIFEST).exists():
        old = load_manifest(out)
        diff = [k for k in header if old.get(k) != header[k]]
        if diff:
            raise ZcnasError(
                f"{out} holds a task dataset collected with other settings ({', '.join(diff)}); "
                "use another directory or the same arguments"
            )
        networks = [e for e in old["networks"] if (out / e["file"]).is_file()]
    done = {int(e["index"]) for e in networks}
    np_dtype = _DTYPES[dtype]
    _write_json_atomic(out / MANIFEST, header | {"networks": networks})
    n_classes = _CLASSES[dataset]
    total_bytes = sum((out / e["file"]).stat().st_size for e in networks)
    with _progress(progress) as bar:
        task = bar.add_task(
            f"{space}/{dataset}", total=len(planned), completed=len(done),
            size=f"{total_bytes / 1e9:.2f} GB",
        )  # fmt: skip
        for pos, index in enumerate(planned):
            if index in done:
                continue
            t0 = time.perf_counter()
            nseed = _net_seed(seed, index)
            rng = np.random.default_rng(nseed)
            pick = np.sort(rng.choice(len(x_pool), size=batch_size, replace=False))
            torch.manual_seed(nseed)
            model = _build(space, dataset, index)
            labels = y_pool[torch.from_numpy(pick)]
            if dataset == "imagenet16":
                labels = labels % n_classes
            stats = collect_network(
                model,
                x_pool[torch.from_numpy(pick)],
                pattern=pattern,
                seed=nseed,
                gradient=gradient,
                labels=labels if gradient == "cross-entropy" else None,
                double_conv=double_conv,
            )
            if not stats:
                raise ZcnasError(f"{space} architecture {index} has no {pattern} instance")
            tensors: dict[str, np.ndarray] = {}
            overflow = 0
            for k, inst in enumerate(stats):
                for name in TERMINALS:
                    a = inst[name]
                    b = np.ascontiguousarray(a.astype(np_dtype, copy=False))
                    if np_dtype is np.float16:
                        overflow += int(np.count_nonzero(np.isfinite(a) & ~np.isfinite(b)))
                    tensors[f"{k:03d}/{name}"] = b
            fname = f"net_{pos:05d}.safetensors"
            tmp = out / (fname + ".tmp")
            save_file(tensors, str(tmp), metadata={"arch": _arch_str(space, index)})
            os.replace(tmp, out / fname)
            entry = {
                "file": fname,
                "arch": _arch_str(space, index),
                "index": index,
                "ground_truth": _ground_truth(space, index),
                "n_instances": len(stats),
                "shapes": [
                    {t: list(inst[t].shape) for t in ("T1D", "T2D", "T3", "T4D")} for inst in stats
                ],
                "seed": nseed,
                "images": [int(i) for i in pick],
                "time_s": round(time.perf_counter() - t0, 4),
            }
            if overflow:
                entry["float16_overflow"] = overflow
            networks.append(entry)
            _write_json_atomic(out / MANIFEST, header | {"networks": networks})
            total_bytes += (out / fname).stat().st_size
            bar.update(task, advance=1, size=f"{total_bytes / 1e9:.2f} GB")
    return out


# --------------------------------------------------------------------------------------------
# Programs as proxies
# --------------------------------------------------------------------------------------------


def score_program(
    program: Any,
    model: Any,
    inputs: Any,
    *,
    labels: Any = None,
    seed: int = 0,
    pattern: str = "relu-conv-bn",
    gradient: str = "sum-of-logits",
    init: str | None = "eznas",
) -> float:
    """Score one model with a program, collecting only the terminals it uses.

    Returns:
        ``program.evaluate`` of the model's instances: the mean over instances of the
        program's ``to_scalar`` output times its sign (higher = better); NaN if invalid.
    """
    from zcnas.eznas import stats as _stats

    stats = _stats.collect_network(
        model,
        inputs,
        pattern=pattern,
        terminals=sorted(program.terminals),
        seed=seed,
        gradient=gradient,
        labels=labels,
        init=init,
    )
    if not stats:
        raise ZcnasError(f"the model has no {pattern} instance to apply the program to")
    return float(program.evaluate(stats))


def register_program(
    program: Any,
    name: str,
    *,
    pattern: str = "relu-conv-bn",
    gradient: str = "sum-of-logits",
    replace: bool = False,
    doc: str | None = None,
) -> Any:
    """Register an EZNAS program as a proxy of :func:`zcnas.proxies.score`.

    The proxy deep-copies the model, re-initialises it as the reference with the call's seed
    (the same draws as the ``eznas`` proxy), collects only ``program.terminals`` on the call's
    minibatch (D; N and P as in :mod:`zcnas.eznas.stats`) and returns ``program.evaluate``:
    higher = better (a program evolved with |tau| carries its sign). Statistics are cached in
    the call, so several programs with the same pattern and gradient share the passes for
    the terminals they have in common only if they request the same set.

    Args:
        program: a :class:`zcnas.eznas.program.Program` (anything with ``terminals`` and
            ``evaluate(instances)``).
        name: the proxy name.
        pattern: ``relu-conv-bn`` or ``conv-bn-relu``.
        gradient: ``sum-of-logits`` or ``cross-entropy`` (then the proxy needs labels).
        replace: replace a proxy of that name registered by this function before.
        doc: the registry doc line (default: the program's formula).

    Returns:
        The registered :class:`zcnas.proxies.Proxy`.
    """
    from zcnas.proxies import base

    if pattern not in PATTERNS:
        raise ZcnasError(f"pattern must be one of {list(PATTERNS)}, got {pattern!r}")
    if gradient not in GRADIENTS:
        raise ZcnasError(f"gradient must be one of {list(GRADIENTS)}, got {gradient!r}")
    if not isinstance(name, str) or not name:
        raise ZcnasError("a program proxy needs a non-empty name")
    terms = tuple(sorted(program.terminals))
    if replace and name in base._REGISTRY:
        if base._REGISTRY[name].family != "eznas-program":
            raise ZcnasError(f"proxy {name!r} is not a program proxy; it cannot be replaced")
        del base._REGISTRY[name]

    def compute(ctx: Any, flavor: str) -> float:
        from zcnas.eznas import stats as _stats

        stats = ctx.cached(
            ("zcnas.eznas.stats", pattern, gradient, terms),
            lambda: _stats.collect_network(
                ctx.model,
                ctx.inputs,
                pattern=pattern,
                terminals=terms,
                seed=ctx.seed,
                gradient=gradient,
                labels=ctx.labels if gradient == "cross-entropy" else None,
            ),
        )
        if not stats:
            raise ZcnasError(f"proxy {name!r}: the model has no {pattern} instance")
        return float(program.evaluate(stats))

    # no "relu" need: ReLU6 counts as the activation (NAS-Bench-Macro), which that check rejects
    needs = {"batchnorm", "float_input"} | ({"labels"} if gradient == "cross-entropy" else set())

    def check(info: Any, flavor: str) -> str | None:
        from torch import nn

        shared = []
        for name in info.probe.multi_call:
            try:
                mod = info.model.get_submodule(name)
            except AttributeError:
                continue
            if next(mod.children(), None) is None and (
                "ReLU" in type(mod).__name__ or isinstance(mod, nn.Conv2d | nn.BatchNorm2d)
            ):
                shared.append(name)
        if shared:
            return (
                f"module(s) {shared[:3]} run more than once per forward (e.g. a ReLU reused "
                "inside a block); EZNAS statistics need each instance's modules to run once"
            )
        return None

    return base.register(
        base.Proxy(
            name=name,
            compute=compute,
            flavors=("eznas",),
            needs=frozenset(needs),
            check=check,
            family="eznas-program",
            doc=doc
            or f"EZNAS program (mean over {pattern} instances, {gradient} gradients): "
            f"{program}. Higher = better.",
        )
    )


#: Registry name of the released program as a program proxy.
EZNAS_A_PROXY = "eznas_a"


def register_released_programs() -> None:
    """Register the released EZNAS-A program as the ``eznas_a`` proxy (Rust interpreter);
    it equals the PyTorch ``eznas`` proxy (same re-init draws and gradients). Called when
    :mod:`zcnas.proxies` is imported (this module alone does not import torch); idempotent."""
    from zcnas.eznas.program import EZNAS_A
    from zcnas.proxies import base

    if EZNAS_A_PROXY not in base._REGISTRY:
        register_program(
            EZNAS_A,
            EZNAS_A_PROXY,
            doc="EZNAS-A, the released EZNAS program, as a program proxy (Rust interpreter): "
            f"{EZNAS_A} over ReLU-Conv-BN instances, T1GD = gradient of the summed logits "
            "w.r.t. the ReLU input (through the ReLU), real batch, reference re-init; equals "
            "the PyTorch `eznas` proxy. Higher = better.",
        )
