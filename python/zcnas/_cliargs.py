"""Options shared by every ``zcnas`` subcommand, so that one concept has one name.

* ``--store FILE``: the score store (SQLite). ``--db`` is a hidden alias (its old name under
  ``zcnas store``). Commands that read a store default to ``$ZCNAS_STORE`` or
  ``./zcnas_scores.sqlite``; ``zcnas score`` and the searches write one only when given.
* ``--proxies a,b,c``: proxy names, comma-separated (``--proxy`` is a hidden alias).
* ``--seed N``: the seed of one run; ``--seeds 0,1,2`` (or ``--seed N --runs R``) for
  commands that repeat a search once per seed.
* ``--dataset`` / ``--task``: a dataset as its users write it (``ImageNet16-120``,
  ``cifar10-valid``, ``CIFAR-100``), mapped by :func:`zcnas.datasets.canonical_dataset`.
* ``--out PATH``: where the command writes its result (a file, or a folder for commands
  that write several files).

Options given to a command group (``zcnas store --store X import ...``) are accepted after
the subcommand too (``zcnas store import DIR --store X``). Only the standard library is
imported here, plus :mod:`zcnas.datasets` when a dataset name is parsed.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any

DEFAULT_STORE = "zcnas_scores.sqlite"
STORE_HELP = f"score store file (default: $ZCNAS_STORE or ./{DEFAULT_STORE})"


def add_store(
    p: argparse.ArgumentParser, *, help: str = STORE_HELP, required: bool = False, sub=False
) -> None:
    """``--store`` (and the hidden ``--db``). ``sub=True`` for the copy on a subcommand of a
    group that also has it: its default must not overwrite a value given before the
    subcommand."""
    default = argparse.SUPPRESS if sub else None
    p.add_argument("--store", dest="store", required=required, default=default, help=help)
    p.add_argument("--db", dest="store", default=default, help=argparse.SUPPRESS)


def store_path(args: argparse.Namespace) -> str:
    """The store a command reads: ``--store``, else ``$ZCNAS_STORE``, else the default."""
    return getattr(args, "store", None) or os.environ.get("ZCNAS_STORE") or DEFAULT_STORE


def dataset_type(allowed: Sequence[str] | None = None) -> Callable[[str], str]:
    """An argparse ``type`` that maps a dataset name to zcnas's (and checks ``allowed``)."""

    def parse(text: str) -> str:
        from zcnas.datasets import canonical_dataset
        from zcnas.exceptions import ZcnasError

        try:
            name = canonical_dataset(text)
        except ZcnasError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        if allowed is not None and name not in allowed:
            raise argparse.ArgumentTypeError(
                f"{text!r} ({name}) is not available here; expected one of {', '.join(allowed)}"
            )
        return name

    parse.__name__ = "dataset"
    return parse


def add_dataset(
    p: argparse.ArgumentParser,
    allowed: Sequence[str] = ("cifar10", "cifar100", "imagenet16"),
    *,
    help: str | None = None,
    hidden: Sequence[str] = (),
) -> None:
    """``--dataset`` accepting the names benchmark users write; ``hidden`` flags (old names
    such as ``--task``) set the same value and are not shown."""
    text = help or "dataset"
    kind = dataset_type(allowed)
    spelled = [
        alias
        for name, alias in (
            ("imagenet16", "ImageNet16-120"),
            ("cifar10", "cifar10-valid"),
            ("cifar100", "CIFAR-100"),
        )
        if name in allowed
    ]
    p.add_argument(
        "--dataset",
        type=kind,
        default=allowed[0],
        metavar="{" + ",".join(allowed) + "}",
        help=f"{text} (default {allowed[0]}; also written as {', '.join(spelled)} ...)"
        if spelled
        else f"{text} (default {allowed[0]})",
    )
    for flag in hidden:
        p.add_argument(flag, dest="dataset", type=kind, help=argparse.SUPPRESS)


def add_proxies(p: argparse.ArgumentParser, *, default: str | None = None, help: str) -> None:
    """``--proxies`` (comma-separated) with the hidden alias ``--proxy``."""
    p.add_argument("--proxies", dest="proxies", default=default, help=help)
    p.add_argument("--proxy", dest="proxies", help=argparse.SUPPRESS)


def proxy_list(text: str | None) -> list[str]:
    """Split a ``--proxies`` value."""
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def task_pairs(specs: Sequence[str] | None, option: str) -> list[tuple[str, str]] | None:
    """``SPACE/TASK`` values of a repeatable option as ``(space, task)`` pairs (None if unset).

    Raises:
        ZcnasError: a value without both parts, naming ``option``.
    """
    if not specs:
        return None
    from zcnas.exceptions import ZcnasError

    pairs = []
    for spec in specs:
        space, sep, task = spec.partition("/")
        if not sep or not space or not task:
            raise ZcnasError(f"{option} takes SPACE/TASK, got {spec!r}")
        pairs.append((space, task))
    return pairs


def add_seeds(p: argparse.ArgumentParser) -> None:
    """``--seed`` / ``--runs`` / ``--seeds`` of commands that repeat a search per seed."""
    p.add_argument("--seed", type=int, default=0, help="seed of the first run (default 0)")
    p.add_argument(
        "--runs", type=int, default=1, help="independent runs, with seeds seed, seed+1, ..."
    )
    p.add_argument("--seeds", help="comma-separated seeds, one run each (overrides --seed/--runs)")


def seed_list(args: argparse.Namespace) -> list[int]:
    """The seeds of :func:`add_seeds`' options."""
    from zcnas.exceptions import ZcnasError

    if args.seeds:
        try:
            seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise ZcnasError(
                f"--seeds must be comma-separated integers, got {args.seeds!r}"
            ) from None
        if not seeds:
            raise ZcnasError("--seeds is empty")
        return seeds
    if args.runs < 1:
        raise ZcnasError(f"--runs must be >= 1, got {args.runs}")
    return [args.seed + r for r in range(args.runs)]


class HelpFormatter(argparse.HelpFormatter):
    """The ``zcnas`` help layout: an option's help ends with its default, ``(default X)``,
    unless it is None or False (say in words what leaving it out does) or the help already
    names one (``default`` in the text)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if (
            d is None
            or d is False
            or d is argparse.SUPPRESS
            or not action.option_strings
            or "default" in text
        ):
            return text
        return f"{text} (default %(default)s)"


def use_help_formatter(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every subcommand parser under it :class:`HelpFormatter`."""
    parser.formatter_class = HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                use_help_formatter(sub)


def add_out(p: argparse.ArgumentParser, *, help: str, **kw: Any) -> None:
    """``--out``: where the command writes its result."""
    p.add_argument("--out", help=help, **kw)
