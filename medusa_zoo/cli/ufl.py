"""The UFL benchmark: ``python -m medusa_zoo ufl``.

    python -m medusa_zoo ufl --recipe synthrooms_efficientnet_lite0 \\
        --arch medusa_efficientnet_lite0 mtl_efficientnet_lite0 mtinet_efficientnet_lite0 \\
        --held-out normals edge saliency --steps 60 --head-steps 60 --images 100 --seeds 0 1 2 \\
        --common-heads medusa mtl --out medusa_zoo/results/synthrooms_efficientnet_lite0.ufl.json

For each held-out task, architecture and seed it trains a trunk on the other tasks, fits the
trunk's own head and each common head on the frozen trunk and scores them against a single-task
network trained as long as trunk and head together (see :mod:`medusa_zoo.training.ufl`). Runs
go under ``--runs`` (default ``runs/ufl``) and are reused when the command is repeated. Writes a
JSON document (its ``cells`` list holds every trunk x held-out task x head with one score per
seed) and prints the table with mean ± std over seeds and paired comparisons;
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
    p.add_argument("--steps", type=positive_int, help="steps of each trunk (default: the recipe's)")
    p.add_argument("--head-steps", type=positive_int, help="steps of each new head (default: --steps); the STL "
                   "references train for --steps + --head-steps")
    p.add_argument("--images", type=positive_int, help="evaluation images (default: the recipe's eval_images)")
    p.add_argument("--seeds", type=non_negative_int, nargs="+", default=[0, 1, 2],
                   help="seeds; each trains every trunk and head once (default 0 1 2)")
    p.add_argument("--common-heads", nargs="+", default=["medusa"], metavar="HEAD",
                   help="head designs fitted on every trunk's backbone besides its own (default: medusa)")
    p.add_argument("--saliency-protocol", choices=["pooled", "reference"], default="pooled",
                   help="saliency metric for the UFL term: pooled over the dataset (default) or the MTI-Net "
                        "reference protocol (per image, 15 thresholds, F1); both are stored")
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
    from ..training.ufl import Budget, run_protocol
    from ..training.ufl_report import markdown, read_ufl
    from ..training.ufl_stats import summarise

    if args.report:
        print(markdown(read_ufl(args.report)))
        return 0
    recipe = load_recipe(args.recipe)
    archs = args.arch or [a for a in recipe.architectures if ARCHITECTURES.get(a).head != "stl"]
    steps = args.steps or recipe.steps
    budgets = [Budget(steps, args.head_steps or steps, seed, args.images) for seed in dict.fromkeys(args.seeds)]
    document = run_protocol(recipe, archs, args.held_out, budgets, Path(args.runs), args.common_heads,
                            args.saliency_protocol, args.threads, not args.no_progress)
    document = {**document, **summarise(document), "command": args.command_line}
    out = Path(args.out or f"outputs/ufl/{recipe.name}.ufl.json")
    write_results(out, document)
    print(markdown(document))
    print(f"\nwrote {out}")
    return 0
