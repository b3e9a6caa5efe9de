"""Train an architecture with a recipe.

    python -m medusa_zoo train --recipe synthrooms_regnetx002 --arch medusa_regnetx002
    python -m medusa_zoo train --recipe synthrooms_regnetx002 --arch stl_regnetx002 --task depth
    torchrun --nproc_per_node 4 -m medusa_zoo train --recipe nyud_hrnet18 --arch medusa_hrnet18 --data-root NYUD

Killed runs continue from their newest checkpoint when started again with the same command.
"""

from __future__ import annotations

import argparse
import json
import os

from .args import add_device, add_progress, add_recipe, add_threads, existing_dir, output_dir, positive_int

HELP = "train an architecture with a recipe (resumable)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_recipe(p)
    p.add_argument("--arch", help="architecture to train (default: the recipe's only one)")
    p.add_argument("--task", action="append", dest="tasks", help="train only this task (repeat for several; STL needs one)")
    p.add_argument("--out", type=output_dir, help="run folder (default runs/<recipe>/<arch>)")
    p.add_argument("--data-root", type=existing_dir, help="dataset folder (NYUD-v2 / PASCAL-Context)")
    p.add_argument("--steps", type=positive_int, help="override the recipe's number of steps")
    add_device(p)
    add_threads(p, "CPU threads per process (default: cores / processes)")
    p.add_argument("--no-resume", action="store_true", help="refuse to continue an existing run folder")
    p.add_argument("--stop-after", type=positive_int, help="stop this invocation after N steps (resumable)")
    add_progress(p)


def run(args: argparse.Namespace) -> int:
    from ..errors import MedusaZooError
    from ..training import load_recipe, train

    recipe = load_recipe(args.recipe)
    changes = {}
    if args.steps is not None:
        changes["steps"] = args.steps
    if args.data_root is not None:
        changes["data"] = {**recipe.data, "root": str(args.data_root)}
    recipe = recipe.with_overrides(**changes) if changes else recipe
    arch = args.arch
    if arch is None:
        if len(recipe.architectures) != 1:
            raise MedusaZooError(f"recipe {recipe.name!r} trains {list(recipe.architectures)}; choose one with --arch")
        arch = recipe.architectures[0]
    result = train(recipe, arch, tasks=args.tasks, out=args.out, resume=not args.no_resume, device=args.device,
                   threads=args.threads, progress=not args.no_progress, stop_after=args.stop_after)
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun only rank 0 reports
    if result.metrics:
        print(json.dumps(result.metrics, indent=2))
        print(f"trained {arch} for {result.steps} steps in {result.wall_s:.0f} s; model in {result.run_dir / 'model'}")
    else:
        print(f"stopped at step {result.steps}; run the same command again to continue ({result.run_dir})")
    return 0
