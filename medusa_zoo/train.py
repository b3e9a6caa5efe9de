"""``python -m medusa_zoo.train``: the ``train`` command under its older name (see :mod:`medusa_zoo.cli.train`)."""

from __future__ import annotations

import sys

from .cli import main as _main


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    return _main(["train", *(sys.argv[1:] if argv is None else argv)], legacy="medusa_zoo.train")


if __name__ == "__main__":
    sys.exit(main())
