"""AZ-NAS's four zero-cost proxies and its non-linear rank aggregation (PROXIES.md 2.15).

Reference: cvlab-yonsei/AZ-NAS @ 5e6683a2, ``NB201/ZeroShotProxy/compute_az_nas_score.py``
(components), ``NB201/tss_general.ipynb`` (aggregation); paper section 3.1, eqs. (1)-(12).

One pass on a private copy of the model gives three of the components:

* **Model prep.** A deep copy in train mode (BN uses batch statistics) with every parameter
  requiring grad, re-initialised as the reference's ``kaiming_norm_fanin``: every ``Conv2d`` and
  ``Linear`` weight Kaiming-normal (``fan_in``, ``relu``) with zero bias, every affine BatchNorm
  and GroupNorm weight 1 and bias 0. Draws use ``ctx.generator(SALT_INIT)``, modules in
  ``model.modules()`` order, so a score is reproducible from ``ctx.seed``.
* **Input.** Flavor ``"aznas"`` (default, the reference): a Gaussian batch ``N(0, 1)`` of the
  shape, dtype and device of ``ctx.inputs`` (the reference uses 64 x 3 x R x R; pass a batch of
  64 to match it), drawn from ``ctx.generator(SALT_INPUT)``; the caller's pixel values are not
  used. Flavor ``"data"``: ``ctx.inputs`` itself. No labels are needed. Flavors ``"aznas64"``
  / ``"data64"``: the same inputs, with the spectral computations in float64 (below).
* **Features.** F_0..F_{L-1} are the outputs of the feature modules, in the order they run. For
  zcnas's NAS-Bench-201 networks (a ``stem`` and a ``cells`` ModuleList) they are found
  automatically: the stem and every cell and reduction block, 18 features for N=5 (as the
  reference's ``extract_cell_features``). Other models: ``blocks=`` of :func:`zcnas.proxies.score`,
  a ``feature_modules`` attribute on the model, or the ``feature_modules`` argument of
  :func:`aznas_components` (a sequence of submodule names, as in ``named_modules()``, or
  submodules); otherwise the blocks are found (:func:`find_feature_modules`): the children of
  every ``nn.Sequential``/``nn.ModuleList`` whose children are all blocks (modules with
  submodules, or parameter-free modules such as ``nn.Identity``), outermost first, in module
  order -- torchvision ResNet's BasicBlocks/Bottlenecks, MobileNetV2's and EfficientNet's
  ``features`` stages, timm ViT's ``blocks``, NAS-Bench-Macro's ``layers`` -- with F_0 the
  input of the first block (the stem's output; when that is the model's input itself, F_0 is
  the first block's output instead). The forward pass stops once the last feature has been
  captured (the reference does not run the head).
* **Features of other ranks.** Token features (B, N, D) are treated as (B*N) x D and vectors
  (B, D) as B x D wherever the (B, C, H, W) formulas below flatten positions; a zcnas
  generalisation for transformers and MLP blocks (the reference has only 4-D features).
* **Expressivity** of one feature F (B, C, H, W): X = F as (B*H*W) x C, centred per channel;
  Sigma = X^T X / (B*H*W); lambda = eigvalsh(Sigma); p = lambda / sum(lambda);
  e(F) = -sum p * log(p + 1e-8). ``az_expressivity`` = sum_i e(F_i).
* **Progressivity**: ``az_progressivity`` = min_i [e(F_i) - e(F_{i-1})], i = 1..L-1.
* **Trainability**: for i = L-1 down to 1, a Rademacher g_out (+-1, via Bernoulli(0.5) from
  ``ctx.generator(SALT_RADEMACHER)``) shaped like F_i and g_in = (dF_i/dF_{i-1})^T g_out (one
  vector-Jacobian product, graph freed as it goes). If g_in equals g_out exactly (an identity
  block) the block scores -inf. Otherwise, if the spatial size shrank, g_in is pixel-unshuffled
  by the stride H_in / H_out; M = g_in^T g_out / (B*H*W) (C_in' x C_out, transposed if it has
  fewer rows than columns), s = sigma_max(M) and the block scores -s - 1/(s + 1e-6) + 2 (at most
  0, reached at s = 1). ``az_trainability`` = the mean of the block scores (-inf if any is).
* **Complexity**: ``az_complexity`` = FLOPs, counted by :func:`zcnas.spaces.nb201.count_flops`
  (multiply-accumulates of every Conv2d and Linear, in millions) for one input of the batch's
  shape, on a copy of the model. The reference takes NB201's FLOPs from the NATS-Bench API,
  whose counter (xautodl) also counts Conv2d and Linear only; the two differ by the
  classifier's bias, which xautodl charges (1e-5 M for 10 classes), a constant offset that
  leaves ranks unchanged. In its MobileNetV2 space the reference counts the model's own FLOPs,
  as here.

All four are **higher = better** as the reference ranks them (no sign flips). NaN policy, as
the reference: a NaN component (e.g. an all-zero feature gives 0/0 in p, or float32 eigvalsh
returns an eigenvalue below -1e-8 * sum(lambda), so log(p + 1e-8) is NaN) is returned as -inf,
the lowest rank for that component; -inf from an identity block is kept. The spectral
computations run in the features' dtype (float32 for a float32 model), as in the reference.
**Flavors ``aznas64`` / ``data64``** (a zcnas departure, not a reference): the covariance and
the gradient product are formed and decomposed in float64 from the same float32 features.
The float32 policy makes a rank-deficient feature -inf: a stem ``Conv(3 -> C, 3x3) -> BN``
without a ReLU has rank at most 27, so in every DARTS/NB301 network (stem 3C = 96 channels)
float32 ``eigvalsh`` returns negative eigenvalues below -1e-8 * sum, the log is NaN and
``az_expressivity`` / ``az_progressivity`` are -inf for all networks; in float64 those
eigenvalues are within rounding of 0 and the entropy is the finite value it is in exact
arithmetic (p log p -> 0 at p = 0).

Departures: the pass always runs the whole batch at once (BN batch statistics; ``max_chunk`` is
not used). The registered scores are per-architecture; the AZ-NAS score itself is relative to a
pool of candidates: :func:`aznas_score`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from zcnas.exceptions import ZcnasError
from zcnas.proxies.base import PassContext, Proxy, register

__all__ = [
    "COMPONENTS",
    "SALT_INIT",
    "SALT_INPUT",
    "SALT_RADEMACHER",
    "aznas_components",
    "aznas_score",
    "find_feature_modules",
]

#: Column order of :func:`aznas_score`'s input (and the proxies ``az_<component>``).
COMPONENTS: tuple[str, ...] = ("expressivity", "progressivity", "trainability", "complexity")
#: Salts of ``ctx.generator`` for the Kaiming re-initialisation, the Gaussian input and the
#: Rademacher output gradients.
SALT_INIT = 2_150_001
SALT_INPUT = 2_150_002
SALT_RADEMACHER = 2_150_003

#: Flavors: the input (``aznas`` Gaussian, ``data`` the batch) and, with the ``64`` suffix,
#: the spectral computations in float64 (see the module docstring).
FLAVORS = ("aznas", "data", "aznas64", "data64")


class _StopForward(Exception):
    """Raised by the last feature hook to end the forward pass early."""


def kaiming_fan_in_init(model: nn.Module, generator: torch.Generator) -> None:
    """The reference's ``kaiming_norm_fanin`` initialisation, in place, drawing from ``generator``.

    Conv2d and Linear weights: Kaiming-normal (fan_in, relu), biases zero; affine BatchNorm /
    GroupNorm: weight 1, bias 0. Modules in ``model.modules()`` order.
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                w = m.weight
                tmp = torch.empty(w.shape, dtype=w.dtype)  # draw on the CPU generator
                nn.init.kaiming_normal_(
                    tmp, mode="fan_in", nonlinearity="relu", generator=generator
                )
                w.copy_(tmp)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm | nn.GroupNorm):
                if m.affine:
                    m.weight.fill_(1.0)
                    m.bias.zero_()


