"""Argument helpers shared by the commands: recipes, devices, threads, progress, sizes."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_recipe(parser: argparse.ArgumentParser, required: bool = True, default: str | None = None) -> None:
    """``--recipe``: a packaged recipe name or a recipe JSON file."""
    parser.add_argument("--recipe", required=required, default=default,
                        help="packaged recipe name (see medusa_zoo/recipes/) or a recipe JSON file")


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device``: auto, cpu, cuda or cuda:N."""
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")


def add_threads(parser: argparse.ArgumentParser, help: str = "CPU threads") -> None:
    """``--threads N``."""
    parser.add_argument("--threads", type=positive_int, help=help)


def add_progress(parser: argparse.ArgumentParser) -> None:
    """``--no-progress``: no progress bars."""
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_size(parser: argparse.ArgumentParser, flag: str, help: str, default: tuple[int, int] | None = None) -> None:
    """A ``--flag H W`` pair of positive integers."""
    parser.add_argument(flag, type=positive_int, nargs=2, metavar=("H", "W"), default=default, help=help)


def pair(values: list[int] | tuple[int, ...] | None) -> tuple[int, int] | None:
    """An ``add_size`` value as a tuple (None stays None)."""
    return None if values is None else (int(values[0]), int(values[1]))
