"""How the engine calls a user's model: inputs, outputs, activations and the probe.

Everything the proxies need to know about a model they did not build comes from here:

* :class:`ModelInputs`: ``inputs`` as one tensor (``model(x)``), a tuple (``model(*inputs)``)
  or a dict (``model(**inputs)``). The first tensor (in order) is the *primary* input: it
  gives the batch size, is sliced into chunks with every other tensor whose first dimension
  is the batch, and is the tensor that input-derivative proxies (jacov, epe_nas) differentiate
  and that data-free proxies (synflow, zen, AZ-NAS, TE-NAS linear regions) replace. Floating
  tensors are cast to the model's floating dtype.
* :func:`default_output`: the tensor the proxies read from the model's output: a tensor as
  is; an object with a ``logits`` attribute (Hugging Face outputs, torchvision's
  ``InceptionOutputs``); a dict's ``"logits"`` or ``"out"`` entry (torchvision segmentation),
  else its only tensor; a tuple's or list's first element. Pass ``output_fn`` to ``score``
  for anything else (e.g. ``lambda o: o[1]`` for xautodl's ``(features, logits)``).
* Activations. The **ReLU family** is every leaf module whose type name contains ``"ReLU"``
  (``ReLU``, ``ReLU6``, ``LeakyReLU``, ``PReLU``, ``RReLU``), NASLib's rule for nwot (it hooks
  modules with ``'ReLU' in str(type(module))``, see :func:`is_relu_family`); the code of a
  call is the sign of its input, i.e. of the pre-activation. The ``preact`` generalisation
  instead records the pre-activation of every call of the element-wise activations in
  :data:`PREACT_FUNCTIONS` (module or functional: ``nn.GELU`` and ``F.gelu`` alike), through a
  :class:`torch.overrides.TorchFunctionMode`; gates (``sigmoid``, ``tanh``, ``softmax``) are
  not activation units and are not recorded.
* :func:`probe`: one forward of a private eval-mode copy on at most two samples, recording
  which modules and activations run and with which shapes, so that :func:`zcnas.proxies.applicable`
  can say which proxies apply before any pass runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from zcnas.exceptions import ZcnasError
from zcnas.proxies._copy import module_copy

__all__ = [
    "PREACT_FUNCTIONS",
    "ModelInputs",
    "PreactRecorder",
    "Probe",
    "default_output",
    "is_relu_family",
    "probe",
]

#: Element-wise activation functions whose pre-activation sign the ``preact`` flavors record.
#: ``nn.ReLU6`` calls ``F.hardtanh``; ``nn.ReLU``/``nn.GELU``/... call the functional forms.
PREACT_FUNCTIONS: frozenset[Callable[..., Any]] = frozenset(
    {
        F.relu,
        F.relu_,
        torch.relu,
        torch.relu_,
        F.relu6,
        F.hardtanh,
        F.hardtanh_,
        F.leaky_relu,
        F.leaky_relu_,
        F.prelu,
        F.rrelu,
        F.rrelu_,
        F.elu,
        F.elu_,
        F.selu,
        F.celu,
        F.gelu,
        F.silu,
        F.mish,
        F.hardswish,
        F.softplus,
    }
)


def is_relu_family(module: nn.Module) -> bool:
    """NASLib's nwot rule: a leaf module whose type name contains ``"ReLU"`` (ReLU, ReLU6,
    LeakyReLU, PReLU, RReLU). NASLib hooks ``'ReLU' in str(type(m)) and 'naslib' not in`` it,
    which keeps torch's activations and leaves out its own ``ReLUConvBN`` op; requiring a leaf
    (no submodules) leaves out such composite ops in any codebase."""
    return "ReLU" in type(module).__name__ and next(module.children(), None) is None


def model_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating parameter or buffer (None if it has none)."""
    for t in (*model.parameters(), *model.buffers()):
        if t.is_floating_point():
            return t.dtype
    return None


def model_device(model: nn.Module) -> torch.device | None:
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return None


