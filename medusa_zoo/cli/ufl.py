"""The UFL benchmark: ``python -m medusa_zoo ufl``.

    python -m medusa_zoo ufl --recipe synthrooms_regnetx002 \\
        --arch medusa_regnetx002 mtl_regnetx002 mtinet_regnetx002 \\
        --held-out normals edge saliency --steps 200 --head-steps 200 --seeds 0 \\
        --out medusa_zoo/results/synthrooms_regnetx002.ufl.json

For each held-out task and architecture it trains a trunk on the other tasks, fits a fresh
head on the frozen trunk and scores it against a single-task network with the same budget
(see :mod:`medusa_zoo.training.ufl`). Runs go under ``--runs`` (default ``runs/ufl``) and are
reused when the command is repeated. Writes a JSON document and prints a markdown table;
``--report FILE`` prints the table of an existing document without training anything.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import add_progress, add_threads, existing_file, non_negative_int, output_dir, output_file, positive_int

HELP = "the UFL benchmark: frozen trunks, fresh heads for held-out tasks"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", default="synthrooms_regnetx002", help="packaged recipe or JSON file")
    p.add_argument("--arch", nargs="+", help="multi-task architectures (default: the recipe's, without STL)")
    p.add_argument("--held-out", nargs="+", default=["normals", "edge", "saliency"], help="tasks to hold out")
    p.add_argument("--steps", type=positive_int, help="steps of each trunk and STL reference (default: the recipe's)")
    p.add_argument("--head-steps", type=positive_int, help="steps of each new head (default: --steps)")
    p.add_argument("--seeds", type=non_negative_int, nargs="+", default=[0], help="one full run per seed")
    p.add_argument("--runs", type=output_dir, default="runs/ufl", help="folder for the runs (reused when repeated)")
    p.add_argument("--out", type=output_file, help="results JSON to write (default outputs/ufl/<recipe>.ufl.json)")
    add_threads(p)
    add_progress(p)
    p.add_argument("--report", metavar="FILE", type=existing_file,
                   help="print the table of an existing results file and exit")


def run(args: argparse.Namespace) -> int:
    from ..models import ARCHITECTURES
    from ..training.recipe import load_recipe
    from ..training.results import write_results
    from ..training.ufl import UFL_FORMAT, Budget, run_protocol
    from ..training.ufl_report import markdown, read_ufl, summarise

    if args.report:
        print(markdown(read_ufl(args.report)))
        return 0
    recipe = load_recipe(args.recipe)
    archs = args.arch or [a for a in recipe.architectures if ARCHITECTURES.get(a).head != "stl"]
    steps = args.steps or recipe.steps
    runs = []
    for seed in args.seeds:
        budget = Budget(steps, args.head_steps or steps, seed)
        runs.append(run_protocol(recipe, archs, args.held_out, budget, Path(args.runs), args.threads,
                                 not args.no_progress))
    document = {"protocol": UFL_FORMAT, "recipe": recipe.name, "seeds": list(args.seeds),
                "summary": summarise(runs), "runs": runs, "command": args.command_line}
    out = Path(args.out or f"outputs/ufl/{recipe.name}.ufl.json")
    write_results(out, document)
    print(markdown(document))
    print(f"\nwrote {out}")
    return 0