def _resolve_spec(spec: Any, owner: nn.Module, target: nn.Module) -> list[str]:
    """Names (in ``target``) of a feature-module spec given in terms of ``owner``'s modules."""
    if isinstance(spec, str | nn.Module) and not isinstance(spec, nn.ModuleList | nn.Sequential):
        raise ZcnasError(
            "feature_modules must be a sequence of submodule names or submodules, "
            f"got {type(spec).__name__}"
        )
    try:
        items = list(spec)
    except TypeError:
        raise ZcnasError(
            f"feature_modules must be a sequence of submodule names or submodules, got {spec!r}"
        ) from None
    names_by_id = {id(m): n for n, m in owner.named_modules()}
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            name = item
        elif isinstance(item, nn.Module):
            if id(item) not in names_by_id:
                raise ZcnasError(
                    f"feature_modules: {type(item).__name__} module is not a submodule of the model"
                )
            name = names_by_id[id(item)]
        else:
            raise ZcnasError(
                f"feature_modules entries must be names or modules, got {type(item).__name__}"
            )
        try:
            target.get_submodule(name.removeprefix(INPUT_PREFIX))
        except AttributeError:
            raise ZcnasError(f"feature_modules: the model has no submodule {name!r}") from None
        names.append(name)
    if len(set(names)) != len(names):
        raise ZcnasError(f"feature_modules names a module twice: {names}")
    if len(names) < 2:
        raise ZcnasError(
            f"AZ-NAS needs at least 2 feature modules (progressivity and trainability compare "
            f"consecutive features), got {len(names)}"
        )
    return names


