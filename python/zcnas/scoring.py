"""Score many architectures of a search space with the proxy engine, resumably.

This is what ``zcnas score`` runs: build each network, score the requested proxies on one
minibatch (the same batch for every architecture), and, with a store, write every score as
soon as its architecture is done and skip what is already stored, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from zcnas.datasets import canonical_dataset
from zcnas.exceptions import ZcnasError, ZcnasWarning

#: Store names of the spaces (NAS-Bench-Suite-Zero's), used as the ``space`` key.
SPACE_KEYS = {
    "nb201": "nasbench201",
    "macro": "nasbench_macro",
    "nb101": "nasbench101",
    "darts": "nasbench301",
    "darts-c3": "darts_c3",
    "tnb101-micro": "transbench101_micro",
    "tnb101-macro": "transbench101_macro",
}
#: TransNAS-Bench-101 spaces: the "dataset" is one of its seven tasks.
_TNB = {"tnb101-micro": "micro", "tnb101-macro": "macro"}
#: Side of the (resized CIFAR-10) inputs of the TNB101 networks; jigsaw tiles are half of it.
TNB_INPUT_SIZE = 128
#: CIFAR-10-only spaces: their store key is NASLib's encoding as text, exactly as NAS-Bench-
#: Suite-Zero's CSVs write it (so live scores line up with the imported ones), and no
#: ground truth is embedded (import Suite-Zero's files for it).
_NASLIB_KEYED = ("nb101", "darts")
#: The DARTS genotype network of the SWAP paper's DARTS-1000 protocol (Peng et al., ICLR 2024;
#: pym1024/SWAP ``correlation.py``: ``Network(3, 10, 1, genotype)``): C=3, one cell, which
#: DARTS' reduction rule makes a reduction cell, reading the 3-channel image itself (no stem):
#: ``darts.build(g, C=3, layers=1, stem=False, num_classes=10)``, keyed by the canonical
#: genotype text (:func:`zcnas.spaces.darts.key`), so ``none`` edges are allowed. (Before
#: 2026-12-04 late it was a stem + 3 cells, a misreading of "C=3, one cell per stage".)
DARTS_C3 = {"C": 3, "layers": 1, "stem": False}

_CLASSES = {"cifar10": 10, "cifar100": 100}


def _builder(
    space: str, num_classes: int, task: str | None = None
) -> tuple[Callable[[Any], Any], Callable[[Any], str]]:
    """(build(arch) -> model, key(arch) -> store key) for a space (``task``: TNB101's)."""
    if space in _TNB:
        from zcnas.spaces import tnb101

        sp = _TNB[space]
        if task not in tnb101.TASKS:
            raise ZcnasError(
                f"{space} is scored per TransNAS-Bench-101 task: --dataset one of "
                f"{', '.join(tnb101.TASKS)} (got {task!r})"
            )
        return (lambda a: tnb101.build(a, task, sp)), (lambda a: tnb101.naslib_key(a, sp))
    if space == "nb201":
        from zcnas.spaces import nb201

        return (lambda a: nb201.build(a, num_classes=num_classes)), (
            lambda a: str(nb201.to_index(a))
        )
    if space == "macro":
        from zcnas.spaces import macro

        if num_classes != 10:
            raise ZcnasError("NAS-Bench-Macro is a CIFAR-10 benchmark; use --dataset cifar10")
        return (lambda a: macro.build(a, num_classes=10)), (
            lambda a: macro.index_to_str(macro.to_index(a))
        )
    if (space in _NASLIB_KEYED or space == "darts-c3") and num_classes != 10:
        raise ZcnasError(f"{space} is scored as a CIFAR-10 benchmark; use --dataset cifar10")
    if space == "nb101":
        from zcnas.spaces import nb101

        return (lambda a: nb101.build(a, num_classes=10)), (lambda a: str(nb101.to_naslib(a)))
    if space == "darts":
        from zcnas.spaces import nb301

        return (lambda a: nb301.build(a, num_classes=10)), nb301.key
    if space == "darts-c3":
        from zcnas.spaces import darts

        return (lambda a: darts.build(a, num_classes=10, **DARTS_C3)), darts.key
    raise ZcnasError(f"unknown space {space!r}; expected one of {sorted(SPACE_KEYS)}")


def sample_archs(space: str, n: int, seed: int) -> list[Any]:
    """``n`` distinct architectures drawn uniformly with ``seed`` (``darts`` and ``darts-c3``:
    :func:`zcnas.spaces.darts.sample`, the DARTS space without ``none``, distinct by store key).
    NB201 and Macro draw without replacement in one call, so another ``n`` gives another set,
    not a prefix of it (the stored samples of ``benches/`` depend on this: kept as is)."""
    rng = np.random.default_rng(seed)
    if space == "nb201":
        from zcnas.spaces import nb201

        return [int(i) for i in nb201.sample(n, rng=rng, replace=False)]
    if space == "macro":
        from zcnas.spaces import macro

        return [int(i) for i in macro.sample(n, rng=rng, replace=False)]
    if space in _TNB:
        from zcnas.spaces import tnb101

        return tnb101.sample(_TNB[space], n, rng)
    if space in _NASLIB_KEYED or space == "darts-c3":
        from zcnas.spaces import darts, nb101

        out: dict[str, Any] = {}
        key = _builder(space, 10)[1]
        while len(out) < n:  # distinct by store key (NB101: by spec, not by isomorphism)
            a = nb101.sample(rng) if space == "nb101" else darts.sample(rng)
            out.setdefault(key(a), a)
        return list(out.values())
    raise ZcnasError(f"unknown space {space!r}; expected one of {sorted(SPACE_KEYS)}")


def read_arch_file(path: Any) -> list[str]:
    """The architectures listed in a file, as written (``zcnas score --arch-file``).

    * A ``.csv`` file (also ``.csv.gz``): the ``arch`` column, else the ``genotype`` column
      (e.g. the DARTS-1000 file ``darts/darts_1000_cifar10.csv`` of the SWAP repository),
      one architecture per row, in file order.
    * Any other file: one architecture per line, in file order; blank lines and lines
      starting with ``#`` are skipped; surrounding whitespace is stripped.

    Entries are text, encoded as on the command line (``zcnas score --arch``): an NB201
    index, an arch string, NASLib's encoding, a DARTS ``Genotype(...)``; duplicates are kept
    (scoring scores each store key once).

    Args:
        path: the file (``str`` or ``os.PathLike``).

    Returns:
        The entries, at least one.

    Raises:
        ZcnasError: if the file cannot be read, a CSV has neither an ``arch`` nor a
            ``genotype`` column, or no architecture is listed.
    """
    import csv
    import gzip
    from pathlib import Path

    p = Path(path)
    name = p.name.lower()
    try:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(p, "rt", newline="") as f:
            if name.endswith((".csv", ".csv.gz")):
                reader = csv.DictReader(f)
                fields = reader.fieldnames or []
                col = next((c for c in ("arch", "genotype") if c in fields), None)
                if col is None:
                    raise ZcnasError(
                        f"architecture file {str(p)!r}: a CSV needs an 'arch' or 'genotype' "
                        f"column, found {fields}"
                    )
                archs = [r[col].strip() for r in reader if (r[col] or "").strip()]
            else:
                archs = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ZcnasError(f"cannot read architecture file {str(p)!r}: {e}") from e
    if not archs:
        raise ZcnasError(f"architecture file {str(p)!r} lists no architecture")
    return archs


class ArchScorer:
    """Build and score one architecture at a time: the unit of work of :func:`score_architectures`
    and of every worker of :mod:`zcnas.distributed` (picklable; the network builder and the
    minibatch are set up lazily in the process that scores).

    Every network is built with its space's initialisation, drawn after
    ``torch.manual_seed(seed)`` (PyTorch's default, except ``nb101``: NASLib's NB101
    initialisation, :func:`zcnas.spaces.nb101.build`), and scored on the same minibatch: the
    first ``batch_size`` real images of ``dataset`` (all of them by default: 30 CIFAR-10, 25
    CIFAR-100).

    Args:
        space: ``nb201``, ``macro``, ``nb101`` (the benchmark's network), ``darts``
            (NASLib's NB301 network, :func:`zcnas.spaces.nb301.build`), ``darts-c3`` (the SWAP
            paper's DARTS-1000 network: :func:`zcnas.spaces.darts.build` with C=3, one
            reduction cell reading the image, no stem (:data:`DARTS_C3`), CIFAR-10; arch =
            ``Genotype(...)`` text or a Genotype, ``none`` edges allowed; store key
            :func:`zcnas.spaces.darts.key`), ``tnb101-micro`` or
            ``tnb101-macro`` (inputs and targets from :func:`tnb_batch`, each task's loss).
        proxy_names: registered proxy names.
        dataset: ``cifar10`` or ``cifar100`` (NB201 only); for TNB101 one of its seven tasks.
        flavor: proxy flavor (each proxy's default if None).
        seed: weight-init and proxy seed.
        batch_size: images per minibatch.
        device: where the network and the minibatch live while scored (``"cpu"``,
            ``"cuda"``, ``"cuda:1"``, ...). Networks are built and initialised on the CPU
            (the same weights on every device) and then moved; every pass then runs on that
            device. Values on CUDA equal the CPU ones up to float rounding, not bit for bit.
        proxy_errors: what a proxy that fails or does not apply on one network does:
            ``"raise"`` (default: the whole architecture fails and is recorded as failed) or
            ``"nan"`` (that proxy's score is NaN, with a warning; the others are kept). E.g.
            AZ-NAS trainability raises on a DARTS genotype whose cells ignore the previous
            cell (through ``none`` edges).
        plugins: modules or ``.py`` files that register proxies
            (:mod:`zcnas.proxies.plugins`): loaded here before ``proxy_names`` are checked,
            and again by each worker process the scorer is sent to.
        images: an image file (:func:`zcnas.datasets.image_batch`: ``.npz`` with ``x`` uint8
            ``(N, H, W, 3)`` and ``y``) instead of the shipped images: ``batch_size`` of them
            (default 32) drawn with ``seed``; labels must be below the dataset's classes. Its
            SHA-256 prefix is stored as the input kind. Not for TNB101 (placeholder targets);
            each worker reads the file at this path.

    Raises:
        ZcnasError: unknown space, dataset or proxy, a plugin that fails to load, an
            unusable image file, a flavor no requested proxy has, an
            invalid ``$ZCNAS_NTK_MEMORY_MB`` (with ``tenas_ntk``), a device torch cannot use,
            or an unknown ``proxy_errors``.
    """

    def __init__(
        self,
        space: str,
        proxy_names: Sequence[str],
        *,
        dataset: str = "cifar10",
        flavor: str | None = None,
        seed: int = 0,
        batch_size: int | None = None,
        device: str = "cpu",
        proxy_errors: str = "raise",
        plugins: Sequence[str] = (),
        images: str | os.PathLike[str] | None = None,
    ) -> None:
        from zcnas import proxies
        from zcnas.proxies.plugins import load_plugins

        self.plugins = tuple(plugins)
        load_plugins(self.plugins)  # before the names are checked; workers load them again
        if proxy_errors not in ("raise", "nan"):
            raise ZcnasError(f"proxy_errors must be 'raise' or 'nan', got {proxy_errors!r}")
        self.proxy_errors = proxy_errors

        if space in _TNB:
            _builder(space, 0, dataset)  # a TNB101 task, checked
        else:
            dataset = canonical_dataset(dataset, strict=False)  # TNB101 tasks pass as written
            if dataset not in _CLASSES:
                raise ZcnasError(f"unknown dataset {dataset!r}; expected 'cifar10' or 'cifar100'")
        if not proxy_names:
            raise ZcnasError("proxy_names must name at least one proxy")
        for p in proxy_names:
            proxies.get_proxy(p)
        # settings that would fail every architecture fail here, before any work (and before
        # a store records each architecture as failed)
        proxies.resolve_flavors(list(proxy_names), flavor)
        if "tenas_ntk" in proxy_names:
            from zcnas.proxies.tenas import ntk_memory_mb

            ntk_memory_mb("cpu")  # reads and checks $ZCNAS_NTK_MEMORY_MB
        self._classes = _CLASSES.get(dataset, 0)
        _builder(space, self._classes, dataset)  # validates the space / dataset pair
        self.images: str | None = None
        self._images_id = ""
        if images is not None:
            from zcnas.datasets import image_batch_index, image_file_id, read_image_file

            if space in _TNB:
                raise ZcnasError(
                    "images (--images) are not for TransNAS-Bench-101: its networks are scored "
                    "on resized CIFAR-10 inputs with placeholder targets (tnb_batch)"
                )
            self.images = os.path.abspath(os.fspath(images))
            labels = read_image_file(self.images)[1]  # the file, then the batch size
            image_batch_index(len(labels), batch_size, seed=int(seed), path=self.images)
            top = int(labels.max())
            if top >= self._classes:
                raise ZcnasError(
                    f"image file {self.images}: label {top}, but {dataset} has "
                    f"{self._classes} classes"
                )
            if len(labels) >= self._classes and (top + 1) * 10 <= self._classes:
                warnings.warn(
                    f"image file {self.images}: its {len(labels)} labels are all in "
                    f"0..{top}, but {dataset} has {self._classes} classes; are these images "
                    f"of another dataset? (--dataset names the network's head and the "
                    f"images' dataset)",
                    ZcnasWarning,
                    stacklevel=2,
                )
            self._images_id = image_file_id(self.images)
        self.space, self.dataset, self.flavor = space, dataset, flavor
        self.proxy_names = list(proxy_names)
        self.seed, self.batch_size = int(seed), batch_size
        self.device = _check_device(device)
        self.space_key = SPACE_KEYS[space]
        self.flavor_key = flavor or "default"
        self._ready: tuple[Any, ...] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_ready"} | {"_ready": None}

    def key(self, arch: Any) -> str:
        """The store key of ``arch`` (NB201: the index as text; Macro: the digit string;
        ``darts-c3``: the canonical genotype text, :func:`zcnas.spaces.darts.key`)."""
        return _builder(self.space, self._classes, self.dataset)[1](arch)

    def _setup(self) -> tuple[Any, ...]:
        if self._ready is None:
            from zcnas.datasets import cifar_batch
            from zcnas.proxies.plugins import load_plugins

            load_plugins(self.plugins)  # a worker process: its own registry

            build, _ = _builder(self.space, self._classes, self.dataset)
            if self.space in _TNB:
                x, y = tnb_batch(self.dataset, self.batch_size, self.seed)
            elif self.images:
                from zcnas.datasets import image_batch

                x, y = image_batch(self.images, self.batch_size, seed=self.seed)
            else:
                x, y = cifar_batch(self.dataset, self.batch_size)
            self._ready = (build, x.to(self.device), y.to(self.device))
        return self._ready

    def __call__(self, arch: Any) -> tuple[dict[str, float], float]:
        """``({proxy: score}, seconds)`` of one architecture (higher = better per proxy)."""
        import torch

        from zcnas import proxies

        build, x, y = self._setup()
        torch.manual_seed(self.seed)
        model = build(arch)
        if self.device != "cpu":
            model = model.to(self.device)
        t0 = time.perf_counter()
        extra: dict[str, Any] = {}
        if self.space in _TNB:
            from zcnas.spaces import tnb101

            extra["loss_fn"] = tnb101.loss_fn(self.dataset)
        scores = proxies.score(
            model,
            x,
            y,
            proxies=self.proxy_names,
            flavor=self.flavor,
            seed=self.seed,
            on_unsupported=getattr(self, "proxy_errors", "raise"),
            **extra,
        )
        return {p: float(v) for p, v in scores.items()}, time.perf_counter() - t0

    def ground_truth_rows(self, archs: Sequence[Any]) -> list[dict[str, Any]]:
        """Store rows (:meth:`zcnas.bench.ScoreStore.put_ground_truth_many`) with the embedded
        benchmark's test accuracy (%) of ``archs`` on this scorer's dataset (metric
        ``test_accuracy``), so that ``zcnas analyze`` finds the task of the stored scores."""
        if self.space in _NASLIB_KEYED or self.space in _TNB or self.space == "darts-c3":
            return []  # nothing embedded: Suite-Zero's imported val_accuracy is the truth
        if self.space == "nb201":
            from zcnas.bench import load_nb201
            from zcnas.spaces import nb201

            acc = load_nb201().test_accuracy(self.dataset)
            values = [float(acc[nb201.to_index(a)]) for a in archs]
            source = "NAS-Bench-201 (embedded), test accuracy"
        else:
            from zcnas.spaces.macro import load_macro

            table = load_macro()
            values = [float(table.query(self.key(a))) for a in archs]
            source = "NAS-Bench-Macro (embedded), mean test accuracy"
        return [
            {
                "space": self.space_key,
                "task": self.dataset,
                "arch": self.key(a),
                "metric": "test_accuracy",
                "value": v,
                "source": source,
            }
            for a, v in zip(archs, values, strict=True)
        ]

    def setup(self) -> dict[str, Any]:
        """The provenance fields that make two runs' scores comparable: ``batch_size`` (images
        in the minibatch), ``seed`` (weights and proxy randomness) and ``input_kind``."""
        _, x, _ = self._setup()
        return {
            "batch_size": int(x.shape[0]),
            "seed": self.seed,
            "input_kind": (
                f"cifar10-resized{TNB_INPUT_SIZE}-placeholder-targets"
                if self.space in _TNB
                else f"{self.dataset}-file-{self._images_id}"
                if self.images
                else f"{self.dataset}-real"
            ),
        }

    def check_store(self, store: Any, keys: Sequence[str]) -> None:
        """Refuse to score into a store task that holds another setup's scores.

        A store row is keyed by space, task, flavor, proxy and architecture; the batch size,
        seed and inputs are provenance only, and an analysis reads one flavor of a task as
        one setup. A rerun with another ``--batch-size`` or ``--seed``, or live scoring into
        a flavor that an import filled (e.g. ``--flavor naslib`` next to
        NAS-Bench-Suite-Zero's imported values), would otherwise reuse the other setup's
        values as its own, or add rows of a second setup beside them.

        Args:
            store: a :class:`~zcnas.bench.ScoreStore`.
            keys: the architectures this run scores (only their count is named).

        Raises:
            ZcnasError: rows of this space, task and flavor in the store (any proxy) were
                imported or computed with another batch size, seed or input kind (the
                message names both setups and what to do).
        """
        from zcnas.bench.store_schema import is_live_source

        want = self.setup()
        ours = (want["batch_size"], want["seed"], want["input_kind"], True)
        other = [
            (b, s, kind, src, n)
            for b, s, kind, src, n in store.setups(
                self.space_key, self.dataset, flavor=self.flavor_key
            )
            if (b, s, kind, is_live_source(src)) != ours
        ]
        if not other:
            return
        b, s, kind, src, _ = other[0]
        if not is_live_source(src):
            what = f"imported or written by other code (source {src!r})"
            todo = (
                "score into another --store, or without --flavor: live rows then go under "
                "flavor 'default' (each proxy's default flavor, NASLib's for the Suite-Zero "
                "proxies), beside the imported ones"
            )
        else:
            what = f"computed with batch size {b}, seed {s}, inputs {kind}"
            todo = "score into another --store, or rerun with the options they were computed with"
        raise ZcnasError(
            f"{getattr(store, 'path', 'the store')} holds {sum(o[-1] for o in other)} scores "
            f"of space {self.space_key}, task {self.dataset}, flavor {self.flavor_key!r} "
            f"{what}; this run ({len(keys)} architecture{'s' if len(keys) != 1 else ''}) "
            "uses batch size "
            f"{want['batch_size']}, seed {want['seed']}, inputs {want['input_kind']}. One "
            f"task of a store holds one setup (an analysis reads it as one): {todo}"
        )

    def rows(self, key: str, scores: dict[str, float], elapsed: float) -> list[dict[str, Any]]:
        """Store rows (:meth:`zcnas.bench.ScoreStore.put_many`) for one scored architecture."""
        from zcnas.bench.store_schema import LIVE_SOURCE

        return [
            {
                "space": self.space_key,
                "task": self.dataset,
                "arch": key,
                "proxy": p,
                "score": float(v),
                "flavor": self.flavor_key,
                "time_s": elapsed,
                **self.setup(),
                "dtype": "float32",
                "source": f"{LIVE_SOURCE} (time_s = wall time of the shared call)"
                + ("" if self.device == "cpu" else f", device {self.device}"),
            }
            for p, v in scores.items()
        ]


def _check_device(device: str) -> str:
    """``device`` as torch names it, checked to exist (CUDA only when available)."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ZcnasError(f"unknown device {device!r} ({exc})") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ZcnasError(f"device {device!r}: CUDA is not available to this torch build")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ZcnasError(
                f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) visible"
            )
    elif dev.type != "cpu":
        raise ZcnasError(f"device {device!r}: only 'cpu' and 'cuda[:N]' are supported")
    return str(dev)


def tnb_batch(task: str, n: int | None = None, seed: int = 0) -> tuple[Any, Any]:
    """Inputs of the right shape for a TransNAS-Bench-101 task, and placeholder targets.

    No Taskonomy images exist offline: the inputs are the packaged CIFAR-10 images (the first
    ``n``) resized bilinearly to :data:`TNB_INPUT_SIZE` (jigsaw: resized to 1.5x that and cut
    into 9 tiles stacked on channels, ``(n, 27, s/2, s/2)``). Targets: the CIFAR labels for the
    classification tasks, seeded random permutation ids (jigsaw), room-layout vectors, pixel
    classes, normals; the input itself for autoencoder. Scores then differ from the stored
    Taskonomy ones.
    """
    import torch
    import torch.nn.functional as F

    from zcnas.datasets import cifar_batch

    x, y = cifar_batch("cifar10", n)
    s = TNB_INPUT_SIZE
    g = torch.Generator().manual_seed(int(seed))
    b = x.shape[0]
    if task == "jigsaw":
        t = s // 2
        big = F.interpolate(x, size=(3 * t, 3 * t), mode="bilinear", align_corners=False)
        tiles = [
            big[:, :, i * t : (i + 1) * t, j * t : (j + 1) * t] for i in range(3) for j in range(3)
        ]
        return torch.cat(tiles, dim=1), torch.randint(0, 1000, (b,), generator=g)
    x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)
    if task in ("class_object", "class_scene"):
        return x, y
    if task == "room_layout":
        return x, torch.randn(b, 9, generator=g)
    if task == "segmentsemantic":
        return x, torch.randint(0, 17, (b, s, s), generator=g)
    if task == "autoencoder":
        return x, x.clone()
    return x, torch.randn(b, 3, s, s, generator=g)


def score_architectures(
    space: str,
    archs: Sequence[Any],
    proxy_names: Sequence[str],
    *,
    dataset: str = "cifar10",
    flavor: str | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    store: Any = None,
    progress: Callable[[Any], Any] | None = None,
    device: str = "cpu",
    proxy_errors: str = "raise",
    plugins: Sequence[str] = (),
    images: str | os.PathLike[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Score ``archs`` of ``space`` with ``proxy_names`` on the packaged real images.

    Every network is built with its space's initialisation seeded by ``seed`` and scored on
    the same minibatch (see :class:`ArchScorer`). With a :class:`~zcnas.bench.ScoreStore`,
    each score is written with its provenance right after its architecture, stored scores are
    skipped, and the benchmark's test accuracy of ``archs`` is stored as ground truth (metric
    ``test_accuracy``) for ``zcnas analyze``. :mod:`zcnas.distributed` runs the same work over
    many processes or a Ray cluster.

    Args:
        space: any space of :class:`ArchScorer` (``nb201``, ``macro``, ``nb101``, ``darts``,
            ``darts-c3``, ``tnb101-micro``, ``tnb101-macro``).
        archs: architectures in any encoding of the space.
        proxy_names: registered proxy names.
        dataset: ``cifar10`` or ``cifar100`` (NB201 only).
        flavor: proxy flavor (each proxy's default if None).
        seed: weight-init and proxy seed.
        batch_size: images per minibatch.
        store: a ScoreStore, or None.
        progress: wraps the iterable of architectures (e.g. ``rich.progress.track``).
        device: where the networks are scored (see :class:`ArchScorer`).
        proxy_errors: ``"raise"`` or ``"nan"`` (see :class:`ArchScorer`).
        plugins: modules or ``.py`` files that register proxies
            (:mod:`zcnas.proxies.plugins`), loaded before ``proxy_names`` are checked.
        images: an image file instead of the shipped images (see :class:`ArchScorer`).

    Returns:
        store key -> {proxy: score} for the architectures scored in this call.
    """
    scorer = ArchScorer(
        space,
        proxy_names,
        dataset=dataset,
        flavor=flavor,
        seed=seed,
        batch_size=batch_size,
        device=device,
        proxy_errors=proxy_errors,
        plugins=plugins,
        images=images,
    )
    keys = [scorer.key(a) for a in archs]
    todo = list(zip(archs, keys, strict=True))
    if store is not None:
        scorer.check_store(store, keys)
        missing = {
            k
            for k, _ in store.missing(
                scorer.space_key, scorer.dataset, keys, proxy_names, flavor=scorer.flavor_key
            )
        }
        todo = [(a, k) for a, k in todo if k in missing]
        store.put_ground_truth_many(scorer.ground_truth_rows(archs))
    results: dict[str, dict[str, float]] = {}
    for arch, k in progress(todo) if progress else todo:
        try:
            scores, elapsed = scorer(arch)
        except ZcnasError as e:  # say which architecture (the ones before it are stored)
            raise ZcnasError(f"{space} architecture {k}: {e}") from e
        results[k] = scores
        if store is not None:
            store.put_many(scorer.rows(k, scores, elapsed))
    return results
