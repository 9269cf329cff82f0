"""``python -m zcnas``: the same command as ``zcnas`` (see :mod:`zcnas.cli`)."""

from __future__ import annotations

import sys

from zcnas.cli import main

if __name__ == "__main__":
    sys.exit(main())
