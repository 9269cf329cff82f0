"""Zero-Cost-PT operation scoring: the proxy ``S`` (:func:`make_scorer`, the reference's eval-mode
NASWOT :func:`jacob_score`), the minibatches it sees (:class:`ImageBatches`, with the
reference's crop and flip augmentation) and the ``(E, O)`` operation scores of a supernet
(:func:`operation_scores`: ``zc-pt`` perturbation or ``disc-zc`` discretisation, higher =
better). Part of :mod:`zcnas.search.zc_pt`, which re-exports every public name here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from zcnas import kernels
from zcnas.exceptions import ZcnasError, ZcnasWarning
from zcnas.search import ZC_PT_METHODS
from zcnas.spaces.supernet import Supernet

__all__ = ["ImageBatches", "Scorer", "jacob_score", "make_scorer", "operation_scores"]

#: Operation scoring functions.
METHODS = ZC_PT_METHODS
_CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
_CIFAR_STD = (0.2023, 0.1994, 0.2010)

# ------------------------------------------------------------------------------ scoring


_ACTIVATIONS = (nn.ReLU, nn.ReLU6)


def jacob_score(
    model: nn.Module, inputs: torch.Tensor, labels: Any = None, *, hooks: str = "name"
) -> float:
    """Zero-Cost-PT's NASWOT score (``jacob``): ``log|det K|`` of one eval-mode forward.

    ``K = sum over hooked module calls of c c^T + (1-c)(1-c)^T`` with ``c = [input > 0]``
    flattened per sample. ``hooks="name"`` (the reference's rule, ``'ReLU' in str(type(m))``)
    hooks every module whose class name contains ``ReLU``: the activations **and** wrapper
    modules such as NB201's and DARTS' ``ReLUConvBN``, whose input is their inner ReLU's input,
    so those codes count twice, as in the reference. ``hooks="activation"`` hooks only
    ``nn.ReLU`` / ``nn.ReLU6`` modules (plain NASWOT). The model is put in eval mode for the
    forward (BN uses its running statistics; nothing is updated) and its mode restored; it is
    not copied. Higher = better. ``labels`` is ignored.

    Raises:
        ZcnasError: on an unknown ``hooks`` rule or if no hooked module is called.
    """
    if hooks == "name":
        mods = [m for m in model.modules() if "ReLU" in type(m).__name__]
    elif hooks == "activation":
        mods = [m for m in model.modules() if isinstance(m, _ACTIVATIONS)]
    else:
        raise ZcnasError(f"hooks must be 'name' or 'activation', got {hooks!r}")
    b = inputs.shape[0]
    acc = [torch.zeros(b, b, dtype=torch.float64), 0]

    def hook(_m: nn.Module, inp: Any, _out: Any) -> None:
        a = inp[0] if isinstance(inp, tuple) else inp
        c = (a.detach() > 0).reshape(b, -1).to(torch.float32)
        r = c.sum(1, dtype=torch.float64)
        # c c^T + (1-c)(1-c)^T = 2 c c^T - r_i - r_j + D; c c^T is exact in float32 (< 2**24)
        g = (c @ c.T).to(torch.float64)
        acc[0] += 2.0 * g - r[:, None] - r[None, :] + float(c.shape[1])
        acc[1] += 1

    handles = [m.register_forward_hook(hook) for m in mods]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if acc[1] == 0:
        raise ZcnasError("jacob (nwot) score: no ReLU-like module was called in the forward")
    return float(kernels.slogdet(acc[0].numpy())[1])


@dataclass(frozen=True)
class Scorer:
    """A zero-cost proxy ``S(model, inputs, labels) -> float`` (higher = better).

    Attributes:
        proxy: the proxy name (``"custom"`` for a user callable).
        flavor: the flavor (``"zcpt"`` for the reference's eval-mode NASWOT).
        fn: the scoring function.
    """

    proxy: str
    flavor: str
    fn: Callable[[nn.Module, torch.Tensor, torch.Tensor | None], float]

    def __call__(self, model: nn.Module, inputs: torch.Tensor, labels: Any = None) -> float:
        return float(self.fn(model, inputs, labels))


def make_scorer(
    proxy: str | Callable[..., float] = "nwot", flavor: str | None = None, *, seed: int = 0
) -> Scorer:
    """The scoring function ``S`` of a proxy.

    Args:
        proxy: ``"nwot"`` (default), any name of :func:`zcnas.proxies.list_proxies`, or a
            callable ``(model, inputs, labels) -> float`` (higher = better).
        flavor: for ``nwot``, ``None`` or ``"zcpt"`` is the reference's eval-mode ``jacob``
            (:func:`jacob_score`, modules hooked by class name), ``"zcpt-act"`` the same with
            only ReLU/ReLU6 activations hooked; any other flavor (``naslib``, ``bayeswatch``,
            ...) and any other proxy go through the proxy engine with that flavor.
        seed: the engine's seed (Gaussian inputs, re-initialisations).

    Raises:
        ZcnasError: on an unknown proxy or flavor.
    """
    if callable(proxy):
        return Scorer("custom", flavor or "custom", proxy)
    from zcnas.proxies import get_proxy, score

    if proxy == "nwot" and flavor in (None, "zcpt"):
        return Scorer("nwot", "zcpt", jacob_score)
    if proxy == "nwot" and flavor == "zcpt-act":
        return Scorer("nwot", "zcpt-act", partial(jacob_score, hooks="activation"))
    p = get_proxy(proxy)  # raises on an unknown name
    if p.family == "score-program":
        from zcnas.eznas.scores import uses_pool

        if uses_pool(proxy):
            warnings.warn(
                f"score program {proxy!r} uses Rank/Zscore against its reference pool of "
                "stand-alone networks; supernet scores lie outside that pool, so its terms "
                "saturate and operations tie. Evolve a pool-free formula for Zero-Cost-PT "
                "(evolve_scores(pool_free=True), zcnas eznas evolve --over-scores --pool-free)",
                ZcnasWarning,
                stacklevel=2,
            )
    if flavor is not None and flavor not in p.flavors:
        raise ZcnasError(f"proxy {proxy!r} has no flavor {flavor!r}; it has {list(p.flavors)}")
    fl = p.resolve_flavor(flavor)

    def fn(model: nn.Module, inputs: torch.Tensor, labels: Any) -> float:
        return score(model, inputs, labels, [proxy], flavor=fl, seed=seed)[proxy]

    return Scorer(proxy, fl, fn)


# ------------------------------------------------------------------------------ data


class ImageBatches:
    """Minibatches drawn from a fixed set of (normalised) images.

    Each :meth:`draw` takes ``batch_size`` images without replacement (all of them by default,
    in a random order) and, with ``augment``, applies the reference's CIFAR training
    augmentation per image: a random 32x32 crop of the image padded by 4 pixels of black
    (``-mean/std`` after normalisation) and a horizontal flip with probability 1/2.

    Args:
        images: ``(n, C, H, W)`` float tensor, normalised with ``mean``/``std``.
        labels: ``(n,)`` class indices.
        batch_size: images per batch (default all ``n``).
        augment: apply crop and flip.
        seed: seed of the draws.
        mean, std: the normalisation of ``images`` (CIFAR's by default).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        batch_size: int | None = None,
        augment: bool = True,
        seed: int = 0,
        mean: Sequence[float] = _CIFAR_MEAN,
        std: Sequence[float] = _CIFAR_STD,
        pad: int = 4,
    ) -> None:
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            raise ZcnasError("images must be a 4-D tensor (n, C, H, W)")
        if not isinstance(labels, torch.Tensor) or labels.shape != (images.shape[0],):
            raise ZcnasError("labels must be a 1-D tensor with one label per image")
        n = images.shape[0]
        bs = n if batch_size is None else batch_size
        if isinstance(bs, bool) or not isinstance(bs, int) or not 1 <= bs <= n:
            raise ZcnasError(f"batch_size must be an integer in 1..{n}, got {batch_size!r}")
        self.images, self.labels = images, labels
        self.batch_size, self.augment, self.pad = bs, bool(augment), int(pad)
        self.rng = np.random.default_rng(seed)
        fill = [-m / s for m, s in zip(mean, std, strict=True)]
        if len(fill) != images.shape[1]:
            raise ZcnasError("mean/std must have one entry per image channel")
        self._fill = torch.tensor(fill, dtype=images.dtype)[:, None, None]

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One minibatch ``(x, y)``."""
        idx = self.rng.permutation(self.images.shape[0])[: self.batch_size]
        x = self.images[idx].clone()
        if self.augment:
            _, c, h, w = x.shape
            p = self.pad
            padded = self._fill.expand(c, h + 2 * p, w + 2 * p)
            for i in range(x.shape[0]):
                canvas = padded.clone()
                canvas[:, p : p + h, p : p + w] = x[i]
                dy, dx = self.rng.integers(0, 2 * p + 1, size=2)
                crop = canvas[:, dy : dy + h, dx : dx + w]
                if self.rng.random() < 0.5:
                    crop = crop.flip(-1)
                x[i] = crop
        return x.contiguous(memory_format=torch.channels_last), self.labels[idx].clone()


# ------------------------------------------------------------------------------ operation scores


def _row_best(row: np.ndarray, ops: Sequence[int]) -> int:
    vals = np.array([row[o] for o in ops], dtype=np.float64)
    if np.all(np.isnan(vals)):
        raise ZcnasError("every operation score of the edge is NaN; cannot choose an operation")
    return int(ops[int(np.nanargmax(vals))])


def operation_scores(
    net: Supernet,
    scorer: Scorer,
    inputs: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    method: str = "zc-pt",
    edges: Iterable[int] | None = None,
) -> np.ndarray:
    """Operation scores of every selectable op on ``edges`` of the supernet as it stands.

    Args:
        net: the supernet.
        scorer: the proxy ``S``.
        inputs, labels: one minibatch.
        method: ``"zc-pt"`` (``-S`` with the op removed) or ``"disc-zc"`` (``S`` with the edge
            one-hot on the op).
        edges: rows to score (default: the undecided edges).

    Returns:
        ``(E, O)`` float64, **higher = better**; NaN for rows not scored and ops not selectable.

    Raises:
        ZcnasError: on an unknown method.
    """
    if method not in METHODS:
        raise ZcnasError(f"unknown method {method!r}; expected one of {METHODS}")
    rows = net.candidate_edges() if edges is None else [int(e) for e in edges]
    out = np.full((net.num_edges, net.num_ops), np.nan)
    for e in rows:
        for o in net.selectable:
            ctx = net.perturbed(e, o) if method == "zc-pt" else net.discretized(e, o)
            with ctx:
                s = scorer(net, inputs, labels)
            out[e, o] = -s if method == "zc-pt" else s
    return out


# ------------------------------------------------------------------------------ one proposal
