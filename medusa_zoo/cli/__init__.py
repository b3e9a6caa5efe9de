"""The ``medusa-zoo`` command line: one parser, one subcommand per job.

    python -m medusa_zoo <command> [options]      # or the console script: medusa-zoo <command>

Every command module here holds only its arguments and a ``run(args)`` that calls the library;
the work lives in the package layers below. Errors the library raises on purpose
(:class:`~medusa_zoo.errors.MedusaZooError`) print as one ``error: ...`` line and exit with status 2, as
bad argument values do (checked when parsed, see :mod:`.args`); an operating-system error the library
does not type (a full disk, a permission) prints the same way and exits with status 1.
The older entry points (``python -m medusa_zoo.train``, ``python -m medusa_zoo.training.trivial``,
...) forward here and record their own name in the results files they write.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import shlex
import sys
from pathlib import Path

from ..errors import MedusaZooError

COMMANDS = ("predict", "explain", "list", "info", "embed", "finetune", "train", "evaluate", "trivial", "results", "report",
            "register", "ufl", "export", "benchmark", "examples")
"""Subcommands, each a module of this package with ``HELP``, ``add_arguments(parser)`` and ``run(args)``."""
MODULE_OF = {"list": "list_models"}
"""Commands whose module has another name (``list`` would shadow the built-in in this package)."""


def build_parser(prog: str = "python -m medusa_zoo") -> argparse.ArgumentParser:
    """The whole command line: one subparser per command."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f".{MODULE_OF.get(name, name)}", __name__)
        sub = subcommands.add_parser(name, help=module.HELP, description=module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def _show_library_messages() -> None:
    """The library's ``logging`` messages (medusa_zoo's own logger only) on stderr while a command runs."""
    logger = logging.getLogger("medusa_zoo")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def main(argv: list[str] | None = None, *, legacy: str | None = None) -> int:
    """Run one command; returns the exit status.

    ``legacy`` is the old module name (``"medusa_zoo.train"``) when an older entry point
    forwards here: help and the recorded command line then show that name.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if legacy is not None:
        prog, shown = f"python -m {legacy}", argv[1:]
    else:
        prog = "medusa-zoo" if Path(sys.argv[0]).name == "medusa-zoo" else "python -m medusa_zoo"
        shown = argv
    args = build_parser(prog).parse_args(argv)
    _show_library_messages()
    args.command_line = f"{prog} {shlex.join(shown)}".rstrip()
    try:
        return int(args.handler(args) or 0)
    except MedusaZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the environment, not a bug: say which file and why, without a traceback
        where = f" ({error.filename})" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return 1
