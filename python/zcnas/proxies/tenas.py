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

Cost and memory: B backward passes per parameter group. The per-sample gradient rows are
kept in the gradients' own dtype (float32: exactly the values the reference concatenates) for
groups of weight tensors holding at most :func:`ntk_memory_mb` MiB of rows (B x P_group x 4
bytes for float32; :data:`NTK_MEMORY_MB` on the CPU, a quarter of the free memory on CUDA,
``$ZCNAS_NTK_MEMORY_MB`` to override), and Theta is accumulated in float64 from column blocks
of the rows converted to float64 (32 MiB at a time), so memory is bounded by that budget plus
one forward's graph (the unchunked rows would be B x P x 4 bytes: 2.9 GB for resnet18 at
B = 64). A model that fits in one group runs exactly the reference's B backward passes; k
groups cost k x B. The rows and Theta stay on the
model's device (a GPU computes the float64 Gram there); only the B x B Theta is copied to the
host for the eigenvalues.

Sign: the reference ranks ``-cond`` (a lower condition number is better), so the registered
score is **-cond, higher = better** (at most -1 for a positive definite Gram). Departures: the
Gram and its eigenvalues are computed in float64 (reference: float32 ``symeig``/``eigh``);
``max_chunk`` is not used (train-mode BN couples the samples).