def find_feature_modules(model: nn.Module, feature_modules: Any = None) -> list[str]:
    """Names of the modules whose outputs are AZ-NAS's features F_0, F_1, ...

    Args:
        model: the network.
        feature_modules: names or submodules of ``model``; if None, the model's
            ``feature_modules`` attribute; if that is absent too, ``["stem", "cells.0", ...]``
            for a model with a ``stem`` module and a ``cells`` ModuleList (zcnas's NB201).

    Returns:
        Submodule names, as in ``model.named_modules()``.

    Raises:
        ZcnasError: if none can be found or a name/module is not part of ``model``.
    """
    if feature_modules is not None:
        return _resolve_spec(feature_modules, model, model)
    attr = getattr(model, "feature_modules", None)
    if attr is not None:
        return _resolve_spec(attr, model, model)
    stem = getattr(model, "stem", None)
    cells = getattr(model, "cells", None)
    if isinstance(stem, nn.Module) and isinstance(cells, nn.ModuleList) and len(cells) > 0:
        return ["stem", *(f"cells.{i}" for i in range(len(cells)))]
    blocks = find_blocks(model)
    if len(blocks) < 2:
        raise ZcnasError(
            "AZ-NAS needs a chain of blocks whose outputs are compared: none found in "
            f"{type(model).__name__} (no nn.Sequential/nn.ModuleList of blocks); pass "
            "blocks=[submodule names] to score, or set model.feature_modules"
        )
    return [INPUT_PREFIX + blocks[0], *blocks]


#: A feature name with this prefix stands for the *input* of that module (F_0 of found blocks).
INPUT_PREFIX = "input:"


def _has_params(m: nn.Module) -> bool:
    return next(m.parameters(), None) is not None


def _is_block_container(m: nn.Module) -> bool:
    if not isinstance(m, nn.Sequential | nn.ModuleList):
        return False
    kids = list(m.children())
    if len(kids) < 1:
        return False
    leaf_with_params = any(next(k.children(), None) is None and _has_params(k) for k in kids)
    blocks = [k for k in kids if next(k.children(), None) is not None and _has_params(k)]
    return not leaf_with_params and bool(blocks)


