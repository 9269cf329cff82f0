"""Score many architectures of a search space with the proxy engine, resumably.

This is what ``zcnas score`` runs: build each network, score the requested proxies on one
minibatch (the same batch for every architecture), and, with a store, write every score as
soon as its architecture is done and skip what is already stored, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from zcnas.exceptions import ZcnasError

#: Store names of the spaces (NAS-Bench-Suite-Zero's), used as the ``space`` key.
SPACE_KEYS = {"nb201": "nasbench201", "macro": "nasbench_macro"}
_CLASSES = {"cifar10": 10, "cifar100": 100}


def _builder(space: str, num_classes: int) -> tuple[Callable[[Any], Any], Callable[[Any], str]]:
    """(build(arch) -> model, key(arch) -> store key) for a space."""
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
    raise ZcnasError(f"unknown space {space!r}; expected one of {sorted(SPACE_KEYS)}")


def sample_archs(space: str, n: int, seed: int) -> list[Any]:
    """``n`` distinct architectures drawn uniformly with ``seed``."""
    rng = np.random.default_rng(seed)
    if space == "nb201":
        from zcnas.spaces import nb201

        return [int(i) for i in nb201.sample(n, rng=rng, replace=False)]
    if space == "macro":
        from zcnas.spaces import macro

        return [int(i) for i in macro.sample(n, rng=rng, replace=False)]
    raise ZcnasError(f"unknown space {space!r}; expected one of {sorted(SPACE_KEYS)}")


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
) -> dict[str, dict[str, float]]:
    """Score ``archs`` of ``space`` with ``proxy_names`` on the packaged real images.

    Every network is built with PyTorch's default initialisation seeded by ``seed`` and scored
    on the same minibatch: the first ``batch_size`` real images of ``dataset`` (all of them by
    default: 30 CIFAR-10, 25 CIFAR-100). With a :class:`~zcnas.bench.ScoreStore`, each score is
    written with its provenance right after its architecture, and stored scores are skipped.

    Args:
        space: ``nb201`` or ``macro``.
        archs: architectures in any encoding of the space.
        proxy_names: registered proxy names.
        dataset: ``cifar10`` or ``cifar100`` (NB201 only).
        flavor: proxy flavor (each proxy's default if None).
        seed: weight-init and proxy seed.
        batch_size: images per minibatch.
        store: a ScoreStore, or None.
        progress: wraps the iterable of architectures (e.g. ``rich.progress.track``).

    Returns:
        store key -> {proxy: score} for the architectures scored in this call.
    """
    import torch

    from zcnas import proxies
    from zcnas.datasets import cifar_batch

    if dataset not in _CLASSES:
        raise ZcnasError(f"unknown dataset {dataset!r}; expected 'cifar10' or 'cifar100'")
    for p in proxy_names:
        proxies.get_proxy(p)
    build, key = _builder(space, _CLASSES[dataset])
    keys = [key(a) for a in archs]
    x, y = cifar_batch(dataset, batch_size)
    space_key = SPACE_KEYS[space]
    flavor_key = flavor or "default"
    todo = list(zip(archs, keys, strict=True))
    if store is not None:
        missing = {
            k for k, _ in store.missing(space_key, dataset, keys, proxy_names, flavor=flavor_key)
        }
        todo = [(a, k) for a, k in todo if k in missing]
    results: dict[str, dict[str, float]] = {}
    for arch, k in progress(todo) if progress else todo:
        torch.manual_seed(seed)
        model = build(arch)
        t0 = time.perf_counter()
        scores = proxies.score(model, x, y, proxies=list(proxy_names), flavor=flavor, seed=seed)
        elapsed = time.perf_counter() - t0
        results[k] = scores
        if store is not None:
            store.put_many(
                {
                    "space": space_key,
                    "task": dataset,
                    "arch": k,
                    "proxy": p,
                    "score": float(v),
                    "flavor": flavor_key,
                    "time_s": elapsed,
                    "batch_size": int(x.shape[0]),
                    "seed": seed,
                    "input_kind": f"{dataset}-real",
                    "dtype": "float32",
                    "source": "zcnas score (time_s = wall time of the shared call)",
                }
                for p, v in scores.items()
            )
    return results
