"""Fit the trivial predictors (each task kind's best constant) on a recipe's train split and score them.

    python -m medusa_zoo trivial --recipe synthrooms_regnetx002 --fit-images 500 \\
        --out medusa_zoo/results/synthrooms_regnetx002.trivial.json
"""

from __future__ import annotations

import argparse
import time

from .args import add_progress, add_recipe, output_file, positive_int

HELP = "measure the trivial (constant) predictors of a recipe"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_recipe(p)
    p.add_argument("--fit-images", type=positive_int, default=500, help="train images to fit the constants on (default 500)")
    p.add_argument("--images", type=positive_int, help="evaluate the first N eval images (default: the recipe's eval_images)")
    p.add_argument("--out", type=output_file, help="write the results JSON here")
    add_progress(p)


def run(args: argparse.Namespace) -> int:
    from ..training.results import write_results
    from ..training.trivial import format_table
    from ..training.trivial import run as measure

    start = time.perf_counter()
    result = measure(args.recipe, args.fit_images, args.images, progress=not args.no_progress)
    result["command"] = args.command_line
    print(format_table(result))
    print(f"done in {time.perf_counter() - start:.1f} s")
    if args.out:
        print(f"wrote {write_results(args.out, result)}")
    return 0
