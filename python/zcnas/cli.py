"""The ``zcnas`` command."""

from __future__ import annotations

import argparse
import sys

from zcnas import __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``zcnas`` command; returns the exit status."""
    ap = argparse.ArgumentParser(prog="zcnas", description="Zero-cost neural architecture search")
    ap.add_argument("--version", action="version", version=f"zcnas {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="show zcnas on the embedded real benchmark data")
    demo.add_argument(
        "--task",
        choices=("cifar10", "imagenet16"),
        default="cifar10",
        help="NAS-Bench-Suite-Zero task for the proxy table (default: cifar10)",
    )
    args = ap.parse_args(argv)
    if args.command == "demo":
        from zcnas import demo as demo_mod

        try:
            demo_mod.run(task=args.task)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