def find_blocks(model: nn.Module) -> list[str]:
    """Names of the blocks of a block-structured model (see the module docstring): the
    children of every block container (``nn.Sequential``/``nn.ModuleList`` with no
    parameterised leaf child and at least one child block), outermost first, in module order.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(
    ...     nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU()), nn.Identity(),
    ...     nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU())))
    >>> find_blocks(net)
    ['1.0', '1.1', '1.2']
    """
    found: list[str] = []

    def visit(mod: nn.Module, prefix: str) -> None:
        for name, child in mod.named_children():
            full = f"{prefix}{name}"
            if _is_block_container(child):
                found.extend(f"{full}.{n}" for n, _ in child.named_children())
            else:
                visit(child, full + ".")

    if _is_block_container(model):
        return [n for n, _ in model.named_children()]
    visit(model, "")
    return found


def _features(
    model: nn.Module,
    names: Sequence[str],
    x: torch.Tensor,
    run: Any = None,
) -> list[torch.Tensor]:
    """Outputs of the named modules (inputs for ``input:`` names), in the order they run, from
    one forward (stopped early); ``run(model)`` runs it (default ``model(x)``). An ``input:``
    feature that is the model's input ``x`` itself is dropped (no block maps to it)."""
    modules = [model.get_submodule(n.removeprefix(INPUT_PREFIX)) for n in names]
    captured: list[tuple[int, torch.Tensor]] = []

    def make_hook(k: int):
        def hook(_mod: nn.Module, _inp: Any, out: Any) -> None:
            if names[k].startswith(INPUT_PREFIX):
                out = _inp[0] if isinstance(_inp, tuple) and _inp else None
            if not isinstance(out, torch.Tensor):
                raise ZcnasError(
                    f"AZ-NAS feature module {names[k]!r} returned {type(out).__name__}, "
                    "not a tensor"
                )
            if any(j == k for j, _ in captured):
                raise ZcnasError(f"AZ-NAS feature module {names[k]!r} runs more than once")
            captured.append((k, out))
            if len(captured) == len(modules):
                raise _StopForward

        return hook

    handles = []
    for k, m in enumerate(modules):
        if names[k].startswith(INPUT_PREFIX):
            hk = make_hook(k)
            handles.append(m.register_forward_pre_hook(lambda mod, inp, hk=hk: hk(mod, inp, None)))
        else:
            handles.append(m.register_forward_hook(make_hook(k)))
    try:
        if run is None:
            model(x)
        else:
            run(model)
    except _StopForward:
        pass
    finally:
        for h in handles:
            h.remove()
    if len(captured) != len(modules):
        seen = {k for k, _ in captured}
        missing = [n for k, n in enumerate(names) if k not in seen]
        raise ZcnasError(f"AZ-NAS feature modules never ran in the forward pass: {missing}")
    if names[captured[0][0]].startswith(INPUT_PREFIX) and captured[0][1] is x:
        captured = captured[1:]  # the first block reads the model's input: F_0 = its output
    feats = [t for _, t in captured]
    for (k, _), f in zip(captured, feats, strict=True):
        if f.dim() not in (2, 3, 4):
            raise ZcnasError(
                "AZ-NAS features must be (B, C, H, W), (B, N, D) or (B, D); "
                f"{names[k]!r} gave shape {tuple(f.shape)}"
            )
    if len(feats) < 2:
        raise ZcnasError("AZ-NAS needs at least 2 features (consecutive blocks)")
    return feats


def _positions(t: torch.Tensor) -> torch.Tensor:
    """A feature or gradient as (positions, channels): (B*H*W, C), (B*N, D) or (B, D)."""
    if t.dim() == 4:
        b, c, h, w = t.shape
        return t.permute(0, 2, 3, 1).reshape(b * h * w, c)
    return t.reshape(-1, t.shape[-1])


