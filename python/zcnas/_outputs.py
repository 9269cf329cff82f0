"""Checks of output paths, run by the CLI before long work starts, and the CLI's console.

A search or an analysis can run for an hour; an ``--out`` or ``--plot`` path with a wrong
extension or a missing folder must fail in the first second (one ``error:`` line), not after
the work, losing its result. These checks create nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zcnas.exceptions import ZcnasError

__all__ = ["check_output_file", "check_output_folder", "cli_console"]


def check_output_file(
    path: str | os.PathLike[str], *, option: str, suffixes: Sequence[str] = ()
) -> Path:
    """Check that ``path`` can be written as a file, without writing it.

    Args:
        path: The file the command will write (it may exist: it is overwritten).
        option: The option name, for the message (e.g. ``"--plot"``).
        suffixes: Accepted extensions, lower case with the dot (``(".png", ".pdf")``); empty
            accepts any.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ZcnasError: Wrong extension, ``path`` is a folder, its folder does not exist or is
            not writable.

    >>> check_output_file("trajectory.json", option="--out", suffixes=(".json", ".csv")).name
    'trajectory.json'
    """
    p = Path(path)
    if p.is_dir():
        raise ZcnasError(f"{option} {p} is a folder; give a file name")
    if suffixes and p.suffix.lower() not in suffixes:
        raise ZcnasError(
            f"{option} {p}: expected a {' or '.join(suffixes)} file, got "
            f"{p.suffix or 'no extension'!r}"
        )
    folder = p.parent
    if not folder.is_dir():
        raise ZcnasError(f"{option} {p}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ZcnasError(f"{option} {p}: not writable")
    return p


def check_output_folder(path: str | os.PathLike[str], *, option: str) -> Path:
    """Check that ``path`` is a folder, or can be created as one (with its parents).

    Raises:
        ZcnasError: ``path`` is an existing file, or the nearest existing ancestor is a file or
            is not writable.

    >>> check_output_folder("report", option="--out").name
    'report'
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ZcnasError(f"{option} {p} is a file, not a folder")
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ZcnasError(f"{option} {p}: {probe} is a file, so the folder cannot be created")
    if not os.access(probe, os.W_OK):
        raise ZcnasError(f"{option} {p}: {probe} is not writable")
    return p


def cli_console(stderr: bool = False, **kwargs: Any) -> Any:
    """A rich console for the command line, on stdout (``stderr``: on stderr).

    Written to a file or a pipe (``zcnas ... > out.txt``, ``| less``) it keeps lines up to 200
    columns instead of rich's 80, so wide tables are not folded; ``$COLUMNS`` still wins when
    set. ``kwargs`` go to :class:`rich.console.Console` (e.g. ``markup=False``).
    """
    from rich.console import Console

    console = Console(stderr=stderr, **kwargs)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit():
        console = Console(stderr=stderr, width=200, **kwargs)
    return console
