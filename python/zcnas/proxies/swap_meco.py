"""SWAP, regularised SWAP (Peng et al., ICLR 2024) and MeCo (Jiang et al., NeurIPS 2023).

Registered on import: ``swap``, ``reg_swap``, ``meco`` and ``meco_opt``. Every score is
**higher = better**, as both papers rank them.

**SWAP** (sample-wise activation patterns; reference: pym1024/SWAP ``src/metrics/swap.py``).
Forward hooks on every ``nn.ReLU`` whose input is 4-D record the sign of the ReLU's *output*
(1 where active, 0 elsewhere), flattened per sample and concatenated over the hooked calls in
call order: a binary ``(B, N)`` matrix ``A`` (samples x neurons). The score is the number of
distinct rows of ``A.T``, i.e. of distinct patterns of a neuron over the batch:

    swap = #{ distinct columns of A },   1 <= swap <= min(N, 2**B)

so it saturates at ``2**B`` (16 inputs in the paper: at most 65,536). Counting is done by the
Rust kernel :func:`zcnas.kernels.count_unique_columns` on bit-packed columns, one block per
hooked call (no concatenated or transposed copy of the codes). The model runs in
train mode (BN on batch statistics) under ``no_grad``, on a private copy. Before each repeat
the copy is re-initialised with Gaussian weights (:func:`gaussian_init`: Conv2d/Linear weights
N(0, 1), biases 0, affine norms weight 1 / bias 0, as ZenNAS's ``network_weight_gaussian_init``
that SWAP uses) and the score is the mean over ``repeats`` re-initialisations (the paper's
protocol: 16 inputs, 32 repeats; on DARTS a C=3 network with one cell per stage).

**Regularised SWAP**: ``swap * exp(-(P - mu)**2 / sigma)`` with ``P`` the parameter count in
thousands (the reference's ``count_parameters_in_MB * 1e3``, parameters whose name contains
``auxiliary`` excluded), ``mu`` and ``sigma`` in the same unit (the formula divides by
``sigma``, not ``sigma**2``). ``mu``/``sigma`` steer the searched model size and are the user's
choice in the paper; the registered ``reg_swap`` uses :data:`REG_MU_K` and :data:`REG_SIGMA_K`
(a wide window around one million parameters, **not** values from the paper), and
:func:`make_reg_swap` registers the proxy with any other pair.

**MeCo** (minimum eigenvalue of correlation; reference: HamsterMimi/MeCo ``correlation/
NAS_Bench_201.py``). Forward hooks on *every* module (``named_modules()``, the root and
containers included, each call of a reused module counted) take the output's first element
``out[0]`` -- for a tensor output the feature map ``(C, H, W)`` of the first sample -- reshape
it to ``(C, -1)`` and compute the ``C x C`` Pearson correlation between channels (NaN and inf
entries set to 0, as the reference, so constant channels contribute zero rows); the layer term
is its minimum eigenvalue, and::

    meco = sum over hooked calls l of lambda_min( corr_l ),   NaN/inf terms dropped.

The reference runs a batch of one image (``--batch_size 1``), the network at its default
initialisation in train mode: flavor ``meco`` forwards ``inputs[:1]`` only; flavor ``batch``
forwards the whole batch (BN statistics over it) and still reads sample 0, as the reference
code does with a larger batch. **MeCo_opt** (``meco_opt``): per hooked call, ``min(8, C)``
channels drawn without replacement (from the call's seeded generator, not Python's
``random``), the eigenvalue multiplied by ``C / 8``. With fewer than 8 channels the reference
fails (``random.sample``); here all ``C`` are kept and the factor is ``C / C = 1``.

Departures: correlations and eigenvalues in float64 (:func:`zcnas.kernels.corrcoef` and the
symmetric ``numpy.linalg.eigvalsh``, LAPACK; the reference uses float32 ``torch.corrcoef`` and
the general ``torch.linalg.eig``, real parts); a layer with at least as many channels as
positions (``C >= H*W``: the correlation is singular, its minimum eigenvalue exactly 0) gives
0 without a decomposition, where an eigensolver returns rounding noise (about 1e-15 in float64,
1e-7 in float32), which saves the ``C x C`` decompositions of wide late layers; outputs that
are not tensors (or tuples whose first element is a tensor) and 0-d features are skipped where
the reference would crash; the caller's model is never modified (the reference hooks it in place).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from zcnas import kernels
from zcnas.exceptions import ZcnasError
from zcnas.proxies._copy import module_copy
from zcnas.proxies.base import PassContext, Proxy, register
from zcnas.proxies.model_io import is_relu_family

__all__ = [
    "MECO_OPT_CHANNELS",
    "REG_MU_K",
    "REG_SIGMA_K",
    "SWAP_REPEATS",
    "gaussian_init",
    "make_reg_swap",
    "meco_score",
    "params_k",
    "reg_factor",
    "swap_codes",
    "swap_count",
    "swap_score",
]

#: Re-initialisations averaged by the registered ``swap`` / ``reg_swap`` (the paper's 32).
SWAP_REPEATS = 32
#: Default ``mu`` of ``reg_swap``, in thousands of parameters (zcnas's choice, not the paper's).
REG_MU_K = 1000.0
#: Default ``sigma`` of ``reg_swap``, in thousands of parameters (zcnas's choice).
REG_SIGMA_K = 1.0e6
#: Channels sampled per layer by MeCo_opt.
MECO_OPT_CHANNELS = 8

_SALT_SWAP = 0x5A4
_SALT_MECO = 0x3EC0
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)


# ------------------------------------------------------------------------------------------
# SWAP
# ------------------------------------------------------------------------------------------


def gaussian_init(model: nn.Module, generator: torch.Generator) -> None:
    """Gaussian re-initialisation in place (ZenNAS's ``network_weight_gaussian_init``).

    Conv2d and Linear weights drawn N(0, 1) from ``generator`` (on the CPU, then copied to the
    weight's device and dtype) in ``model.modules()`` order, biases zeroed; affine BatchNorm /
    GroupNorm / LayerNorm: weight 1, bias 0.

    >>> m = nn.Linear(2, 3)
    >>> gaussian_init(m, torch.Generator().manual_seed(0))
    >>> torch.equal(m.weight, torch.randn(3, 2, generator=torch.Generator().manual_seed(0)))
    True
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                w = torch.randn(m.weight.shape, generator=generator)
                m.weight.copy_(w)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, _NORMS) and getattr(m, "weight", None) is not None:
                m.weight.fill_(1.0)
                if m.bias is not None:
                    m.bias.zero_()


def _run(model: nn.Module, inputs: Any) -> Any:
    """``model(inputs)`` for a tensor, else the engine's full call (``ModelInputs.call``)."""
    return model(inputs) if isinstance(inputs, torch.Tensor) else inputs.call(model)


def _batch(inputs: Any) -> int:
    return int(inputs.shape[0]) if isinstance(inputs, torch.Tensor) else inputs.batch_size


def _swap_check(info: Any, flavor: str) -> str | None:
    if not info.probe.relu_4d_inputs():
        return "needs ReLU-family modules applied to 4-D (B, C, H, W) tensors (SWAP's codes)"
    return None


def swap_codes(model: nn.Module, inputs: Any) -> torch.Tensor:
    """The ``(B, N)`` bool matrix of SWAP: ReLU output > 0 for every 4-D-input call of a
    ReLU-family module (ReLU, ReLU6, LeakyReLU, ...: output > 0 exactly where input > 0).

    Runs ``model(inputs)`` as it is (mode, weights) under ``no_grad``; the hooks are removed
    afterwards. ``N`` is the total number of hooked activations per sample (0 if none).
    ``inputs`` is a tensor or the engine's :class:`~zcnas.proxies.model_io.ModelInputs`.
    """
    feats = _swap_blocks(model, inputs)
    if not feats:
        return torch.zeros((_batch(inputs), 0), dtype=torch.bool)
    return torch.cat(feats, dim=1)


def _swap_blocks(model: nn.Module, inputs: Any) -> list[torch.Tensor]:
    """The column blocks of :func:`swap_codes`, one ``(B, N_l)`` bool CPU tensor per hooked
    call, in call order (their concatenation along dim 1 is the SWAP matrix)."""
    feats: list[torch.Tensor] = []

    def hook(_m: nn.Module, inp: Any, out: torch.Tensor) -> None:
        if isinstance(inp, tuple) and inp and isinstance(inp[0], torch.Tensor):
            if inp[0].dim() == 4:
                feats.append((out.detach() > 0).reshape(out.shape[0], -1).cpu())

    handles = [m.register_forward_hook(hook) for m in model.modules() if is_relu_family(m)]
    try:
        with torch.no_grad():
            _run(model, inputs)
    finally:
        for h in handles:
            h.remove()
    return feats


def swap_count(model: nn.Module, inputs: Any) -> int:
    """SWAP of ``model`` as it is: distinct sample-wise activation patterns (no re-init).

    Returns 0 when the model has no ReLU with a 4-D input (the reference returns None).

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
    >>> swap_count(net, torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))  # patterns 10 and 01
    2
    """
    # distinct columns of the concatenated blocks, packed per column in Rust (no transpose);
    # no hooked call, or calls without units, count 0
    blocks = _swap_blocks(model, inputs)
    return int(kernels.count_unique_columns([b.numpy() for b in blocks]))


def params_k(model: nn.Module) -> float:
    """Parameter count in thousands, names containing ``auxiliary`` excluded (reference unit)."""
    return sum(p.numel() for n, p in model.named_parameters() if "auxiliary" not in n) / 1e3


def reg_factor(model: nn.Module, mu: float, sigma: float) -> float:
    """SWAP's regulariser ``exp(-(params_k - mu)**2 / sigma)`` (``mu``, ``sigma`` in thousands).

    Raises:
        ZcnasError: ``sigma`` not positive or either value not finite.

    >>> reg_factor(nn.Linear(9, 100), mu=1.0, sigma=4.0)  # 1,000 parameters = 1.0 thousand
    1.0
    """
    mu, sigma = float(mu), float(sigma)
    if not (math.isfinite(mu) and math.isfinite(sigma)) or sigma <= 0:
        raise ZcnasError(f"reg-SWAP needs finite mu and sigma > 0, got mu={mu}, sigma={sigma}")
    return math.exp(-((params_k(model) - mu) ** 2) / sigma)


def swap_score(
    model: nn.Module,
    inputs: Any,
    *,
    repeats: int = SWAP_REPEATS,
    reinit: bool = True,
    seed: int = 0,
    mu: float | None = None,
    sigma: float | None = None,
) -> float:
    """SWAP (or reg-SWAP when ``mu`` and ``sigma`` are given) of ``model`` (not modified).

    Args:
        model: any network with ``nn.ReLU`` modules; a private copy in train mode is scored.
        inputs: ``(B, C, H, W)`` float batch (the paper uses 16 real images), or the engine's
            ``ModelInputs``; labels unused.
        repeats: Gaussian re-initialisations averaged (paper: 32); must be 1 if not ``reinit``.
        reinit: re-initialise with :func:`gaussian_init` before each repeat; False scores the
            model's own weights once.
        seed: seed of the generator that draws all the re-initialisations in turn.
        mu, sigma: the regulariser's parameters in thousands of parameters (both or neither).

    Returns:
        Mean distinct-pattern count (times :func:`reg_factor`); higher = better.

    Raises:
        ZcnasError: bad ``repeats``, only one of ``mu``/``sigma``, or a bad ``sigma``.
    """
    repeats = int(repeats)
    if repeats < 1 or (not reinit and repeats != 1):
        raise ZcnasError(f"swap: repeats must be >= 1 (and 1 without reinit), got {repeats}")
    if (mu is None) != (sigma is None):
        raise ZcnasError("reg-SWAP needs both mu and sigma (in thousands of parameters)")
    factor = 1.0 if mu is None else reg_factor(model, mu, sigma)  # type: ignore[arg-type]
    net = module_copy(model)
    net.train()
    gen = torch.Generator().manual_seed(int(seed))
    total = 0
    for _ in range(repeats):
        if reinit:
            gaussian_init(net, gen)
        total += swap_count(net, inputs)
    return total / repeats * factor


_SWAP_FLAVORS = ("swap", "single", "as_is")


def _swap_kwargs(flavor: str, name: str) -> dict[str, Any]:
    if flavor == "swap":
        return {"repeats": SWAP_REPEATS, "reinit": True}
    if flavor == "single":
        return {"repeats": 1, "reinit": True}
    if flavor == "as_is":
        return {"repeats": 1, "reinit": False}
    raise ZcnasError(f"{name}: unknown flavor {flavor!r}; expected one of {list(_SWAP_FLAVORS)}")


def _swap_seed(ctx: PassContext) -> int:
    return int(ctx.generator(salt=_SALT_SWAP).initial_seed()) % (2**63)


def _swap_mean(ctx: PassContext, flavor: str, name: str) -> float:
    """The mean pattern count of the flavor, computed once per call: swap and every reg-SWAP
    of the call share it (same seed, same repeats), reg-SWAP multiplying it by its factor,
    which is exactly what :func:`swap_score` returns for each of them."""
    kw = _swap_kwargs(flavor, name)
    return ctx.cached(
        ("swap_mean", flavor),
        lambda: swap_score(ctx.model, ctx.model_call(), seed=_swap_seed(ctx), **kw),
    )


def _compute_swap(ctx: PassContext, flavor: str) -> float:
    return _swap_mean(ctx, flavor, "swap")


def _reg_swap_compute(mu: float, sigma: float, name: str) -> Callable[[PassContext, str], float]:
    def compute(ctx: PassContext, flavor: str) -> float:
        return _swap_mean(ctx, flavor, name) * reg_factor(ctx.model, mu, sigma)

    return compute


_SWAP_FLAVOR_DOC = (
    "Flavors: swap (Gaussian re-init, mean of 32 repeats: the paper), single (one re-init), "
    "as_is (the model's own weights)."
)


def make_reg_swap(mu: float, sigma: float, name: str) -> Proxy:
    """Register reg-SWAP with the given ``mu``/``sigma`` (thousands of parameters) as ``name``.

    Returns:
        The registered :class:`Proxy`.

    Raises:
        ZcnasError: ``sigma`` not positive, or ``name`` already registered.
    """
    if not (math.isfinite(float(mu)) and math.isfinite(float(sigma))) or float(sigma) <= 0:
        raise ZcnasError(f"reg-SWAP needs finite mu and sigma > 0, got mu={mu}, sigma={sigma}")
    return register(
        Proxy(
            name=name,
            compute=_reg_swap_compute(float(mu), float(sigma), name),
            flavors=_SWAP_FLAVORS,
            needs=frozenset({"relu"}),
            check=_swap_check,
            family="activation",
            doc=f"Regularised SWAP: swap * exp(-(params/1e3 - {mu})^2 / {sigma}) "
            f"(Peng et al. ICLR 2024). Higher = better. mu and sigma (thousands of "
            f"parameters) are the caller's choice, as in the paper, which tunes them per "
            f"space; far from mu the factor underflows to 0 (e.g. an 11M-parameter ResNet-18 "
            f"with the registered defaults): register a fitting one with make_reg_swap. "
            f"{_SWAP_FLAVOR_DOC}",
        )
    )


# ------------------------------------------------------------------------------------------
# MeCo
# ------------------------------------------------------------------------------------------


def _first_feature(out: Any) -> torch.Tensor | None:
    """``out[0]`` as the reference reads it (first sample of a tensor, first tuple item)."""
    if isinstance(out, torch.Tensor):
        return out[0] if out.dim() >= 1 else None
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    return None


def _meco_term(fea: torch.Tensor, opt_gen: torch.Generator | None) -> float | None:
    if fea.dim() == 0:
        return None
    flat = fea.detach().reshape(fea.shape[0], -1)
    c, n = flat.shape
    if n < 2:  # one position per channel: no correlation to measure
        return None
    scale = 1.0
    if opt_gen is not None:
        k = min(MECO_OPT_CHANNELS, c)
        idx = torch.randperm(c, generator=opt_gen)[:k]  # drawn for every layer, as before
        flat = flat[idx.to(flat.device)]
        scale = c / k
    if flat.shape[0] >= n:
        # C channels over n <= C positions: the rows, centred, span at most n - 1 < C
        # dimensions, so the correlation matrix (positive semi-definite, NaN rows zeroed) is
        # singular and its minimum eigenvalue is exactly 0; an eigensolver returns rounding
        # noise there (about +-1e-15 in float64, +-1e-7 in the reference's float32), at the
        # cost of a C x C decomposition (512 x 512 of rank 63 in NB101's last stack) and of
        # copying the feature map to the host
        return 0.0
    x = flat.cpu().double().numpy()
    corr = kernels.corrcoef(x)
    corr[~np.isfinite(corr)] = 0.0
    # LAPACK's divide-and-conquer (numpy): the correlation of one sample's C channels over
    # H*W positions is rank-deficient whenever C > H*W (1280 x 1280 of rank 64 in a
    # NAS-Bench-Macro head), where zcnas's QL kernel stalls and cyclic Jacobi takes minutes
    low = float(np.linalg.eigvalsh(corr)[0])
    return float(low) * scale


def meco_score(model: nn.Module, inputs: Any, *, opt: bool = False, seed: int = 0) -> float:
    """MeCo (or MeCo_opt) of ``model`` (not modified) on ``inputs`` (sample 0 is read).

    Args:
        model: any network; a private copy in train mode runs ``model(inputs)`` once.
        inputs: ``(B, C, H, W)`` float batch (or the engine's ``ModelInputs``); the
            reference uses ``B = 1``.
        opt: MeCo_opt: 8 random channels per layer, eigenvalue scaled by ``C / 8``.
        seed: seed of the channel draws (``opt`` only).

    Returns:
        Sum over hooked module calls of the minimum eigenvalue; higher = better.
    """
    net = module_copy(model)
    net.train()
    gen = torch.Generator().manual_seed(int(seed)) if opt else None
    terms: list[float] = []

    def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
        fea = _first_feature(out)
        if fea is not None:
            t = _meco_term(fea, gen)
            if t is not None and math.isfinite(t):
                terms.append(t)

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    try:
        with torch.no_grad():
            _run(net, inputs)
    finally:
        for h in handles:
            h.remove()
    if not terms:
        raise ZcnasError(
            "MeCo needs feature maps with several positions per channel (C, H*W >= 2); every "
            "hooked output here is a vector"
        )
    return float(sum(terms))


def _meco_check(info: Any, flavor: str) -> str | None:
    if flavor == "meco" and info.probe.bn_min_values == 1:
        return (
            "flavor 'meco' runs one sample in train mode and a BatchNorm here sees one value "
            "per channel (1x1 maps); flavor 'batch' runs the whole batch"
        )
    return None


def _meco_inputs(ctx: PassContext, flavor: str, name: str) -> Any:
    if flavor == "meco":
        return ctx.model_call().batch_slice(slice(0, 1))
    if flavor == "batch":
        return ctx.model_call()
    raise ZcnasError(f"{name}: unknown flavor {flavor!r}; expected 'meco' or 'batch'")


def _compute_meco(ctx: PassContext, flavor: str) -> float:
    return meco_score(ctx.model, _meco_inputs(ctx, flavor, "meco"))


def _compute_meco_opt(ctx: PassContext, flavor: str) -> float:
    seed = int(ctx.generator(salt=_SALT_MECO).initial_seed()) % (2**63)
    return meco_score(ctx.model, _meco_inputs(ctx, flavor, "meco_opt"), opt=True, seed=seed)


register(
    Proxy(
        name="swap",
        compute=_compute_swap,
        flavors=_SWAP_FLAVORS,
        needs=frozenset({"relu"}),
        check=_swap_check,
        family="activation",
        doc="SWAP: number of distinct sample-wise activation patterns (distinct columns of the "
        "binary samples x neurons matrix of ReLU outputs > 0, ReLUs with 4-D inputs), train "
        "mode, no labels (Peng et al. ICLR 2024, pym1024/SWAP). Higher = better; saturates "
        f"at 2**batch. {_SWAP_FLAVOR_DOC}",
    )
)
make_reg_swap(REG_MU_K, REG_SIGMA_K, "reg_swap")
register(
    Proxy(
        name="meco",
        compute=_compute_meco,
        flavors=("meco", "batch"),
        check=_meco_check,
        family="activation",
        doc="MeCo: sum over every module call of the minimum eigenvalue of the channel "
        "correlation matrix of sample 0's output (NaN/inf entries -> 0), default init, train "
        "mode (Jiang et al. NeurIPS 2023, HamsterMimi/MeCo). Higher = better. Flavors: meco "
        "(forward of the first sample only, as the reference's batch of 1), batch (the whole "
        "batch forwarded, sample 0 read).",
    )
)
register(
    Proxy(
        name="meco_opt",
        compute=_compute_meco_opt,
        flavors=("meco", "batch"),
        check=_meco_check,
        family="activation",
        doc="MeCo_opt: MeCo with min(8, C) random channels per module call, the eigenvalue "
        "scaled by C/8 (C/C below 8 channels, where the reference fails). Higher = better. "
        "Flavors as meco.",
    )
)
