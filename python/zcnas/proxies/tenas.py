"""TE-NAS: NTK condition number and number of linear regions (PROXIES.md 2.14).

Reference: VITA-Group/TENAS @ 9df78ffd, ``lib/procedures/ntk.py`` and
``lib/procedures/linear_region_counter.py``, as benchmarked whole-network by AZ-NAS
(``NB201/ZeroShotProxy/compute_te_nas_score.py``): ntk on one real batch in train mode, linear
regions on one Gaussian batch, final score = rankdata(ntk) + rankdata(LR) over the pool. TE-NAS's
own search (pruning deltas on thin supernets) is not a per-architecture score and is not here.

``tenas_ntk`` (needs nothing but the batch). On a private copy in train mode with PyTorch's
default init (TE-NAS's intended Kaiming re-init is a silent no-op in its launch script, so none
is done), one forward on ``ctx.inputs``; for each sample i, the gradient of the sum of that
sample's logits with respect to every parameter whose name contains ``"weight"`` (BN affine
weights included, biases excluded; parameters without a gradient left out), concatenated into
row i of G (N x P). Theta = G G^T, eigenvalues ascending, cond = lambda_max / lambda_min.

* Flavor ``"tenas"`` (default, the reference): score = -nan_to_num(cond) with NaN -> 1e5 and
  +-inf -> +-float64 max (NumPy's defaults, as the reference's ``np.nan_to_num(..., nan=1e5)``).
  Caveat, as in the reference: lambda_min <= 0 (a singular Gram, e.g. repeated samples or a
  batch larger than the rank of G) gives a negative or huge cond, so such a network can rank
  *best*.
* Flavor ``"guarded"``: lambda_min <= 0 or a non-finite cond gives -inf (ranked last).

Sign: the reference ranks ``-cond`` (a lower condition number is better), so the registered
score is **-cond, higher = better** (at most -1 for a positive definite Gram). Departures: the
Gram and its eigenvalues are computed in float64 (reference: float32 ``symeig``/``eigh``);
``max_chunk`` is not used (train-mode BN couples the samples).

``tenas_lr`` (needs ReLUs). On a private copy in train mode, default init, one forward without
gradients; forward hooks on every ``nn.ReLU`` whose input is 4-D record sign(ReLU output) in
{0, 1}, concatenated per sample over the ReLUs in call order. The score is the number of
distinct codes among the B samples, sum_i 1 / #{j : code_j = code_i}; the reference computes it
with a float16 matrix product A (1 - A)^T, hashing bit-packed codes gives the same count
exactly. Flavor ``"aznas"`` (default, AZ-NAS's whole-network benchmark): Gaussian ``N(0, 1)``
input of the shape of ``ctx.inputs`` from ``ctx.generator(SALT_LR_INPUT)``; flavor ``"data"``:
``ctx.inputs``. **Higher = better** (more linear regions), as AZ-NAS ranks it. NaN activations
give NaN (as the reference's sign(NaN) would). Departure: TE-NAS's own search feeds 1000
one-channel 3x3 crops to a 1-channel supernet; not reproduced.

The TE-NAS score itself is pool-relative: :func:`tenas_rank_sum`.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from zcnas import kernels
from zcnas.exceptions import ZcnasError
from zcnas.proxies.base import PassContext, Proxy, register

__all__ = [
    "SALT_LR_INPUT",
    "count_unique_codes",
    "ntk_eigenvalues",
    "ntk_score_from_eigenvalues",
    "relu_codes",
    "tenas_rank_sum",
]

#: Salt of ``ctx.generator`` for the Gaussian input of ``tenas_lr`` (flavor ``"aznas"``).
SALT_LR_INPUT = 2_140_001

NTK_FLAVORS = ("tenas", "guarded")
LR_FLAVORS = ("aznas", "data")


def _logits(out: Any) -> torch.Tensor:
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise ZcnasError(
            "TE-NAS NTK needs a model returning (B, classes) logits, got "
            f"{type(out).__name__}{'' if not isinstance(out, torch.Tensor) else tuple(out.shape)}"
        )
    return out


def ntk_eigenvalues(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """Ascending float64 eigenvalues of the empirical NTK Gram G G^T (see module docstring)."""
    if inputs.shape[0] < 1:
        raise ZcnasError("TE-NAS NTK needs a non-empty batch")
    net = copy.deepcopy(model)
    for p in net.parameters():
        p.requires_grad_(True)
    net.train()
    weights = [p for n, p in net.named_parameters() if "weight" in n]
    if not weights:
        raise ZcnasError("TE-NAS NTK needs parameters whose name contains 'weight'")
    rows = []
    with torch.enable_grad():
        logits = _logits(net(inputs))
        for i in range(logits.shape[0]):
            grads = torch.autograd.grad(
                logits[i : i + 1].sum(), weights, retain_graph=True, allow_unused=True
            )
            rows.append(torch.cat([g.reshape(-1) for g in grads if g is not None]))
    g = torch.stack(rows).detach().double().cpu()
    gram = g @ g.t()
    return kernels.eigvalsh(gram.numpy())  # the Rust symmetric solver, float64


def ntk_score_from_eigenvalues(eigenvalues: Any, flavor: str = "tenas") -> float:
    """``-cond`` from ascending eigenvalues, with the flavor's guard (see module docstring).

    >>> ntk_score_from_eigenvalues([0.5, 2.0])
    -4.0
    >>> ntk_score_from_eigenvalues([-1e-9, 2.0]) > 0  # the reference's negative-cond artefact
    True
    >>> ntk_score_from_eigenvalues([-1e-9, 2.0], "guarded")
    -inf
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    lo, hi = float(lam[0]), float(lam[-1])
    if flavor == "guarded":
        if not lo > 0 or not math.isfinite(hi / lo):
            return -math.inf
        return -(hi / lo)
    if flavor != "tenas":
        raise ZcnasError(f"tenas_ntk: unknown flavor {flavor!r}; expected one of {NTK_FLAVORS}")
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.float64(hi) / np.float64(lo)
    return -float(np.nan_to_num(cond, nan=100000.0))


