"""EZNAS programs: expression trees over the 22 terminals, as objects that print, save, load
and score networks.

A program is a formula such as ``FrobeniusNorm(Sigmoid(LogDet(Sign(T1GD))))`` over the
terminals of :data:`zcnas.eznas.TERMINALS` and the 34 operations of the paper's Table 5
(:data:`OPERATIONS`). It is applied to every instance (ReLU-Conv-BN block) of a network;
``to_scalar`` (``"mean"``, the paper's EZNAS-A, or ``"l2"``) turns the output tensor into a
number, and the network score is the mean over instances, multiplied by ``sign``.
**Higher scores mean better predicted accuracy** for a program found with signed Kendall tau
(the default); a program evolved with ``|tau|`` that turned out anti-correlated carries
``sign = -1`` so that higher is still better. A program that fails on an instance (shapes that
do not fit its operations) or gives a non-finite value scores NaN.

Numeric semantics (shared by the Rust interpreter and :mod:`zcnas.eznas.reference`):

* Shapes follow PyTorch, as the reference implementation did: element-wise binary operations
  broadcast; ``MatMul`` is ``torch.matmul``; reductions (norms, sums, ``Hamming``, ``KLDiv``,
  ``CosineSimilarity``, eigen ratios) give 0-d tensors; ``Numel`` gives shape ``(1,)``.
* ``Log`` maps values ``<= 0`` to 1 first, ``AbsLog`` maps 0 to 1 first; ``Normalize`` is
  ``(A - mean) / std`` with torch's unbiased std and NaN replaced by 0; ``Invert(0) = inf``;
  comparisons with NaN are false.
* ``Det``/``LogDet`` act on each trailing ``n x n`` matrix (``(..., n, n) -> (...)``). A matrix
  whose LU pivot is at most ``1e-9 * max|a|`` is *singular*: ``Det`` 0, ``LogDet`` -inf (so
  ``Sigmoid(LogDet(.))`` is 0). ``LogDet`` of a negative determinant or of NaN is 0 (the
  table's ``C[C!=C] = 0``).
* ``SymEigRatio``/``EigRatio``: ``e_max / e_min`` of ``A Aᵀ + (A Aᵀ)ᵀ`` resp. ``A Aᵀ`` with ``A``
  reshaped to ``(shape[0], -1)``, eigenvalues ascending and those within ``1e-9 max|e|`` of 0
  set to 0 (a rank-deficient matrix gives inf, hence an invalid program rather than a
  rounding-noise number). Departure: the reference's ``EigRatio`` used ``torch.eig`` whose
  eigenvalue order is LAPACK's (unsorted, and the function is gone from PyTorch); with sorted
  eigenvalues the two ratios coincide mathematically.
* ``KLDiv(A, B) = KLDivLoss('batchmean')(A, B)``, ``CosineSimilarity`` sums the row-wise
  cosines (``eps = 1e-8``), ``Softmax`` uses torch's implicit dimension (0 for 0-, 1- and 3-d
  tensors, else 1), ``Hamming`` counts differing Heaviside bits.
* Arithmetic is float64 (statistics stored as float32/float16 are widened).

The paper's released program is :data:`EZNAS_A`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zcnas import _native
from zcnas.exceptions import ZcnasError

#: ``(name, arity)`` of the 34 operations, in the order of the paper's Table 5.
OPERATIONS: tuple[tuple[str, int], ...] = tuple(_native.eznas_ops())

#: JSON format tag of saved programs.
FORMAT = "zcnas-eznas-program"

_INFIX = {"Add": "+", "Sub": "-", "Mul": "*", "MatMul": "@", "Lt": "<", "Gt": ">", "Eq": "=="}
_TO_SCALAR = ("mean", "l2")


def _finite(name: str, value: Any) -> float:
    """``value`` as a finite float, or a ZcnasError naming ``name`` (huge integers included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ZcnasError(f"program {name} must be a number, got {type(value).__name__}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise ZcnasError(f"program {name} must be a finite number, got {str(value)[:40]}")
    return x


def json_object(data: str | Mapping[str, Any], what: str) -> Mapping[str, Any]:
    """The JSON object of a saved program (text or an already parsed dict) that has an
    ``expr``; ZcnasError (naming ``what``) for text that is not JSON or nested too deeply."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as e:
            raise ZcnasError(f"invalid {what} JSON: {type(e).__name__}: {e}") from None
    if not isinstance(data, Mapping) or "expr" not in data:
        raise ZcnasError(f"a {what} JSON object needs an 'expr' field")
    return data


def common_fields(data: Mapping[str, Any], what: str) -> tuple[str | None, float | None, dict]:
    """``(name, fitness, meta)`` of a program JSON object, checked: text, a finite number
    (or null), an object."""
    fitness = data.get("fitness")
    if fitness is not None:
        fitness = _finite("fitness", fitness)
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise ZcnasError(f"{what} name must be text, got {type(name).__name__}")
    meta = data.get("meta", {})
    if not isinstance(meta, Mapping):
        raise ZcnasError(f"{what} meta must be an object, got {type(meta).__name__}")
    return name, fitness, dict(meta)


def put_common_fields(
    d: dict[str, Any], name: str | None, fitness: float | None, meta: Mapping[str, Any]
) -> dict[str, Any]:
    """Add the optional ``name``, ``fitness`` and ``meta`` fields to a program's JSON dict."""
    if name is not None:
        d["name"] = name
    if fitness is not None:
        d["fitness"] = float(fitness)
    if meta:
        d["meta"] = dict(meta)
    return d


def read_program_text(path: str | os.PathLike[str], what: str) -> str:
    """The UTF-8 text of a saved program; ZcnasError when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ZcnasError(f"cannot read {what} {path}: {e}") from None
    except UnicodeDecodeError:
        raise ZcnasError(f"{what} {path} is not a UTF-8 text (JSON) file") from None


def _terminal_names() -> tuple[str, ...]:
    from zcnas.eznas import TERMINALS

    return TERMINALS


@dataclass(frozen=True)
class Program:
    """An EZNAS program (see the module documentation for its semantics).

    Args:
        expr: the formula in call syntax, e.g. ``"Add(T1D, Sign(T3))"``; it is parsed and
            stored in canonical form.
        to_scalar: ``"mean"`` (default) or ``"l2"``.
        sign: ``+1`` or ``-1``, multiplies the network score.
        name: an optional name (e.g. ``"EZNAS-A"``).
        fitness: the search fitness, when the program comes from
            :func:`zcnas.eznas.evolution.evolve`.
        meta: free-form metadata saved with the program.

    >>> p = Program("Add(T1D, Sign(T3GD))")
    >>> str(p)
    'mean((T1D + Sign(T3GD)))'
    >>> sorted(p.terminals)
    ['T1D', 'T3GD']
    >>> Program.from_json(p.to_json()) == p
    True
    """

    expr: str
    to_scalar: str = "mean"
    sign: float = 1.0
    name: str | None = None
    fitness: float | None = field(default=None, compare=False)
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.expr, str):
            raise ZcnasError(f"expr must be a string, got {type(self.expr).__name__}")
        canonical, height, term_ids, n_nodes = _native.eznas_parse(self.expr)
        object.__setattr__(self, "expr", canonical)
        object.__setattr__(self, "_height", height)
        object.__setattr__(self, "_n_nodes", n_nodes)
        names = _terminal_names()
        object.__setattr__(self, "_terminals", frozenset(names[i] for i in term_ids))
        if self.to_scalar not in _TO_SCALAR:
            raise ZcnasError(f"to_scalar must be 'mean' or 'l2', got {self.to_scalar!r}")
        if self.sign not in (1, -1, 1.0, -1.0):
            raise ZcnasError(f"sign must be +1 or -1, got {self.sign!r}")
        object.__setattr__(self, "sign", float(self.sign))

    @property
    def terminals(self) -> frozenset[str]:
        """Names of the terminals the program reads (only these need collecting)."""
        return self._terminals  # type: ignore[attr-defined,no-any-return]

    @property
    def height(self) -> int:
        """Tree height as DEAP counts it (a lone terminal has height 0)."""
        return self._height  # type: ignore[attr-defined,no-any-return]

    @property
    def size(self) -> int:
        """Number of nodes."""
        return self._n_nodes  # type: ignore[attr-defined,no-any-return]

    def formula(self) -> str:
        """The tree with infix arithmetic, e.g. ``(T1D + Sign(T3GD))``."""
        from zcnas.eznas.reference import parse

        def fmt(t: Any) -> str:
            if isinstance(t, str):
                return t
            op, args = t
            if op in _INFIX:
                return f"({fmt(args[0])} {_INFIX[op]} {fmt(args[1])})"
            return f"{op}({', '.join(fmt(a) for a in args)})"

        return fmt(parse(self.expr))

    def __str__(self) -> str:
        return f"{'-' if self.sign < 0 else ''}{self.to_scalar}({self.formula()})"

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``format``, ``version``, ``expr``, ``to_scalar``, ``sign``, ...)."""
        d: dict[str, Any] = {
            "format": FORMAT,
            "version": 1,
            "expr": self.expr,
            "formula": str(self),
            "to_scalar": self.to_scalar,
            "sign": self.sign,
            "terminals": sorted(self.terminals),
        }
        return put_common_fields(d, self.name, self.fitness, self.meta)

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any]) -> Program:
        """A program from JSON text or a dict written by :meth:`to_json`.

        Raises:
            ZcnasError: the text is not JSON (or nested too deeply to read), or a field has
                the wrong type: ``expr``/``name`` text, ``fitness`` a finite number or null,
                ``meta`` an object.
        """
        data = json_object(data, "program")
        if data.get("format", FORMAT) != FORMAT:
            raise ZcnasError(f"not a program file: format {data.get('format')!r}")
        name, fitness, meta = common_fields(data, "program")
        return cls(
            expr=data["expr"],
            to_scalar=data.get("to_scalar", "mean"),
            sign=data.get("sign", 1.0),
            name=name,
            fitness=fitness,
            meta=meta,
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` to ``path``."""
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Program:
        """Read a program saved by :meth:`save`."""
        return cls.from_json(read_program_text(path, "program"))

    # --- evaluation ------------------------------------------------------------------------
    def evaluate(self, instances: Sequence[Mapping[str, Any]]) -> float:
        """Network score on per-instance statistics (``{terminal name: array}``); higher is
        better. Only the terminals in :attr:`terminals` are read. NaN if invalid."""
        return float(evaluate_many([self], instances)[0])

    def evaluate_tensor(self, instance: Mapping[str, Any]) -> np.ndarray:
        """The raw output tensor on one instance (no ``to_scalar``, no sign); raises
        :class:`~zcnas.exceptions.ZcnasError` where an operation cannot be applied."""
        return _native.eznas_eval_tensor(self.expr, _instance(instance, self.terminals))


def _instance(inst: Mapping[str, Any], needed: frozenset[str] | set[str]) -> dict[str, np.ndarray]:
    out = {}
    for name in needed:
        if name not in inst:
            raise ZcnasError(f"the instance has no terminal {name!r}")
        out[name] = np.asarray(inst[name], dtype=np.float64, order="C")
    return out


def evaluate_many(
    programs: Sequence[Program], instances: Sequence[Mapping[str, Any]]
) -> np.ndarray:
    """Network scores of several programs on one network's instances (signs applied)."""
    out = np.full(len(programs), np.nan)
    needed: set[str] = set().union(*(p.terminals for p in programs)) if programs else set()
    insts = [_instance(i, needed) for i in instances]
    for how in _TO_SCALAR:
        idx = [k for k, p in enumerate(programs) if p.to_scalar == how]
        if idx:
            s = _native.eznas_score_arrays([programs[k].expr for k in idx], insts, how)
            out[idx] = s * np.array([programs[k].sign for k in idx])
    return out


#: The released EZNAS program (``verify_scores.py`` of the authors' repository, individual
#: "darts"): per instance ``FrobeniusNorm(Sigmoid(LogDet(Sign(T1GD))))``, i.e. the Frobenius
#: norm of ``sigmoid(logdet(sign(grad of the ReLU input)))`` over the trailing ``H x W``
#: matrices; network score = mean over instances.
EZNAS_A = Program("FrobeniusNorm(Sigmoid(LogDet(Sign(T1GD))))", name="EZNAS-A")