def _entropy(feat: torch.Tensor, float64: bool = False) -> float:
    """Covariance-spectrum entropy e(F) of one feature (in its dtype, or float64),
    positions x channels."""
    x = _positions(feat.detach())
    if float64:
        x = x.double()
    x = x - x.mean(dim=0, keepdim=True)
    sigma = x.t().mm(x) / x.shape[0]
    lam = torch.linalg.eigvalsh(sigma)
    p = lam / lam.sum()
    return float(((-p) * torch.log(p + 1e-8)).sum().item())


def _block_trainability(
    f_out: torch.Tensor, f_in: torch.Tensor, g_out: torch.Tensor, float64: bool = False
) -> float:
    """-s - 1/(s+1e-6) + 2 of one block (or -inf for an identity block); ``float64``: the
    gradient product and its singular values in float64."""
    try:
        (g_in,) = torch.autograd.grad(
            outputs=f_out, inputs=f_in, grad_outputs=g_out, retain_graph=False
        )
    except RuntimeError as exc:
        raise ZcnasError(
            "AZ-NAS trainability: a feature does not depend (differentiably) on the previous "
            f"one; feature modules must be consecutive blocks ({exc})"
        ) from None
    if g_in.shape == g_out.shape and bool(torch.all(g_in == g_out)):
        return -math.inf
    if g_out.dim() != 4 or g_in.dim() != 4:
        gi, go = _positions(g_in), _positions(g_out)
        if float64:
            gi, go = gi.double(), go.double()
        if gi.shape[0] != go.shape[0]:
            raise ZcnasError(
                f"AZ-NAS trainability: block maps {tuple(f_in.shape)} to {tuple(f_out.shape)}; "
                "the positions of input and output gradients do not match"
            )
        mat = gi.t().mm(go) / go.shape[0]
        if mat.shape[0] < mat.shape[1]:
            mat = mat.t()
        s = float(torch.linalg.svdvals(mat).max().item())
        return -s - 1.0 / (s + 1e-6) + 2.0
    bo, co, ho, wo = g_out.shape
    if g_in.shape[2] != ho or g_in.shape[3] != wo:
        stride = int(g_in.shape[2] / ho)
        if stride < 1 or g_in.shape[2] % stride or g_in.shape[3] % stride:
            raise ZcnasError(
                f"AZ-NAS trainability: cannot pixel-unshuffle a {tuple(g_in.shape)} input "
                f"gradient onto a {tuple(g_out.shape)} output"
            )
        g_in = nn.functional.pixel_unshuffle(g_in, stride)
    bi, ci, hi, wi = g_in.shape
    if bi * hi * wi != bo * ho * wo:
        raise ZcnasError(
            f"AZ-NAS trainability: block maps {tuple(f_in.shape)} to {tuple(f_out.shape)}; "
            "the positions of input and output gradients do not match"
        )
    gi = g_in.permute(0, 2, 3, 1).reshape(bi * hi * wi, ci)
    go = g_out.permute(0, 2, 3, 1).reshape(bo * ho * wo, co)
    if float64:
        gi, go = gi.double(), go.double()
    mat = gi.t().mm(go) / (bo * ho * wo)
    if mat.shape[0] < mat.shape[1]:
        mat = mat.t()
    s = float(torch.linalg.svdvals(mat).max().item())
    return -s - 1.0 / (s + 1e-6) + 2.0


def _nan_to_neginf(v: float) -> float:
    return -math.inf if math.isnan(v) else float(v)


