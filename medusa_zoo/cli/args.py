"""Argument helpers shared by the commands: value types, recipes, devices, threads, progress, sizes.

The ``type=`` functions here check a value when the command line is parsed, so a bad one
(``--threads -1``, ``--out`` naming a file where a folder is wanted, an input that does not
exist) ends in argparse's usage line, ``error: argument --flag: ...`` and exit status 2,
before any model or dataset is loaded.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

MAX_THREADS = 4096


def _integer(text: str, kind: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    value = _integer(text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    value = _integer(text, "a non-negative integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def thread_count(text: str) -> int:
    """An argparse type: a positive integer of at most :data:`MAX_THREADS` (more would only exhaust the machine)."""
    value = positive_int(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected a positive integer of at most {MAX_THREADS}, got {value}")
    return value


def _checked_path(text: str) -> Path:
    if not text or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a path, got {text!r}")
    return Path(text)


def existing_file(text: str) -> Path:
    """An argparse type: the path of an existing regular file (not a folder, pipe or device)."""
    path = _checked_path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"file {text!r} does not exist")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a regular file; give the path of a file")
    return path


def existing_dir(text: str) -> Path:
    """An argparse type: the path of an existing folder."""
    path = _checked_path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"folder {text!r} does not exist")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    return path


def output_dir(text: str) -> Path:
    """An argparse type: a folder to write into; it may be missing, but nothing else may stand at that path."""
    path = _checked_path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is an existing file, not a folder; choose another path")
    _check_parents(path, text)
    return path


def output_file(text: str) -> Path:
    """An argparse type: a file to write; it may exist (it is replaced) but must not be a folder."""
    path = _checked_path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file path inside it")
    if path.exists() and not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a regular file (a pipe or device); choose another path")
    _check_parents(path, text)
    return path


def _check_parents(path: Path, text: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder (the rest is created)."""
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {str(parent)!r} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: folder {str(parent)!r} is not writable")


def dataset_split(text: str) -> tuple[str, str]:
    """An argparse type: ``"dataset:split"`` as a pair."""
    dataset, _, split = text.partition(":")
    if not dataset or not split:
        raise argparse.ArgumentTypeError(f"expected dataset:split, e.g. 'synthrooms:val' or 'nyud:val', got {text!r}")
    return dataset, split


def add_recipe(parser: argparse.ArgumentParser, required: bool = True, default: str | None = None) -> None:
    """``--recipe``: a packaged recipe name or a recipe JSON file."""
    parser.add_argument("--recipe", required=required, default=default,
                        help="packaged recipe name (see medusa_zoo/recipes/) or a recipe JSON file")


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device``: auto, cpu, cuda or cuda:N."""
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")


def add_threads(parser: argparse.ArgumentParser, help: str = "CPU threads") -> None:
    """``--threads N``."""
    parser.add_argument("--threads", type=thread_count, help=help)


def add_progress(parser: argparse.ArgumentParser) -> None:
    """``--no-progress``: no progress bars."""
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_size(parser: argparse.ArgumentParser, flag: str, help: str, default: tuple[int, int] | None = None) -> None:
    """A ``--flag H W`` pair of positive integers."""
    parser.add_argument(flag, type=positive_int, nargs=2, metavar=("H", "W"), default=default, help=help)


def pair(values: list[int] | tuple[int, ...] | None) -> tuple[int, int] | None:
    """An ``add_size`` value as a tuple (None stays None)."""
    return None if values is None else (int(values[0]), int(values[1]))

