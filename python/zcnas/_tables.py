"""Column tables embedded in the package (``zcnas/data/*.npz``) and the checks every search
space shares. One place for loading package data, naming unknown columns, and validating
indices and sizes."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from zcnas.exceptions import ZcnasError


def load_npz(name: str) -> dict[str, np.ndarray]:
    """Read-only arrays of ``zcnas/data/<name>``."""
    ref = resources.files("zcnas") / "data" / name
    with resources.as_file(ref) as path, np.load(path) as z:
        columns = {k: z[k] for k in z.files}
    for v in columns.values():
        v.flags.writeable = False
    return columns


@dataclass(frozen=True)
class ColumnTable:
    """Named columns of equal length; subclasses set ``NAME`` (for messages) and ``KEY`` (the
    column whose length is the table's)."""

    columns: dict[str, np.ndarray]
    NAME: ClassVar[str] = "table"
    KEY: ClassVar[str] = "arch"

    def __len__(self) -> int:
        return len(self.columns[self.KEY])

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            known = ", ".join(sorted(self.columns))
            raise ZcnasError(f"unknown {self.NAME} column {name!r}; known: {known}") from None


def check_index(index: Any, n: int, what: str) -> int:
    """``index`` as an int in ``0..n-1``, or a ZcnasError naming ``what``."""
    if isinstance(index, bool | np.bool_) or not isinstance(index, Integral):
        raise ZcnasError(f"{what} index must be an integer, got {index!r}")
    if not 0 <= index < n:
        raise ZcnasError(f"{what} index {index} is out of range 0..{n - 1}")
    return int(index)


def check_sizes(fn: str, **sizes: Any) -> None:
    """Every size a positive integer (bools refused), or a ZcnasError naming it."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ZcnasError(f"{fn}: {name} must be a positive integer, got {value!r}")