def _pass(ctx: PassContext, flavor: str, feature_modules: Any = None) -> dict[str, Any]:
    """Expressivity, progressivity and trainability (and per-block values) from one pass."""
    if flavor not in FLAVORS:
        raise ZcnasError(f"AZ-NAS proxies: unknown flavor {flavor!r}; expected one of {FLAVORS}")
    model = ctx.model_copy()
    if feature_modules is None:
        feature_modules = ctx.blocks
    if feature_modules is not None:
        names = _resolve_spec(feature_modules, ctx.model, model)
    else:
        names = find_feature_modules(model)
    for p in model.parameters():
        p.requires_grad_(True)
    model.train()
    kaiming_fan_in_init(model, ctx.generator(SALT_INIT))
    ref = ctx.inputs
    f64 = flavor.endswith("64")
    if flavor.startswith("aznas"):
        x = torch.randn(tuple(ref.shape), generator=ctx.generator(SALT_INPUT), dtype=ref.dtype)
        x = x.to(ref.device)
    else:
        x = ref.detach()
    with torch.enable_grad():
        feats = _features(model, names, x, run=lambda m: ctx.forward(m, x=x))
        block_e = [_entropy(f, f64) for f in feats]
        gen = ctx.generator(SALT_RADEMACHER)
        block_t: list[float] = [0.0] * (len(feats) - 1)
        t_error: ZcnasError | None = None
        try:
            for i in reversed(range(1, len(feats))):
                f_out, f_in = feats[i], feats[i - 1]
                half = torch.full(tuple(f_out.shape), 0.5, dtype=f_out.dtype)
                g_out = ((torch.bernoulli(half, generator=gen) - 0.5) * 2).to(f_out.device)
                block_t[i - 1] = _block_trainability(f_out, f_in, g_out, f64)
        except ZcnasError as exc:  # trainability's own limits do not take the others down
            t_error = exc
    e = np.asarray(block_e, dtype=np.float64)
    return {
        "expressivity": _nan_to_neginf(float(np.sum(e))),
        "progressivity": _nan_to_neginf(float(np.min(e[1:] - e[:-1]))),
        "trainability": t_error
        if t_error is not None
        else _nan_to_neginf(float(np.mean(np.asarray(block_t, dtype=np.float64)))),
        "block_expressivity": block_e,
        "block_trainability": None if t_error is not None else block_t,
        "feature_modules": list(names),
    }


def _complexity(ctx: PassContext) -> float:
    # Conv2d + Linear multiply-accumulates: the charges of zcnas.spaces.nb201.count_flops
    from zcnas.proxies.naslib import flops_of

    return float(flops_of(ctx, macs_only=True))


def _check(info: Any, flavor: str) -> str | None:
    if flavor.startswith("aznas") and not info.call.primary.is_floating_point():
        return (
            f"flavor {flavor!r} feeds a Gaussian input and the primary input is "
            f"{info.call.primary.dtype}; use flavor 'data'"
        )
    try:
        if info.blocks is not None:
            _resolve_spec(info.blocks, info.model, info.model)
        else:
            find_feature_modules(info.model)
    except ZcnasError as exc:
        return str(exc)
    return None


def aznas_components(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    feature_modules: Any = None,
    seed: int = 0,
    flavor: str = "aznas",
) -> dict[str, Any]:
    """All AZ-NAS components of one model, with the per-block values.

    Args:
        model: the network (not modified).
        inputs: a ``(B, C, H, W)`` batch; with ``flavor="aznas"`` only its shape, dtype and
            device are used (Gaussian input, as the reference), with ``"data"`` its values.
        feature_modules: names or submodules of ``model`` (see :func:`find_feature_modules`).
        seed: seeds the re-initialisation, the Gaussian input and the Rademacher vectors.
        flavor: ``"aznas"``, ``"data"``, ``"aznas64"`` or ``"data64"``.

    Returns:
        A dict with ``expressivity``, ``progressivity``, ``trainability``, ``complexity``
        (floats, higher = better, NaN mapped to -inf), ``block_expressivity`` (e(F_i), i = 0..L-1),
        ``block_trainability`` (block i = 1..L-1, in feature order) and ``feature_modules``.
    """
    ctx = PassContext(model=model, inputs=inputs, seed=seed)
    out = _pass(ctx, flavor, feature_modules)
    if isinstance(out["trainability"], ZcnasError):
        raise out["trainability"]
    out["complexity"] = _complexity(ctx)
    return out