def relu_codes(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """(B, n) float codes sign(ReLU output) over every ReLU with a 4-D input (module docstring).

    The copy of ``model`` runs in train mode under ``no_grad``.
    """
    net = copy.deepcopy(model)
    net.train()
    feats: list[torch.Tensor] = []

    def hook(_mod: nn.Module, inp: Any, out: torch.Tensor) -> None:
        if isinstance(inp, tuple) and len(inp) > 0 and inp[0].dim() == 4:
            feats.append(out.detach().clone())

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(inputs)
    finally:
        for h in handles:
            h.remove()
    if not feats:
        raise ZcnasError("tenas_lr needs nn.ReLU modules applied to 4-D (B, C, H, W) tensors")
    b = inputs.shape[0]
    return torch.cat([torch.sign(f.reshape(b, -1)) for f in feats], dim=1)


def count_unique_codes(codes: Any) -> float:
    """Number of distinct rows of a (B, n) code matrix (nonzero = 1); NaN if any entry is NaN.

    >>> count_unique_codes(np.array([[1, 0], [1, 0], [0, 1]]))
    2.0
    """
    arr = codes.cpu().numpy() if isinstance(codes, torch.Tensor) else np.asarray(codes)
    if arr.ndim != 2:
        raise ZcnasError(f"codes must be (B, n), got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
        return math.nan
    return float(kernels.count_unique_rows(arr != 0))  # bit-packed and hashed in Rust


def tenas_rank_sum(ntk_scores: Any, lr_scores: Any, nan_policy: str = "raise") -> np.ndarray:
    """The TE-NAS score over a pool: rankdata(ntk) + rankdata(LR), average ties (higher = better).

    Args:
        ntk_scores: ``tenas_ntk`` scores (-cond) of the m candidates.
        lr_scores: ``tenas_lr`` scores of the same candidates.
        nan_policy: ``"raise"`` or ``"lowest"`` (NaN ranks last), as in
            :func:`zcnas.rankagg.aggregate`.

    Returns:
        ``(m,)`` float64, as AZ-NAS's ``rankdata(ntk) + rankdata(LR)``; pool-relative.

    >>> tenas_rank_sum([-3.0, -1.0, -2.0], [10, 5, 5]).tolist()
    [4.0, 4.5, 3.5]
    """
    from zcnas.rankagg import aggregate

    ntk = np.asarray(ntk_scores, dtype=np.float64).reshape(-1)
    lr = np.asarray(lr_scores, dtype=np.float64).reshape(-1)
    if ntk.shape != lr.shape:
        raise ZcnasError(f"tenas_rank_sum: {ntk.size} ntk scores but {lr.size} LR scores")
    return aggregate(np.column_stack([ntk, lr]), method="linear", nan_policy=nan_policy)


def _ntk_compute(ctx: PassContext, flavor: str) -> float:
    if flavor not in NTK_FLAVORS:
        raise ZcnasError(f"tenas_ntk: unknown flavor {flavor!r}; expected one of {NTK_FLAVORS}")
    eig = ctx.cached(
        ("zcnas.tenas.ntk_eigenvalues",), lambda: ntk_eigenvalues(ctx.model, ctx.inputs)
    )
    return ntk_score_from_eigenvalues(eig, flavor)


def _lr_compute(ctx: PassContext, flavor: str) -> float:
    if flavor not in LR_FLAVORS:
        raise ZcnasError(f"tenas_lr: unknown flavor {flavor!r}; expected one of {LR_FLAVORS}")

    def run() -> float:
        ref = ctx.inputs
        if flavor == "aznas":
            gen = ctx.generator(SALT_LR_INPUT)
            x = torch.randn(tuple(ref.shape), generator=gen, dtype=ref.dtype).to(ref.device)
        else:
            x = ref
        return count_unique_codes(relu_codes(ctx.model, x))

    return ctx.cached(("zcnas.tenas.lr", flavor), run)


register(
    Proxy(
        name="tenas_ntk",
        compute=_ntk_compute,
        flavors=NTK_FLAVORS,
        needs=frozenset(),
        family="tenas",
        doc="TE-NAS NTK: -cond, cond = lambda_max / lambda_min of the Gram of per-sample "
        "gradients of the summed logits w.r.t. every 'weight' parameter, one real batch, train "
        "mode, default init (TENAS lib/procedures/ntk.py). Higher = better. 'tenas': NaN -> 1e5 "
        "as the reference (lambda_min <= 0 unguarded); 'guarded': lambda_min <= 0 -> -inf.",
    )
)
register(
    Proxy(
        name="tenas_lr",
        compute=_lr_compute,
        flavors=LR_FLAVORS,
        needs=frozenset({"relu"}),
        family="tenas",
        doc="TE-NAS linear regions: number of distinct sign(ReLU output) codes over the batch "
        "(ReLUs with 4-D input), Gaussian input ('aznas', AZ-NAS's benchmark) or the batch "
        "('data'), train mode, default init (TENAS linear_region_counter.py). Higher = better.",
    )
)