``tenas_lr`` (needs ReLUs). On a private copy in train mode, default init, forwards without
gradients; forward hooks on every ReLU-family module (type name containing ``"ReLU"``: ReLU,
ReLU6, LeakyReLU, ...) whose input is 4-D record the code [input > 0] in {0, 1} (for
``nn.ReLU`` exactly the reference's sign(ReLU output)), concatenated per sample over the ReLUs
in call order. The score is the number of distinct codes among the samples,
sum_i 1 / #{j : code_j = code_i}; the reference computes it with a float16 matrix product
A (1 - A)^T, hashing bit-packed codes gives the same count exactly. Flavors (the input):

* ``"aznas"`` (default, AZ-NAS's whole-network benchmark): one Gaussian ``N(0, 1)`` batch of
  the shape of ``ctx.inputs`` from ``ctx.generator(SALT_LR_INPUT)``. With B samples the count
  is at most B, and on NB201 it saturates at B for most networks.
* ``"tenas"`` (TE-NAS's own protocol, ``Linear_Region_Collector(input_size=(1000, 1, 3, 3),
  sample_batch=3)``): 3 batches of 1,000 random 3x3 crops of the real batch (random sample and
  position from ``ctx.generator(SALT_LR_CROPS)``), each run as its own forward, the codes of
  the 3,000 crops counted together as the reference's ``LinearRegionCount`` stacks them. The
  reference crops one random channel for its one-channel thin supernet; a model with C input
  channels here gets all C channels of the crop (for C = 1 that is the reference's input).
  The count does not saturate (at most 3,000).
* ``"data"``: ``ctx.inputs``.
* ``"preact"`` (zcnas's generalisation to other activations): as ``"aznas"``, with the codes
  [pre-activation > 0] of every element-wise activation call of any rank, module or functional
  (GELU, SiLU, ...; :func:`zcnas.proxies.passes.preact_codes`).

**Higher = better** (more linear regions), as AZ-NAS ranks it. NaN activations give NaN (as
the reference's sign(NaN) would).

The TE-NAS score itself is pool-relative: :func:`tenas_rank_sum`.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from zcnas import kernels
from zcnas.exceptions import ZcnasError
from zcnas.proxies._copy import module_copy
from zcnas.proxies.base import PassContext, Proxy, register

__all__ = [
    "SALT_LR_INPUT",
    "count_unique_codes",
    "ntk_eigenvalues",
    "ntk_memory_mb",
    "ntk_score_from_eigenvalues",
    "relu_codes",
    "tenas_rank_sum",
]

#: Salt of ``ctx.generator`` for the Gaussian input of ``tenas_lr`` (flavor ``"aznas"``).
SALT_LR_INPUT = 2_140_001
#: Salt of ``ctx.generator`` for the crops of ``tenas_lr`` (flavor ``"tenas"``).
SALT_LR_CROPS = 2_140_002
#: TE-NAS's linear-region protocol: batches of crops, crops per batch, crop side.
LR_CROP_BATCHES, LR_CROPS, LR_CROP_SIZE = 3, 1000, 3
#: Memory budget (MiB) of the per-sample gradient rows (float32) of one NTK parameter group on
#: the CPU (see :func:`ntk_memory_mb` for CUDA and the ``ZCNAS_NTK_MEMORY_MB`` override).
NTK_MEMORY_MB = 512


def _mib(value: Any, name: str) -> float:
    """``value`` as a positive finite number of MiB, or a ZcnasError naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise ZcnasError(f"{name} must be a positive number of MiB, got {value!r}")
    return v


def ntk_memory_mb(device: torch.device | str = "cpu") -> float:
    """Default budget (MiB) of one NTK parameter group's gradient rows on ``device``.

    ``$ZCNAS_NTK_MEMORY_MB`` (a positive number) if set; else on CUDA a quarter of the
    device's free memory, at least :data:`NTK_MEMORY_MB` (one group, B backward passes, for
    any network that fits: the float32 rows of a 30M-parameter NB101 network at B = 30 are
    3.6 GB, 8 groups and 240 passes under 512 MiB); else :data:`NTK_MEMORY_MB`. The budget only
    splits the Gram's sum over parameter groups, so it changes ``tenas_ntk`` at float
    rounding, not more.

    Raises:
        ZcnasError: ``$ZCNAS_NTK_MEMORY_MB`` is not a positive finite number.
    """
    env = os.environ.get("ZCNAS_NTK_MEMORY_MB", "").strip()
    if env:
        return _mib(env, "ZCNAS_NTK_MEMORY_MB")
    dev = torch.device(device)
    if dev.type == "cuda":
        free, _total = torch.cuda.mem_get_info(dev)
        return max(float(NTK_MEMORY_MB), free / 4 / 2**20)
    return float(NTK_MEMORY_MB)


NTK_FLAVORS = ("tenas", "guarded")
LR_FLAVORS = ("aznas", "data", "tenas", "preact")


def _groups(weights: list[torch.Tensor], batch: int, memory_mb: float) -> list[list[int]]:
    """Consecutive groups of weight indices whose B x numel rows (in the weights' dtype) fit
    the budget (a tensor larger than the budget gets a group of its own)."""
    cap = max(1, int(memory_mb * 2**20 / max(1, batch)))  # bytes of one row
    groups: list[list[int]] = [[]]
    size = 0
    for i, w in enumerate(weights):
        nbytes = w.numel() * w.element_size()
        if groups[-1] and size + nbytes > cap:
            groups.append([])
            size = 0
        groups[-1].append(i)
        size += nbytes
    return groups


def _gram64(rows: torch.Tensor, block_mb: float = 32.0) -> torch.Tensor:
    """``rows @ rows.T`` in float64 for a (B, P) matrix, converting column blocks of at most
    ``block_mb`` MiB (as float64) at a time, so a float32 ``rows`` is never copied whole."""
    b, n = rows.shape
    if rows.dtype == torch.float64:
        return rows @ rows.t()
    step = max(1, int(block_mb * 2**20 / (8 * max(1, b))))
    gram = torch.zeros(b, b, dtype=torch.float64, device=rows.device)
    for j in range(0, n, step):
        block = rows[:, j : j + step].to(torch.float64)
        gram += block @ block.t()
    return gram


def ntk_eigenvalues(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    run: Any = None,
    memory_mb: float | None = None,
) -> np.ndarray:
    """Ascending float64 eigenvalues of the empirical NTK Gram G G^T (see module docstring).

    Args:
        model: the network (a deep copy is used).
        inputs: the batch ``(B, ...)``; ``run(net)`` (default ``net(inputs)``) gives the
            output whose per-sample sums are differentiated.
        memory_mb: budget of one parameter group's gradient rows (default
            :func:`ntk_memory_mb` of the output's device).
    """
    b = int(inputs.shape[0])
    if b < 1:
        raise ZcnasError("TE-NAS NTK needs a non-empty batch")
    given = None if memory_mb is None else _mib(memory_mb, "memory_mb")
    net = module_copy(model)
    for p in net.parameters():
        p.requires_grad_(True)
    net.train()
    weights = [p for n, p in net.named_parameters() if "weight" in n]
    if not weights:
        raise ZcnasError("TE-NAS NTK needs parameters whose name contains 'weight'")
    gram: torch.Tensor | None = None  # on the output's device (a GPU keeps its rows)
    with torch.enable_grad():
        out = net(inputs) if run is None else run(net)
        if not isinstance(out, torch.Tensor) or out.dim() < 1 or out.shape[0] != b:
            raise ZcnasError("TE-NAS NTK needs a per-sample output tensor (B, ...)")
        per_sample = out.reshape(b, -1).sum(1)
        budget = ntk_memory_mb(per_sample.device) if given is None else given
        for group in _groups(weights, b, budget):
            ws = [weights[i] for i in group]
            rows: torch.Tensor | None = None
            for i in range(b):
                grads = torch.autograd.grad(per_sample[i], ws, retain_graph=True, allow_unused=True)
                parts = [g.detach().reshape(-1) for g in grads if g is not None]
                row = torch.cat(parts) if parts else per_sample.new_zeros(0)
                if rows is None:  # the group's rows, filled in place: B x P_group, grad dtype
                    rows = torch.empty(b, row.numel(), dtype=row.dtype, device=row.device)
                rows[i] = row
                del grads, parts, row
            assert rows is not None
            part = _gram64(rows)
            gram = part if gram is None else gram + part
            del rows, part
    assert gram is not None
    # only the B x B Gram leaves the device: the Rust symmetric solver, float64
    return kernels.eigvalsh(gram.cpu().numpy())


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


def relu_codes(
    model: nn.Module, inputs: torch.Tensor, *, run: Any = None, preact: bool = False
) -> torch.Tensor:
    """(B, n) float codes [input > 0] over every ReLU-family module with a 4-D input (for
    ``nn.ReLU`` the reference's sign(ReLU output)); ``preact``: [pre-activation > 0] of every
    element-wise activation call of any rank (module docstring).

    The copy of ``model`` runs in train mode under ``no_grad``; ``run(net)`` runs it (default
    ``net(inputs)``).
    """
    from zcnas.proxies.model_io import PreactRecorder, is_relu_family

    net = module_copy(model)
    net.train()
    feats: list[torch.Tensor] = []
    b = inputs.shape[0]

    def hook(_mod: nn.Module, inp: Any, out: torch.Tensor) -> None:
        if isinstance(inp, tuple) and len(inp) > 0 and inp[0].dim() == 4:
            x = inp[0].detach()
            code = torch.where(torch.isnan(x), math.nan, (x > 0).to(torch.float32))
            feats.append(code.reshape(b, -1))  # NaN stays NaN, as sign(NaN) in the reference

    rec = PreactRecorder()
    handles = (
        []
        if preact
        else [m.register_forward_hook(hook) for m in net.modules() if is_relu_family(m)]
    )
    try:
        with torch.no_grad():
            if preact:
                with rec:
                    net(inputs) if run is None else run(net)
                feats = list(rec.calls)
            else:
                net(inputs) if run is None else run(net)
    finally:
        for h in handles:
            h.remove()
    if not feats:
        raise ZcnasError(
            "tenas_lr needs activations: ReLU-family modules applied to 4-D (B, C, H, W) tensors "
            "(flavor 'preact': any element-wise activation)"
        )
    return torch.cat([f.reshape(b, -1).to(torch.float32) for f in feats], dim=1)


def lr_crops(inputs: torch.Tensor, generator: torch.Generator) -> list[torch.Tensor]:
    """TE-NAS's linear-region input: :data:`LR_CROP_BATCHES` batches of :data:`LR_CROPS`
    random :data:`LR_CROP_SIZE` x :data:`LR_CROP_SIZE` crops of ``inputs`` (B, C, H, W), each
    from a random sample and position, all channels kept."""
    if inputs.dim() != 4 or min(inputs.shape[2:]) < LR_CROP_SIZE:
        raise ZcnasError(
            f"tenas_lr flavor 'tenas' crops {LR_CROP_SIZE}x{LR_CROP_SIZE} patches from a "
            f"(B, C, H, W) batch, got {tuple(inputs.shape)}"
        )
    b, _, h, w = inputs.shape
    k = torch.arange(LR_CROP_SIZE)
    out = []
    for _ in range(LR_CROP_BATCHES):
        idx = torch.randint(b, (LR_CROPS,), generator=generator)
        ys = torch.randint(h - LR_CROP_SIZE + 1, (LR_CROPS,), generator=generator)[:, None] + k
        xs = torch.randint(w - LR_CROP_SIZE + 1, (LR_CROPS,), generator=generator)[:, None] + k
        dev = inputs.device
        crops = inputs[idx.to(dev)[:, None, None], :, ys.to(dev)[:, :, None], xs.to(dev)[:, None]]
        out.append(crops.permute(0, 3, 1, 2).contiguous())  # (N, 3, 3, C) -> (N, C, 3, 3)
    return out


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
        ("zcnas.tenas.ntk_eigenvalues",),
        lambda: ntk_eigenvalues(ctx.model, ctx.inputs, run=lambda net: ctx.forward(net)),
    )
    return ntk_score_from_eigenvalues(eig, flavor)


def _lr_compute(ctx: PassContext, flavor: str) -> float:
    if flavor not in LR_FLAVORS:
        raise ZcnasError(f"tenas_lr: unknown flavor {flavor!r}; expected one of {LR_FLAVORS}")

    def run() -> float:
        ref = ctx.inputs
        if flavor == "tenas":
            codes = [
                relu_codes(ctx.model, c, run=lambda net, c=c: ctx.forward(net, x=c))
                for c in lr_crops(ref, ctx.generator(SALT_LR_CROPS))
            ]
            return count_unique_codes(torch.cat(codes))
        if flavor in ("aznas", "preact"):
            gen = ctx.generator(SALT_LR_INPUT)
            x = torch.randn(tuple(ref.shape), generator=gen, dtype=ref.dtype).to(ref.device)
        else:
            x = ref
        codes = relu_codes(
            ctx.model, x, run=lambda net: ctx.forward(net, x=x), preact=flavor == "preact"
        )
        return count_unique_codes(codes)

    return ctx.cached(("zcnas.tenas.lr", flavor), run)


def _lr_check(info: Any, flavor: str) -> str | None:
    x = info.call.primary
    if flavor != "preact" and not info.probe.relu_4d_inputs():
        return (
            "needs ReLU-family modules applied to 4-D (B, C, H, W) tensors, as the reference; "
            "flavor 'preact' counts every activation of any rank"
        )
    if flavor != "data" and not x.is_floating_point():
        return f"flavor {flavor!r} replaces the input with Gaussian noise or crops; use 'data'"
    if flavor == "preact":
        return None
    if flavor == "tenas" and (x.dim() != 4 or min(x.shape[2:]) < LR_CROP_SIZE):
        return f"flavor 'tenas' crops 3x3 patches from (B, C, H, W) images, got {tuple(x.shape)}"
    return None


register(
    Proxy(
        name="tenas_ntk",
        compute=_ntk_compute,
        flavors=NTK_FLAVORS,
        needs=frozenset(),
        min_batch=2,
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
        check=_lr_check,
        doc="TE-NAS linear regions: number of distinct [ReLU input > 0] codes (ReLU family, 4-D "
        "inputs) over a Gaussian batch ('aznas', AZ-NAS's benchmark; saturates at B), TE-NAS's "
        "3 x 1,000 random 3x3 crops ('tenas', its own protocol), the batch ('data'), or the "
        "pre-activation signs of every activation ('preact'); train mode, default init (TENAS "
        "linear_region_counter.py). Higher = better.",
    )
)
