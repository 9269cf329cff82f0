"""The 22 EZNAS statistics of one network, collected with PyTorch hooks.

**Instances.** An instance is three modules that form a chain in the data flow of one forward
pass: ``pattern="relu-conv-bn"`` (RCB, the paper's main structure) is an activation whose output
is the input of a ``Conv2d`` whose output is the input of a ``BatchNorm2d``; ``"conv-bn-relu"``
(CBR, the paper's appendix 8.6) is a ``Conv2d`` feeding a ``BatchNorm2d`` feeding an activation.
Activations are ``nn.ReLU`` and ``nn.ReLU6`` (NAS-Bench-Macro's MobileNetV2 blocks use ReLU6).
Where two convolutions are chained (``Conv-Conv-BN``, e.g. DARTS' separable convolutions),
``double_conv="skip-second"`` (default, as the issue specifies) makes the first conv the
instance's conv and skips the second; ``"skip-first"`` keeps the second, as the reference's
``create_layer_sequence`` does. Instances are ordered by the first call of their first module.

**Terminals** (names in :data:`zcnas.eznas.TERMINALS`), per instance ``(m1, m2, m3)``:

* ``T1`` = the input of ``m1`` (RCB: the ReLU input; CBR: the conv input);
* ``T2`` = the input of ``m2`` (RCB: the conv input = the ReLU output; CBR: the BN input = the
  conv output) -- the reference's positional "preact" (``hookF[3i + 1].input``);
* ``T3`` = the conv weight (``Cout x Cin/groups x kh x kw``), the same for all inputs;
* ``T4`` = the output of ``m3`` (RCB: the BN output; CBR: the activation output);
* ``TkG`` = the gradient of the same tensor; ``T1G`` and ``T2G`` are the gradients *through
  that module only* (what the reference's module backward hooks see: for RCB,
  ``T1G = dL/dReLU_out * 1[ReLU_out > 0]``), ``T4G`` the gradient of the module output, ``T3G``
  the weight gradient.

each for three inputs: ``D`` = the given minibatch, ``N = randn`` of the same shape and
``P = D + sqrt(0.01) * randn`` (the paper's appendix 8.3), so 10 forward tensors and 12
gradients. Activations have shape ``(B, C, H, W)``.

**Passes.** The model is deep-copied (the caller's model is untouched), put in train mode (BN on
batch statistics), every parameter requires grad, in-place activations are made out-of-place
(values are unchanged; it keeps captured tensors intact), and by default re-initialised as the
reference (:func:`zcnas.proxies.eznas.eznas_init`: Kaiming-normal fan_out convs, BN 1/0,
Linear N(0, 0.01)). One forward (and, if a gradient is wanted, one backward) per input kind,
parameter gradients cleared in between. ``gradient="sum-of-logits"`` (default, the reference:
``logits.backward(ones)``, no labels) or ``"cross-entropy"`` (mean cross-entropy with the given
labels; the same labels for N and P). The inputs require grad, as the reference's.

**Randomness.** ``seed`` fixes the re-initialisation and the noise exactly as
:class:`zcnas.proxies.base.PassContext` seeds its generators (``seed * 1_000_003 + salt``):
the re-init uses the salt of :data:`zcnas.proxies.eznas.SALT_INIT` (so the released program
scored on these statistics equals the ``eznas`` proxy), N and then P's noise come from one
generator with :data:`SALT_NOISE`. Both noise tensors are always drawn, so requesting fewer
terminals never changes the values of the others.

**Departures from the reference** (IntelLabs EZNAS ``evol_utilities.py``): instances are found
by data flow instead of by module registration order (no stem/tail trimming is needed, and
models that register modules out of order are handled); for ``P`` the tensors of the perturbed
input itself are returned (the paper's definition) where the reference stores differences from
``D``; an instance whose output does not reach the logits gets zero gradients (the mathematical
value) where the reference drops the layer's statistics; gradients may come from a
cross-entropy loss as an option. A module used more than once in a forward pass (weight
sharing) cannot be part of an instance (:class:`ZcnasError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from zcnas.exceptions import ZcnasError
from zcnas.eznas import GRADIENTS, INPUT_KINDS, PATTERNS, TERMINALS
from zcnas.proxies._copy import module_copy
from zcnas.proxies.base import PassContext
from zcnas.proxies.eznas import SALT_INIT, eznas_init

__all__ = [
    "ACTIVATIONS",
    "GRADIENTS",
    "PATTERNS",
    "PERTURB_STD",
    "SALT_NOISE",
    "Instance",
    "collect_network",
    "find_instances",
    "make_inputs",
    "parse_terminals",
]

#: Module classes that count as the ReLU of an instance.
ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)
#: Standard deviation of the perturbation of P (the paper: ``0.01 ** 0.5``).
PERTURB_STD = 0.01**0.5
#: Salt of the generator of the N and P noise (see the module docstring).
SALT_NOISE = 3_200_002
_DOUBLE_CONV = ("skip-second", "skip-first")


@dataclass(frozen=True)
class Instance:
    """One ReLU-Conv-BN (or Conv-BN-ReLU) instance of a model.

    Attributes:
        modules: ``(m1, m2, m3)`` in data-flow order (RCB: ReLU, Conv2d, BatchNorm2d).
        conv: the instance's ``Conv2d`` (whose weight is T3).
        names: qualified module names of ``modules`` in the model they were found in.
    """

    modules: tuple[nn.Module, nn.Module, nn.Module]
    conv: nn.Conv2d
    names: tuple[str, str, str]


def parse_terminals(terminals: Iterable[str] | None) -> tuple[str, ...]:
    """Validate terminal names; ``None`` means all 22. Returns them in canonical order.

    >>> parse_terminals(["T3", "T1GD"])
    ('T3', 'T1GD')
    """
    if terminals is None:
        return TERMINALS
    if isinstance(terminals, str):
        terminals = [terminals]
    names = set(terminals)
    unknown = names - set(TERMINALS)
    if unknown:
        raise ZcnasError(f"unknown terminals {sorted(unknown)}; expected names from {TERMINALS}")
    if not names:
        raise ZcnasError("no terminal requested")
    return tuple(t for t in TERMINALS if t in names)


def _check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ZcnasError(f"{what} must be one of {list(choices)}, got {value!r}")


def _private_copy(model: nn.Module) -> nn.Module:

    net = module_copy(model)
    for m in net.modules():
        if isinstance(m, ACTIVATIONS) and getattr(m, "inplace", False):
            m.inplace = False
    for p in net.parameters():
        p.requires_grad_(True)
    net.train()
    return net


def _detect(net: nn.Module, x: torch.Tensor, pattern: str, double_conv: str) -> list[Instance]:
    """Instances of ``net`` (already a private copy) from one forward pass on ``x``."""
    names = {m: n for n, m in net.named_modules()}
    kinds = (nn.Conv2d, nn.BatchNorm2d, *ACTIVATIONS)
    events: list[tuple[nn.Module, torch.Tensor | None, torch.Tensor]] = []
    calls: dict[nn.Module, int] = {}

    def hook(mod: nn.Module, inp: tuple[Any, ...], out: Any) -> None:
        calls[mod] = calls.get(mod, 0) + 1
        if isinstance(out, torch.Tensor):
            first = inp[0] if inp and isinstance(inp[0], torch.Tensor) else None
            events.append((mod, first, out))

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    # the events keep every tensor alive, so ids are unique within the pass
    producer = {id(out): k for k, (_, _, out) in enumerate(events)}

    def prod(k: int, cls: type | tuple[type, ...]) -> int | None:
        inp = events[k][1]
        j = producer.get(id(inp)) if inp is not None else None
        return j if j is not None and isinstance(events[j][0], cls) else None

    found: list[tuple[int, tuple[int, int, int], int]] = []  # (first event, events, conv event)
    for k, (mod, _, _) in enumerate(events):
        if pattern == "relu-conv-bn" and isinstance(mod, nn.BatchNorm2d):
            c = prod(k, nn.Conv2d)
            if c is None:
                continue
            c0 = prod(c, nn.Conv2d)
            if c0 is not None:  # Conv-Conv-BN
                r = prod(c0, ACTIVATIONS)
                keep = c0 if double_conv == "skip-second" else c
            else:
                r = prod(c, ACTIVATIONS)
                keep = c
            if r is not None:
                found.append((r, (r, keep, k), keep))
        elif pattern == "conv-bn-relu" and isinstance(mod, ACTIVATIONS):
            b = prod(k, nn.BatchNorm2d)
            c = prod(b, nn.Conv2d) if b is not None else None
            if b is None or c is None:
                continue
            c0 = prod(c, nn.Conv2d)
            keep = c0 if c0 is not None and double_conv == "skip-second" else c
            found.append((keep, (keep, b, k), keep))
    found.sort(key=lambda f: f[0])
    out = []
    for _, evs, conv in found:
        mods = tuple(events[e][0] for e in evs)
        reused = [names.get(m, "?") for m in mods if calls.get(m, 0) > 1]
        if reused:
            raise ZcnasError(
                f"module(s) {reused} run more than once in a forward pass (weight sharing); "
                "EZNAS statistics need each instance's modules to run once"
            )
        out.append(
            Instance(
                modules=mods,  # type: ignore[arg-type]
                conv=events[conv][0],  # type: ignore[arg-type]
                names=tuple(names.get(m, "?") for m in mods),  # type: ignore[arg-type]
            )
        )
    return out


def find_instances(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    pattern: str = "relu-conv-bn",
    double_conv: str = "skip-second",
) -> list[Instance]:
    """The instances EZNAS statistics are collected on (see the module docstring).

    Runs one forward pass on a private copy of ``model``; the returned modules belong to that
    copy, so use :attr:`Instance.names` to locate them in ``model``.

    Args:
        model: a module mapping ``inputs`` to logits.
        inputs: a minibatch ``(B, C, H, W)``.
        pattern: ``relu-conv-bn`` or ``conv-bn-relu``.
        double_conv: ``skip-second`` or ``skip-first`` (Conv-Conv-BN chains).

    Returns:
        The instances in execution order (possibly empty).

    >>> from zcnas.spaces import nb201
    >>> net = nb201.build("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    >>> len(find_instances(net, torch.zeros(1, 3, 32, 32)))  # 15 cells x 1 conv + 2 x 2
    19
    """
    _check_choice("pattern", pattern, PATTERNS)
    _check_choice("double_conv", double_conv, _DOUBLE_CONV)
    x = _check_inputs(inputs)
    return _detect(_private_copy(model), x, pattern, double_conv)


def _check_inputs(inputs: Any) -> torch.Tensor:
    if isinstance(inputs, np.ndarray):
        inputs = torch.from_numpy(inputs)
    if not isinstance(inputs, torch.Tensor):
        raise ZcnasError(f"inputs must be a torch.Tensor, got {type(inputs).__name__}")
    if inputs.dim() != 4 or not inputs.is_floating_point() or inputs.shape[0] < 1:
        raise ZcnasError(
            f"inputs must be a float (B, C, H, W) tensor with B >= 1, got {inputs.dtype} "
            f"{tuple(inputs.shape)}"
        )
    return inputs.detach()


def make_inputs(inputs: torch.Tensor, seed: int = 0) -> dict[str, torch.Tensor]:
    """The three inputs ``{"D": inputs, "N": randn, "P": inputs + sqrt(0.01) * randn}``.

    N is drawn first, then P's noise, from one CPU generator seeded as
    ``PassContext(seed=seed).generator(SALT_NOISE)``.

    >>> x = torch.ones(2, 3, 4, 4)
    >>> i = make_inputs(x, seed=1)
    >>> bool(torch.equal(i["D"], x)), tuple(i["N"].shape)
    (True, (2, 3, 4, 4))
    >>> abs(float((i["P"] - x).std()) - 0.1) < 0.05
    True
    """
    x = _check_inputs(inputs)
    g = _generator(seed, SALT_NOISE)
    noise = torch.randn(x.shape, generator=g, dtype=x.dtype).to(x.device)
    pert = torch.randn(x.shape, generator=g, dtype=x.dtype).to(x.device)
    return {"D": x, "N": noise, "P": x + PERTURB_STD * pert}


def _generator(seed: int, salt: int) -> torch.Generator:
    ctx = PassContext(model=nn.Identity(), inputs=torch.zeros(1), seed=int(seed))
    return ctx.generator(salt)


def _run_pass(
    net: nn.Module,
    instances: list[Instance],
    x: torch.Tensor,
    fwd: set[str],
    grads: set[str],
    gradient: str,
    labels: torch.Tensor | None,
) -> list[dict[str, torch.Tensor]]:
    """One forward (+ backward) pass; per instance the wanted ``T1 T2 T4 T1G T2G T3G T4G``."""
    want_grad = bool(grads)
    vals: list[dict[str, torch.Tensor]] = [{} for _ in instances]
    keep: list[dict[str, torch.Tensor]] = [{} for _ in instances]  # tensors whose .grad we read
    handles = []

    def pre(k: int, term: str, with_grad: bool):
        def hook(mod: nn.Module, args: tuple[Any, ...]) -> Any:
            if term in vals[k]:
                raise ZcnasError(f"instance {k}: {instances[k].names} ran twice in one pass")
            t = args[0]
            vals[k][term] = t.detach().clone()
            if with_grad and t.requires_grad:
                alias = t.view_as(t)  # only this module consumes it: grad through it only
                alias.retain_grad()
                keep[k][term] = alias
                return (alias, *args[1:])
            return None

        return hook

    def post(k: int, with_grad: bool):
        def hook(mod: nn.Module, args: tuple[Any, ...], out: torch.Tensor) -> None:
            vals[k]["T4"] = out.detach().clone()
            if with_grad and out.requires_grad:
                out.retain_grad()
                keep[k]["T4"] = out

        return hook

    for k, inst in enumerate(instances):
        m1, m2, m3 = inst.modules
        for term, mod in (("T1", m1), ("T2", m2)):
            if term in fwd or f"{term}G" in grads:
                handles.append(mod.register_forward_pre_hook(pre(k, term, f"{term}G" in grads)))
        if "T4" in fwd or "T4G" in grads:
            handles.append(m3.register_forward_hook(post(k, "T4G" in grads)))
    for p in net.parameters():
        p.grad = None
    try:
        with torch.set_grad_enabled(want_grad):
            xin = x.detach().clone().requires_grad_(want_grad)
            logits = net(xin)
            if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
                raise ZcnasError(
                    "EZNAS statistics need a model returning (B, classes) logits, got "
                    f"{getattr(logits, 'shape', type(logits))}"
                )
            if want_grad:
                if gradient == "sum-of-logits":
                    # = logits.backward(ones) of the reference; a scalar backward avoids
                    # torch's symbolic-shape machinery (a 10+ s import on first use)
                    logits.sum().backward()
                else:
                    assert labels is not None
                    nn.functional.cross_entropy(logits, labels).backward()
    finally:
        for h in handles:
            h.remove()
    out: list[dict[str, torch.Tensor]] = []
    for k, inst in enumerate(instances):
        d: dict[str, torch.Tensor] = {}
        for term in ("T1", "T2", "T4"):
            if term in fwd:
                if term not in vals[k]:
                    raise ZcnasError(f"instance {k} {inst.names} did not run in the forward pass")
                d[term] = vals[k][term]
            if f"{term}G" in grads:
                t = keep[k].get(term)
                g = t.grad if t is not None else None
                zero = torch.zeros_like(vals[k][term])
                d[f"{term}G"] = g.detach().clone() if g is not None else zero
        if "T3G" in grads:
            g = inst.conv.weight.grad
            d["T3G"] = g.detach().clone() if g is not None else torch.zeros_like(inst.conv.weight)
        out.append(d)
    return out


def collect_network(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    pattern: str = "relu-conv-bn",
    terminals: Iterable[str] | None = None,
    seed: int = 0,
    gradient: str = "sum-of-logits",
    labels: torch.Tensor | None = None,
    init: str | None = "eznas",
    double_conv: str = "skip-second",
) -> list[dict[str, np.ndarray]]:
    """The EZNAS statistics of every instance of ``model`` (see the module docstring).

    Args:
        model: maps ``inputs`` to ``(B, classes)`` logits; not modified (a private copy is used).
        inputs: the real minibatch D, ``(B, C, H, W)`` float (already normalised). The paper
            evolves on batch 1.
        pattern: ``relu-conv-bn`` (default) or ``conv-bn-relu``.
        terminals: names from :data:`zcnas.eznas.TERMINALS` to collect (default all 22); only
            the passes they need are run (e.g. ``["T1GD"]`` runs one forward/backward on D).
        seed: seed of the re-initialisation and of the N / P noise.
        gradient: ``sum-of-logits`` (the reference) or ``cross-entropy`` (needs ``labels``).
        labels: ``(B,)`` class indices for ``cross-entropy``.
        init: ``"eznas"`` (re-initialise as the reference) or None (keep the model's weights).
        double_conv: ``skip-second`` (default) or ``skip-first`` for Conv-Conv-BN chains.

    Returns:
        One dict per instance, in execution order, mapping each requested terminal name to a
        C-contiguous numpy array (the model's dtype, float32 for zcnas' spaces). Empty if the
        model has no instance.

    Raises:
        ZcnasError: bad arguments, a model not returning logits, or shared modules.

    >>> from zcnas.spaces import nb201
    >>> net = nb201.build("|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    >>> st = collect_network(net, torch.randn(1, 3, 32, 32), terminals=["T1D", "T3"])
    >>> len(st), st[0]["T1D"].shape, st[0]["T3"].shape
    (19, (1, 16, 32, 32), (16, 16, 1, 1))
    """
    _check_choice("pattern", pattern, PATTERNS)
    _check_choice("gradient", gradient, GRADIENTS)
    _check_choice("double_conv", double_conv, _DOUBLE_CONV)
    if init not in ("eznas", None):
        raise ZcnasError(f"init must be 'eznas' or None, got {init!r}")
    if not isinstance(model, nn.Module):
        raise ZcnasError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    names = parse_terminals(terminals)
    x = _check_inputs(inputs)
    param = next(model.parameters(), None)
    if param is not None:
        x = x.to(device=param.device)
    if gradient == "cross-entropy":
        if labels is None:
            raise ZcnasError("gradient='cross-entropy' needs labels")
        labels = torch.as_tensor(labels).long().to(x.device)
        if labels.shape != (x.shape[0],):
            raise ZcnasError(f"labels must have shape ({x.shape[0]},), got {tuple(labels.shape)}")
    net = _private_copy(model)
    if init == "eznas":
        eznas_init(net, _generator(seed, SALT_INIT))
    instances = _detect(net, x, pattern, double_conv)
    if not instances:
        return []
    ins = make_inputs(x, seed)
    result: list[dict[str, np.ndarray]] = [{} for _ in instances]
    for kind in INPUT_KINDS:
        fwd = {n[:2] for n in names if n[-1] == kind and "G" not in n}
        grads = {n[:3] for n in names if n[-1] == kind and "G" in n}
        if not fwd and not grads:
            continue
        per = _run_pass(net, instances, ins[kind], fwd, grads, gradient, labels)
        for k, d in enumerate(per):
            for base, t in d.items():
                result[k][f"{base}{kind}"] = t
    if "T3" in names:
        for k, inst in enumerate(instances):
            result[k]["T3"] = inst.conv.weight.detach().clone()
    return [{n: np.ascontiguousarray(d[n].cpu().numpy()) for n in names} for d in result]
