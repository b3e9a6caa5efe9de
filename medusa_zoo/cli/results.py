"""Merge per-task evaluations of single-task (STL) models into one Δm reference.

    python -m medusa_zoo results --stl stl_semseg.json stl_depth.json ... --out family.stl.json
"""

from __future__ import annotations

import argparse

from .args import existing_file, output_file

HELP = "merge single-task evaluations into a family's STL reference"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stl", nargs="+", required=True, type=existing_file,
                   help="results files of single-task models (from the evaluate command)")
    p.add_argument("--out", required=True, type=output_file)


def run(args: argparse.Namespace) -> int:
    from ..training.results import merge_single_task, write_results

    merged = merge_single_task(args.stl)
    merged["command"] = args.command_line
    print(f"wrote {write_results(args.out, merged)} ({', '.join(merged['values'])})")
    return 0
