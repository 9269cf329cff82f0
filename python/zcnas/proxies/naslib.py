"""NAS-Bench-Suite-Zero's 13 proxies, as NASLib (branch ``zerocost``) and foresight compute them.

Registered on import: ``epe_nas, fisher, flops, grad_norm, grasp, jacov, l2_norm, nwot, params,
plain, snip, synflow, zen``. Every score is **higher = better** in the reference's own sense
(grasp is the negated ``theta^T H g`` as its reference negates it; plain is signed and often
negatively correlated with accuracy, kept as the reference computes it).

Flavors. ``naslib`` is every proxy's default. It is the number NAS-Bench-Suite-Zero stores:
the raw value followed by NASLib's post-processing (``ZeroCost.query``), applied explicitly by
:func:`naslib_postprocess` in the order PROXIES.md lists it:

1. a NaN or +-inf score becomes ``-1e8``;
2. synflow only: 0 stays 0, otherwise ``log(s)`` if ``s > 0`` and ``-log(-s)`` if ``s < 0``
   (so a non-finite synflow ends as ``-log(1e8)``).

So the Suite-Zero CSV/JSON values (and zcnas's embedded ``nb201_suite_zero_zc13`` table) hold
synflow as this signed log and every other proxy as its raw value (-1e8 where non-finite). Every
other flavor returns the raw value, NaN/inf included (the engine warns about them):

* ``foresight``: SamsungLabs/zero-cost-nas for the proxies it has (grad_norm, snip, grasp,
  fisher, jacov, plain, synflow, l2_norm): same formula as NASLib, no post-processing.
* ``raw``: NASLib's formula without post-processing (epe_nas, nwot, zen).
* synflow ``bn``: foresight's ``synflow_bn`` registration (BN kept, train mode, batch of 1).
* jacov ``eigh``: ``eigvalsh`` with eigenvalues clamped at 0 instead of NumPy's general ``eig``.
* nwot ``bayeswatch``: BayesWatch v2's ``hook_logdet``: only ReLUs reached by the backward of the
  sum of logits contribute (their ``num_classes=1`` and batch 128 are the caller's choice).
* flops ``macs``: Conv2d/Linear multiply-accumulates only (:func:`zcnas.spaces.nb201.count_flops`).

Departures shared by all: passes run on private train-mode copies (see :mod:`.passes`), chunked
gradients are weighted to equal the full-batch gradient (NASLib's OOM path is not emulated),
sums are taken in float64.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from zcnas import kernels
from zcnas.proxies import passes
from zcnas.proxies._copy import module_copy
from zcnas.proxies.base import PassContext, Proxy, register

_FORESIGHT = ("naslib", "foresight")
_RAW = ("naslib", "raw")
_GRAD_NEEDS = frozenset({"labels", "conv_or_linear"})


def naslib_postprocess(name: str, value: float) -> float:
    """NASLib's ``ZeroCost.query`` post-processing: non-finite -> -1e8, then synflow's signed
    log (0 stays 0)."""
    v = float(value)
    if not math.isfinite(v):
        v = -1e8
    if name == "synflow" and v != 0.0:
        v = math.log(v) if v > 0 else -math.log(-v)
    return v


def _make(
    name: str,
    raw: Callable[[PassContext, str], float],
    flavors: tuple[str, ...],
    needs: frozenset[str],
    family: str,
    doc: str,
    passes: frozenset[str] = frozenset(),
    *,
    min_batch: int = 1,
    train_mode: bool = True,
    check: Callable[[Any, str], str | None] | None = None,
) -> Proxy:
    def compute(ctx: PassContext, flavor: str) -> float:
        value = float(raw(ctx, flavor))
        if flavor != "naslib":
            return value
        if not math.isfinite(value):
            ctx.note("naslib_replaced", name)  # the engine warns: -1e8 is a failure value
        return naslib_postprocess(name, value)

    compute.__name__ = f"compute_{name}"
    compute.__doc__ = doc
    return register(
        Proxy(
            name=name,
            compute=compute,
            flavors=flavors,
            needs=needs,
            passes=passes,
            family=family,
            doc=doc,
            min_batch=min_batch,
            train_mode=train_mode,
            check=check,
        )
    )


def _sum64(tensors) -> float:
    return float(sum(float(t.double().sum()) for t in tensors))


# ------------------------------------------------------------------------------------------
# gradient proxies (shared cross-entropy pass)
# ------------------------------------------------------------------------------------------


def _grad_norm(ctx: PassContext, flavor: str) -> float:
    gp = passes.grad_pass(ctx)
    return float(sum(float(g.double().norm()) for g in gp.grads))


def _snip(ctx: PassContext, flavor: str) -> float:
    gp = passes.grad_pass(ctx)
    return _sum64((w * g).abs() for w, g in zip(gp.weights, gp.grads, strict=True))


def _plain(ctx: PassContext, flavor: str) -> float:
    gp = passes.grad_pass(ctx)
    return _sum64(w * g for w, g in zip(gp.weights, gp.grads, strict=True))


def _fisher(ctx: PassContext, flavor: str) -> float:
    gp = passes.grad_pass(ctx)
    total = 0.0
    for w, sq in zip(gp.weights, gp.fisher_sq, strict=True):
        f_k = (0.5 * sq.double().mean(0)).abs()
        total += float(f_k.sum()) * math.prod(w.shape[1:])  # NASLib's fan-in broadcast
    return total


def _grasp(ctx: PassContext, flavor: str) -> float:
    weights, hg = passes.hessian_grad_pass(ctx)
    return -_sum64(w * h for w, h in zip(weights, hg, strict=True))


# ------------------------------------------------------------------------------------------
# Jacobian proxies
# ------------------------------------------------------------------------------------------


def jacov_from_jacobian(jac: np.ndarray, flavor: str = "naslib", k: float = 1e-5) -> float:
    """``-sum_i [log(l_i + k) + 1/(l_i + k)]`` over the eigenvalues of ``corrcoef(jac)``.

    ``corrcoef`` is the Rust kernel (numpy's values; a constant row gives NaN, which the
    eigen-solvers then refuse -> NaN, as the reference). ``naslib``/``foresight``: NumPy's
    general ``eig``, as the reference; a result with non-zero imaginary parts or any exception
    gives NaN (the reference's ``except -> nan``). ``eigh``: the Rust symmetric solver
    :func:`zcnas.kernels.eigvalsh`, eigenvalues clamped at 0.
    """
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            corr = kernels.corrcoef(jac)
            if flavor == "eigh":
                lam = np.clip(kernels.eigvalsh(corr), 0.0, None)
            else:
                lam = np.linalg.eigvals(corr)
                if np.iscomplexobj(lam):
                    if np.any(lam.imag != 0):
                        return float("nan")
                    lam = lam.real
            return float(-np.sum(np.log(lam + k) + 1.0 / (lam + k)))
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return float("nan")


def _jacov(ctx: PassContext, flavor: str) -> float:
    jac, _ = passes.jacobian_pass(ctx)
    return jacov_from_jacobian(jac.cpu().double().numpy(), flavor)


def epe_from_jacobian(jac: np.ndarray, labels: np.ndarray, n_classes: int) -> float:
    """epe_nas from Jacobian rows grouped by label (NASLib ``epe_nas.py``).

    Per class ``c`` seen in the batch: ``s_c = sum log(|corrcoef(J_c)| + 1e-5)`` (divided by the
    matrix size when ``n_classes > 100``; a single-sample class is skipped there, as its 0-d
    corrcoef has no length). Score: ``sum_c |s_c|`` if ``n_classes <= 100``, otherwise
    ``sum_{c, c'} |s_c - s_c'| / (number of classes scored)`` over ordered pairs.
    """
    k = 1e-5
    jac = np.asarray(jac, dtype=np.float64)
    labels = np.asarray(labels)
    scores: dict[int, float] = {}
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for c in dict.fromkeys(labels.tolist()):
                rows = jac[labels == c]
                if n_classes > 100 and rows.shape[0] == 1:
                    continue  # the reference's 0-d corrcoef of one sample has no length
                corr = kernels.corrcoef(rows)  # one row: [[1.0]], the reference's scalar 1.0
                s = float(np.sum(np.log(np.abs(corr) + k)))
                if n_classes > 100:
                    s /= corr.shape[0]
                scores[c] = s
            vals = np.array(list(scores.values()), dtype=np.float64)
            if n_classes <= 100:
                return float(np.sum(np.abs(vals)))
            if vals.size == 0:
                return 0.0
            return float(np.sum(np.abs(vals[:, None] - vals[None, :])) / vals.size)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return float("nan")


def _epe_nas(ctx: PassContext, flavor: str) -> float:
    jac, n_out = passes.jacobian_pass(ctx)
    return epe_from_jacobian(jac.cpu().double().numpy(), ctx.labels.cpu().numpy(), n_out)


# ------------------------------------------------------------------------------------------
# nwot
# ------------------------------------------------------------------------------------------


def _nwot(ctx: PassContext, flavor: str) -> float:
    if flavor == "preact":
        codes = passes.preact_codes(ctx)
    else:
        codes = passes.relu_codes(ctx, visited_only=(flavor == "bayeswatch"))
    k = passes.hamming_kernel(codes)
    return kernels.slogdet(k.numpy())[1]


# ------------------------------------------------------------------------------------------
# data-free proxies
# ------------------------------------------------------------------------------------------


def _l2_norm(ctx: PassContext, flavor: str) -> float:
    with torch.no_grad():
        layers = passes.counted_layers(ctx.model)
        return float(sum(float(m.weight.detach().double().norm()) for m in layers))


def _synflow(ctx: PassContext, flavor: str) -> float:
    weights, grads = passes.synflow_pass(ctx, bn=(flavor == "bn"))
    return _sum64((w * g).abs() for w, g in zip(weights, grads, strict=True))


def _params(ctx: PassContext, flavor: str) -> float:
    return sum(p.numel() for p in ctx.model.parameters()) / 1e6


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def count_flops_naslib(
    model: nn.Module, input_shape, *, macs_only: bool = False, call: Any = None
) -> float:
    """Millions of FLOPs of one forward on ``input_shape`` (batch 1), counted by forward hooks
    with charges that reproduce NAS-Bench-Suite-Zero's tensorwatch numbers on NAS-Bench-201
    (checked against the embedded table for CIFAR-10 and ImageNet16-120) and on
    TransNAS-Bench-101 (the ``flops`` column of its Suite-Zero CSVs, every row of all seven
    tasks, micro and macro, ``tests/spaces/test_tnb101_flops.py``):

    * Conv2d: ``out.numel() * in_channels/groups * kh * kw``, plus ``out.numel()`` when the
      conv has a bias; Linear: ``out.numel() * in`` (its bias not charged);
    * BatchNorm: 2 per input element if affine, else 1; ReLU and LeakyReLU: 1 per input
      element;
    * AvgPool2d/MaxPool2d: kernel area per output element;
    * AdaptiveAvgPool2d: ``in.numel() + out.numel() * (kh + kw + 1)``, ``kh = H_in // H_out``
      (fitted to the table, not derived);
    * everything else (ConvTranspose2d, Tanh, additions, ``x * 0``, identity): 0.
    * Each module is charged once, for its last call (tensorwatch keeps one row per module):
      a module applied several times per forward (TransNAS's jigsaw encoder on its 9 tiles, a
      ReLU reused in a block) counts as one call.

    The conv-bias, LeakyReLU, once-per-module and uncharged-ConvTranspose2d/Tanh rules are
    what makes the TransNAS-Bench-101 decoders (segmentsemantic, autoencoder, normal) and the
    jigsaw network equal the CSVs; NB201 has no conv bias, no LeakyReLU and no reuse.

    ``macs_only`` counts Conv2d/Linear multiply-accumulates only, at every call. Runs on a
    deep copy in eval mode under no_grad, on zeros of ``input_shape``, or on ``call`` (a
    :class:`~zcnas.proxies.model_io.ModelInputs` of one sample, for models with several or
    integer inputs; ``input_shape`` then unused).
    """
    m = module_copy(model).eval()
    total = [0]
    per_module: dict[int, int] = {}  # id(module) -> charge of its last call

    def hook(mod: nn.Module, inp, out) -> None:
        x = inp[0] if inp else None
        charge = 0
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            charge = out.numel() * (mod.in_channels // mod.groups) * kh * kw
            if mod.bias is not None and not macs_only:
                charge += out.numel()
        elif isinstance(mod, nn.Linear):
            charge = out.numel() * mod.in_features
        elif macs_only or x is None:
            return
        elif isinstance(mod, passes._BN_TYPES):
            charge = x.numel() * (2 if mod.affine else 1)
        elif isinstance(mod, (nn.ReLU, nn.LeakyReLU)):
            charge = x.numel()
        elif isinstance(mod, (nn.AvgPool2d, nn.MaxPool2d)):
            kh, kw = _pair(mod.kernel_size)
            charge = out.numel() * kh * kw
        elif isinstance(mod, nn.AdaptiveAvgPool2d):
            kh = x.shape[-2] // max(1, out.shape[-2])
            kw = x.shape[-1] // max(1, out.shape[-1])
            charge = x.numel() + out.numel() * (kh + kw + 1)
        else:
            return
        if macs_only:
            total[0] += charge
        else:
            per_module[id(mod)] = charge

    handles = [mod.register_forward_hook(hook) for mod in m.modules()]
    param = next(m.parameters(), None)
    kw_ = {} if param is None else {"device": param.device, "dtype": param.dtype}
    try:
        with torch.no_grad():
            if call is not None:
                call.call(m)
            else:
                m(torch.zeros(tuple(input_shape), **kw_))
    finally:
        for h in handles:
            h.remove()
    return (total[0] + sum(per_module.values())) / 1e6


def flops_of(ctx: PassContext, *, macs_only: bool = False) -> float:
    """:func:`count_flops_naslib` of the call's model for one sample: zeros of the input's
    shape, or the batch's first sample for models with several or integer inputs."""
    shape = (1, *ctx.inputs.shape[1:])
    call = None
    if ctx.call is not None or not ctx.inputs.is_floating_point():
        call = ctx.model_call().batch_slice(slice(0, 1))
    return count_flops_naslib(ctx.model, shape, macs_only=macs_only, call=call)


def _flops(ctx: PassContext, flavor: str) -> float:
    return flops_of(ctx, macs_only=(flavor == "macs"))


def _synflow_check(info: Any, flavor: str) -> str | None:
    bn = info.probe.bn_min_values
    if flavor == "bn" and bn is not None and bn < 2:
        return (
            "flavor 'bn' runs BatchNorm in train mode on one all-ones sample, and a BatchNorm "
            "here sees one value per channel; use the default flavor (BN bypassed)"
        )
    return None


def _zen(ctx: PassContext, flavor: str) -> float:
    diff, log_bn = passes.zen_pass(ctx)
    with np.errstate(all="ignore"):
        return float(np.log(np.float64(diff))) + log_bn


# ------------------------------------------------------------------------------------------
# registration
# ------------------------------------------------------------------------------------------

_CE = "L = mean cross-entropy of the real batch (train mode, BN kept), g_l = dL/dW_l"

_make(
    "grad_norm",
    _grad_norm,
    _FORESIGHT,
    _GRAD_NEEDS,
    "gradient",
    f"grad_norm = sum_l ||g_l||_F over Conv2d/Linear weights (per-layer Frobenius norms summed, "
    f"not the global norm); {_CE}. foresight/NASLib `grad_norm.py`. Higher = better. Not the "
    "ZenNAS/AZ-NAS gradnorm (random input and labels, re-init, global norm of all params).",
    passes=frozenset({"grad"}),
)
_make(
    "snip",
    _snip,
    _FORESIGHT,
    _GRAD_NEEDS,
    "gradient",
    f"snip = sum |W * g| (= |dL/dc| of a ones mask c at c = 1); {_CE}. foresight/NASLib "
    "`snip.py`. Higher = better.",
    passes=frozenset({"grad"}),
)
_make(
    "grasp",
    _grasp,
    _FORESIGHT,
    _GRAD_NEEDS,
    "gradient",
    f"grasp = -sum W * (H g) (T=1, one iteration; H g from a double backward of "
    f"z = sum <stopgrad(g), dL/dW>); {_CE}. foresight/NASLib `grasp.py`, whose negation makes "
    "higher = better (accuracy correlated negatively with the un-negated value).",
    passes=frozenset({"grad", "hessian"}),
)
_make(
    "fisher",
    _fisher,
    _FORESIGHT,
    _GRAD_NEEDS,
    "gradient",
    "fisher = sum_l sum_k F_k * prod(W_l.shape[1:]) with F_k = |1/2 mean_n (sum_hw a*dL/da)^2| "
    "for output channel k of the layer output a (pre-BN); the fan-in factor is NASLib's "
    f"broadcast quirk and part of the reference number; {_CE}. foresight/NASLib `fisher.py`. "
    "Higher = better.",
    passes=frozenset({"grad"}),
)
_make(
    "plain",
    _plain,
    _FORESIGHT,
    _GRAD_NEEDS,
    "gradient",
    f"plain = sum W * g, signed; {_CE}. foresight/NASLib `plain.py`. Reported as computed "
    "Higher = better by convention, sign as computed (often negatively correlated with "
    "accuracy).",
    passes=frozenset({"grad"}),
)
_make(
    "jacov",
    _jacov,
    (*_FORESIGHT, "eigh"),
    frozenset({"float_input"}),
    "jacobian",
    "jacov = -sum_i [log(l_i + 1e-5) + 1/(l_i + 1e-5)], l = eig(corrcoef(J)), J_n = "
    "d(sum logits_n)/dx_n flattened (train mode, BN kept). NASLib `jacov.py` = foresight "
    "`jacob_cov.py` (NASWOT v1). Higher = better. Exceptions, complex eigenvalues -> NaN. "
    "Depends strongly on the batch size.",
    passes=frozenset({"jacobian"}),
    min_batch=2,
)
_make(
    "epe_nas",
    _epe_nas,
    _RAW,
    frozenset({"class_labels", "float_input"}),
    "jacobian",
    "epe_nas = sum_c |sum log(|corrcoef(J_c)| + 1e-5)| over the classes c in the batch "
    "(> 100 classes: per-class sums divided by matrix size, then sum of pairwise |s_c - s_c'| "
    "/ #classes), J as in jacov. NASLib `epe_nas.py`. Higher = better.",
    passes=frozenset({"jacobian"}),
    min_batch=2,
)
_make(
    "nwot",
    _nwot,
    ("naslib", "bayeswatch", "raw", "preact"),
    frozenset({"relu"}),
    "activation",
    "nwot = log|det K|, K = sum over ReLU-family calls (modules whose type name contains "
    "'ReLU': ReLU, ReLU6, LeakyReLU, ..., NASLib's rule) of c c^T + (1-c)(1-c)^T with c = "
    "[ReLU input > 0] per sample (float64), one train-mode forward of the real batch with BN "
    "kept. NASLib `nwot.py`; `bayeswatch` keeps only ReLUs reached by the backward of "
    "sum(logits); `preact` (zcnas's generalisation, raw value) takes c = [pre-activation > 0] "
    "of every element-wise activation call, module or functional (GELU, SiLU, Hardswish, "
    "Mish, ...; equal to `raw` on ReLU-family networks). Higher = better. A singular K (two "
    "samples with identical codes) gives -inf.",
    passes=frozenset({"codes"}),
    min_batch=2,
)
_make(
    "l2_norm",
    _l2_norm,
    _FORESIGHT,
    frozenset({"conv_or_linear"}),
    "weights",
    "l2_norm = sum_l ||W_l||_F over Conv2d/Linear weights of the model as given; no data. "
    "foresight/NASLib `l2_norm.py`. Higher = better.",
    train_mode=False,
)
_make(
    "synflow",
    _synflow,
    (*_FORESIGHT, "bn"),
    frozenset({"conv_or_linear", "float_input"}),
    "data-free",
    "synflow = sum |W * dR/dW|, R = sum(logits) of an all-ones (1, C, H, W) float64 input on a "
    "float64 copy whose every state-dict entry is replaced by its absolute value, all BN "
    "bypassed (`bn`: kept, train mode). foresight/NASLib `synflow.py`. Higher = better. "
    "`naslib` returns the signed log (the Suite-Zero value); others the raw value (~1e30-1e60). "
    "A bounded output (Tanh, sigmoid: e.g. TNB101 autoencoder decoders) saturates on that "
    "input and gives exactly 0, as in the reference.",
    train_mode=False,
    check=_synflow_check,
)
_make(
    "zen",
    _zen,
    _RAW,
    frozenset({"global_pool", "float_input"}),
    "data-free",
    "zen = log(mean_n sum_chw |f(x) - f(x + 0.01 eps)|) + sum_BN2d log sqrt(mean running_var), "
    "x, eps ~ N(0, 1) of the batch's shape (seeded), f = input of nn.AdaptiveAvgPool2d, on a "
    "copy re-initialised N(0, 1) (biases 0, BN weight 1 bias 0, running stats reset), two "
    "train-mode forwards (running_var after both). NASLib `zen.py` (residual links kept; "
    "ZenNAS removes them, not reproducible generically). Higher = better. Ignores max_chunk.",
)
_make(
    "params",
    _params,
    ("naslib",),
    frozenset(),
    "complexity",
    "params = number of parameters of every module (weights, biases, BN affine) / 1e6, as "
    "tensorwatch's ModelStats in NASLib `model_stats.py` (matches the NB201 table exactly).",
    train_mode=False,
)
_make(
    "flops",
    _flops,
    ("naslib", "macs"),
    frozenset(),
    "complexity",
    "flops = FLOPs / 1e6 of one (1, C, H, W) forward, hook-counted with charges reproducing "
    "NASLib's tensorwatch numbers on NB201 (see count_flops_naslib); `macs`: Conv2d/Linear "
    "multiply-accumulates only.",
    train_mode=False,
)