def _to_tensor(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    return x


@dataclass
class ModelInputs:
    """The model's call arguments, with one primary tensor.

    Attributes:
        args: positional arguments (tensors and anything else, passed through).
        kwargs: keyword arguments.
        key: where the primary tensor is: an ``int`` index into ``args`` or a ``str`` key of
            ``kwargs``.
    """

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    key: int | str = 0

    @classmethod
    def from_user(cls, inputs: Any) -> ModelInputs:
        """Wrap ``inputs`` (a tensor/array, a tuple/list or a dict of them).

        Raises:
            ZcnasError: no tensor in ``inputs``, an empty batch, tensors whose first
                dimensions disagree with the primary's batch, or NaN/inf in a floating input.
        """
        if isinstance(inputs, Mapping):
            kwargs = {str(k): _to_tensor(v) for k, v in inputs.items()}
            keys = [k for k, v in kwargs.items() if isinstance(v, torch.Tensor)]
            if not keys:
                raise ZcnasError("inputs is a dict without any tensor")
            mi = cls(args=(), kwargs=kwargs, key=keys[0])
        elif isinstance(inputs, tuple | list):
            args = tuple(_to_tensor(v) for v in inputs)
            idx = [i for i, v in enumerate(args) if isinstance(v, torch.Tensor)]
            if not idx:
                raise ZcnasError(
                    "inputs is a sequence without any tensor (pass a torch.Tensor, or a "
                    "tuple/dict of tensors for a model with several inputs)"
                )
            mi = cls(args=args, key=idx[0])
        else:
            x = _to_tensor(inputs)
            if not isinstance(x, torch.Tensor):
                raise ZcnasError(
                    "inputs must be a torch.Tensor, a numpy array, or a tuple/dict of them, "
                    f"got {type(inputs).__name__}"
                )
            mi = cls(args=(x,), key=0)
        mi._validate()
        return mi

    # -- access -----------------------------------------------------------------------------

    @property
    def primary(self) -> torch.Tensor:
        """The primary input tensor (gives the batch)."""
        return self.kwargs[self.key] if isinstance(self.key, str) else self.args[self.key]

    @property
    def batch_size(self) -> int:
        return int(self.primary.shape[0])

    @property
    def single(self) -> bool:
        """True when the model takes exactly one tensor argument (``model(x)``)."""
        return len(self.args) == 1 and not self.kwargs and isinstance(self.args[0], torch.Tensor)

    @property
    def float_primary(self) -> bool:
        return self.primary.is_floating_point()

    def tensors(self) -> list[torch.Tensor]:
        vals = list(self.args) + list(self.kwargs.values())
        return [v for v in vals if isinstance(v, torch.Tensor)]

    def _validate(self) -> None:
        x = self.primary
        if x.dim() < 1 or x.shape[0] < 1:
            raise ZcnasError(
                f"the primary input must have a batch dimension with at least one sample, "
                f"got shape {tuple(x.shape)}"
            )
        for t in self.tensors():
            if t.is_complex():
                raise ZcnasError(f"complex inputs are not supported ({t.dtype})")
            if t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all()):
                raise ZcnasError(
                    "inputs contain NaN or infinite values; every proxy would be NaN "
                    "(clean or re-normalise the batch)"
                )

    # -- transforms -------------------------------------------------------------------------

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> ModelInputs:
        """Apply ``fn`` to every tensor."""

        def f(v: Any) -> Any:
            return fn(v) if isinstance(v, torch.Tensor) else v

        return ModelInputs(
            tuple(f(v) for v in self.args), {k: f(v) for k, v in self.kwargs.items()}, self.key
        )

    def to_model(self, model: nn.Module) -> ModelInputs:
        """Moved to the model's device, floating tensors cast to its floating dtype, detached."""
        dev, dt = model_device(model), model_dtype(model)

        def f(t: torch.Tensor) -> torch.Tensor:
            t = t.detach()
            if dev is not None:
                t = t.to(dev)
            if dt is not None and t.is_floating_point() and t.dtype != dt:
                t = t.to(dt)
            return t

        return self.map(f)

    def batch_slice(self, sl: slice) -> ModelInputs:
        """Rows ``sl`` of every tensor whose first dimension is the batch."""
        b = self.batch_size
        return self.map(lambda t: t[sl] if t.dim() >= 1 and t.shape[0] == b else t)

    def with_primary(self, x: torch.Tensor) -> ModelInputs:
        """The same call with the primary tensor replaced by ``x`` (other tensors sliced or
        repeated to ``x``'s batch when it differs)."""
        b, nb = self.batch_size, int(x.shape[0])

        def f(t: torch.Tensor) -> torch.Tensor:
            if nb == b or t.dim() == 0 or t.shape[0] != b:
                return t
            if nb < b:
                return t[:nb]
            reps = math.ceil(nb / b)
            return t.repeat(reps, *([1] * (t.dim() - 1)))[:nb]

        out = self.map(f)
        if isinstance(self.key, str):
            out.kwargs[self.key] = x
        else:
            args = list(out.args)
            args[self.key] = x
            out.args = tuple(args)
        return out

    def call(self, model: nn.Module) -> Any:
        return model(*self.args, **self.kwargs)


