"""Copy the example scripts into a folder of yours and say how to run each.

    medusa-zoo examples my_examples/
    python my_examples/quickstart.py

The scripts ship inside the package (``medusa_zoo/examples/`` of an installed wheel); in a source
checkout they are read from ``examples/`` at the repository root. A file of the same name already
in the folder is never overwritten: the command stops before copying anything.
"""

from __future__ import annotations

import argparse
import ast
import shutil
from pathlib import Path

from ..errors import CheckpointError, DuplicateNameError
from .args import output_dir

HELP = "copy the example scripts (quickstart, fine-tuning, features...) into a folder and say how to run them"
PACKAGE = Path(__file__).resolve().parents[1]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=output_dir, metavar="DIR", help="folder to copy the scripts into (created if missing)")


def run(args: argparse.Namespace) -> int:
    scripts = example_scripts()
    taken = [script.name for script in scripts if (args.folder / script.name).exists()]
    if taken:
        raise DuplicateNameError(f"{args.folder} already holds {', '.join(taken)}; remove them or choose another folder")
    args.folder.mkdir(parents=True, exist_ok=True)
    for script in scripts:
        shutil.copyfile(script, args.folder / script.name)
    print(f"copied {len(scripts)} example scripts to {args.folder.resolve()}:")
    for script in scripts:
        print(f"  python {args.folder / script.name}    # {first_line(script)}")
    return 0


def examples_folder() -> Path:
    """``medusa_zoo/examples/`` of an installed package, else ``examples/`` of the source checkout."""
    for folder in (PACKAGE / "examples", PACKAGE.parent / "examples"):
        if folder.is_dir() and any(folder.glob("*.py")):
            return folder
    raise CheckpointError(f"no example scripts in {PACKAGE / 'examples'} or {PACKAGE.parent / 'examples'}; "
                          "reinstall medusa-zoo (pip install --force-reinstall medusa-zoo)")


def example_scripts() -> list[Path]:
    """The example scripts, sorted by name."""
    return sorted(path for path in examples_folder().glob("*.py") if path.is_file())


def first_line(script: Path) -> str:
    """The first line of the script's module docstring (its one-line summary)."""
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
    return docstring.strip().splitlines()[0] if docstring.strip() else ""
