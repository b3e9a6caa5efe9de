"""``python -m medusa_zoo.ufl``: the ``ufl`` command under its older name (see :mod:`medusa_zoo.cli.ufl`)."""

from __future__ import annotations

import sys

from .cli import main as _main
from .training.ufl_report import PAPER_CLAIM, markdown, read_ufl
from .training.ufl_stats import summarise

__all__ = ["PAPER_CLAIM", "main", "markdown", "read_ufl", "summarise"]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    return _main(["ufl", *(sys.argv[1:] if argv is None else argv)], legacy="medusa_zoo.ufl")


if __name__ == "__main__":
    sys.exit(main())