def default_output(out: Any) -> torch.Tensor:
    """The tensor the proxies read from a model's output (see the module docstring).

    Raises:
        ZcnasError: no tensor can be recognised; pass ``output_fn`` to ``score``.
    """
    if isinstance(out, torch.Tensor):
        return out
    logits = getattr(out, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(out, Mapping):
        for k in ("logits", "out"):
            if isinstance(out.get(k), torch.Tensor):
                return out[k]
        tensors = [v for v in out.values() if isinstance(v, torch.Tensor)]
        if len(tensors) == 1:
            return tensors[0]
        raise ZcnasError(
            f"the model returned a dict with keys {sorted(map(str, out))} and no 'logits' or "
            "'out' entry: pass output_fn=lambda o: o['<key>'] to choose the tensor to score"
        )
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise ZcnasError(
        f"cannot find the output tensor in a {type(out).__name__} returned by the model: pass "
        "output_fn= (a function from the model's output to the tensor to score)"
    )


class PreactRecorder(TorchFunctionMode):
    """Records the pre-activation of every call of a :data:`PREACT_FUNCTIONS` activation.

    ``calls`` gets ``fn(input)`` per call (by default the boolean code ``input > 0`` as
    ``(B, units)``), taken before the call so in-place activations are seen unmodified.
    """

    def __init__(self, fn: Callable[[torch.Tensor], Any] | None = None) -> None:
        super().__init__()
        self.fn = fn or (lambda x: (x.detach() > 0).reshape(x.shape[0], -1))
        self.calls: list[Any] = []
        self.names: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in PREACT_FUNCTIONS and args and isinstance(args[0], torch.Tensor):
            x = args[0]
            if x.dim() >= 1:
                self.calls.append(self.fn(x))
                self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **kwargs)


@dataclass
class Probe:
    """What one eval-mode forward on at most two samples showed about the model.

    Attributes:
        output_shape: shape of the output tensor (after ``output_fn``), batch first.
        relu_family_inputs: input shapes of every ReLU-family module call.
        preact_calls: number of element-wise activation calls (modules or functional).
        functional_only: activation calls not made by a ReLU-family module (e.g. GELU).
        bn_min_values: smallest number of values per channel per sample seen by a BatchNorm
            (1 means train mode needs at least 2 samples); None without BN.
        global_pool_ran: an ``nn.AdaptiveAvgPool2d`` ran.
        ran: names of every module that ran, in ``named_modules()`` terms.
        multi_call: names of modules that ran more than once (shared modules).
    """

    output_shape: tuple[int, ...]
    relu_family_inputs: list[tuple[int, ...]]
    preact_calls: int
    functional_only: int
    bn_min_values: int | None
    global_pool_ran: bool
    ran: list[str]
    multi_call: list[str]

    def relu_4d_inputs(self, square: bool = False) -> bool:
        """Whether a ReLU-family module ran on a 4-D (B, C, H, W) input (with H == W)."""
        return any(len(s) == 4 and (not square or s[-1] == s[-2]) for s in self.relu_family_inputs)


def probe(
    model: nn.Module, inputs: ModelInputs, output_fn: Callable[[Any], Any] | None = None
) -> Probe:
    """Run a private eval-mode copy of ``model`` on at most two samples under ``no_grad``.

    Raises:
        ZcnasError: the forward fails (message includes the model's exception) or the output
            is not a tensor with the batch as its first dimension.
    """
    net = module_copy(model).eval()
    n = min(2, inputs.batch_size)
    sub = inputs.batch_slice(slice(0, n))
    names = {id(m): name for name, m in net.named_modules()}
    counts: dict[str, int] = {}
    relu_inputs: list[tuple[int, ...]] = []
    bn_vals: list[int] = []
    pooled = [False]

    def hook(mod: nn.Module, inp: Any, _out: Any) -> None:
        name = names.get(id(mod), "?")
        counts[name] = counts.get(name, 0) + 1
        x = inp[0] if isinstance(inp, tuple) and inp and isinstance(inp[0], torch.Tensor) else None
        if x is None:
            return
        if is_relu_family(mod):
            relu_inputs.append(tuple(x.shape))
        if isinstance(mod, nn.modules.batchnorm._BatchNorm) and x.dim() >= 2:
            bn_vals.append(int(x[0:1, 0:1].numel()))
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            pooled[0] = True

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    rec = PreactRecorder(fn=lambda x: None)
    try:
        with torch.no_grad(), rec:
            out = sub.call(net)
    except ZcnasError:
        raise
    except Exception as exc:  # the user's model failed: say so, with its own message
        raise ZcnasError(
            f"the model's forward failed on the inputs ({type(exc).__name__}: {exc}); "
            "check the input shape/dtype, or pass inputs as a tuple/dict for several arguments"
        ) from exc
    finally:
        for h in handles:
            h.remove()
    y = (output_fn or default_output)(out)
    if not isinstance(y, torch.Tensor):
        raise ZcnasError(f"output_fn must return a tensor, got {type(y).__name__}")
    if y.dim() < 1 or y.shape[0] != n:
        raise ZcnasError(
            f"the model's output {tuple(y.shape)} does not have the batch ({n}) as its first "
            "dimension; pass output_fn= to select a per-sample output"
        )
    return Probe(
        output_shape=(inputs.batch_size, *y.shape[1:]),
        relu_family_inputs=relu_inputs,
        preact_calls=len(rec.calls),
        functional_only=len(rec.calls) - len(relu_inputs),
        bn_min_values=min(bn_vals) if bn_vals else None,
        global_pool_ran=pooled[0],
        ran=list(counts),
        multi_call=sorted(k for k, c in counts.items() if c > 1 and k != ""),
    )
