"""A rich progress bar around long loops (quiet when ``progress`` is false)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def iterate(items: Sequence[T] | Iterable[T], description: str, progress: bool) -> Iterator[T]:
    """Yield ``items``, showing a rich progress bar when ``progress`` is true."""
    if not progress:
        yield from items
        return
    from rich.progress import track

    seq = list(items)
    yield from track(seq, description=description, total=len(seq), transient=True)
