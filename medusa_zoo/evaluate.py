"""``python -m medusa_zoo.evaluate``: the ``evaluate`` command under its older name (see :mod:`medusa_zoo.cli.evaluate`)."""

from __future__ import annotations

import sys

from .cli import main as _main
from .cli.evaluate import format_table, parse_data

__all__ = ["format_table", "main", "parse_data"]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    return _main(["evaluate", *(sys.argv[1:] if argv is None else argv)], legacy="medusa_zoo.evaluate")


if __name__ == "__main__":
    sys.exit(main())