def aznas_score(per_arch_scores: Any) -> np.ndarray:
    """AZ-NAS's final score over a pool: sum over components of log(rank / m) (eq. 12).

    Args:
        per_arch_scores: ``(m, 4)`` array, one row per candidate, columns in :data:`COMPONENTS`
            order (expressivity, progressivity, trainability, complexity); the order does not
            change the result. Ranks are ascending with average ties (higher value = higher
            rank); NaN and -inf rank lowest, as the reference maps NaN to -inf.

    Returns:
        ``(m,)`` float64 scores, higher = better; pool-relative (adding a candidate changes them).

    >>> aznas_score([[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0]]).round(4).tolist()
    [-2.7726, 0.0]
    """
    from zcnas.rankagg import aggregate

    arr = np.asarray(per_arch_scores, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(COMPONENTS):
        raise ZcnasError(
            f"aznas_score needs an (m, 4) array (columns {', '.join(COMPONENTS)}), "
            f"got shape {arr.shape}"
        )
    return aggregate(arr, method="nonlinear", higher_is_better=True, nan_policy="lowest")


def _component_proxy(component: str, doc: str) -> Proxy:
    def compute(ctx: PassContext, flavor: str) -> float:
        value = ctx.cached(("zcnas.aznas.pass", flavor), lambda: _pass(ctx, flavor))[component]
        if isinstance(value, ZcnasError):  # trainability failed alone (see _pass)
            raise value
        return float(value)

    return Proxy(
        name=f"az_{component}",
        compute=compute,
        flavors=FLAVORS,
        needs=frozenset({"blocks"}),
        family="aznas",
        doc=doc,
        check=_check,
    )


def _complexity_compute(ctx: PassContext, flavor: str) -> float:
    if flavor not in FLAVORS:
        raise ZcnasError(f"az_complexity: unknown flavor {flavor!r}; expected one of {FLAVORS}")
    return ctx.cached(("zcnas.aznas.complexity",), lambda: _complexity(ctx))


register(
    _component_proxy(
        "expressivity",
        "AZ-NAS expressivity: sum over the features (stem + every block) of the entropy of the "
        "normalised eigenvalues of the channel covariance, -sum p log(p + 1e-8). Gaussian input, "
        "Kaiming fan_in re-init, train mode (AZ-NAS compute_az_nas_score.py). Higher = better; "
        "NaN -> -inf as the reference.",
    )
)
register(
    _component_proxy(
        "progressivity",
        "AZ-NAS progressivity: min over consecutive features of the increase of the covariance-"
        "spectrum entropy e(F_i) - e(F_{i-1}). Same pass as az_expressivity. Higher = better; "
        "NaN -> -inf as the reference.",
    )
)
register(
    _component_proxy(
        "trainability",
        "AZ-NAS trainability: mean over blocks of -s - 1/(s + 1e-6) + 2, s = spectral norm of "
        "g_in^T g_out / (B*H*W) for a Rademacher output gradient g_out and its VJP g_in "
        "(pixel-unshuffled at reductions); an identity block gives -inf. Higher = better; "
        "NaN -> -inf as the reference.",
    )
)
register(
    Proxy(
        name="az_complexity",
        compute=_complexity_compute,
        flavors=FLAVORS,
        needs=frozenset(),
        family="aznas",
        train_mode=False,
        doc="AZ-NAS complexity: FLOPs (Conv2d + Linear multiply-accumulates, millions, one "
        "input) by zcnas.spaces.nb201.count_flops; the reference reads NB201 FLOPs from the "
        "NATS-Bench API (xautodl's counter, also Conv2d + Linear only, plus the classifier "
        "bias: 1e-5 M more). Higher = better (AZ-NAS prefers networks that use the budget).",
    )
)
