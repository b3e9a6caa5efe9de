"""Train an architecture with a recipe: ``python -m medusa_zoo.train --recipe R --arch A``.

    python -m medusa_zoo.train --recipe synthrooms_regnetx002 --arch medusa_regnetx002
    python -m medusa_zoo.train --recipe synthrooms_regnetx002 --arch stl_regnetx002 --task depth
    torchrun --nproc_per_node 4 -m medusa_zoo.train --recipe nyud_hrnet18 --arch medusa_hrnet18 --data-root NYUD

Killed runs continue from their newest checkpoint when started again with the same command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import MedusaZooError
from .training import load_recipe, packaged_recipes, train


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m medusa_zoo.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", required=True, help=f"packaged recipe ({', '.join(packaged_recipes())}) or a JSON file")
    p.add_argument("--arch", help="architecture to train (default: the recipe's only one)")
    p.add_argument("--task", action="append", dest="tasks", help="train only this task (repeat for several; STL needs one)")
    p.add_argument("--out", help="run folder (default runs/<recipe>/<arch>)")
    p.add_argument("--data-root", help="dataset folder (NYUD-v2 / PASCAL-Context)")
    p.add_argument("--steps", type=int, help="override the recipe's number of steps")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, help="CPU threads per process (default: cores / processes)")
    p.add_argument("--no-resume", action="store_true", help="refuse to continue an existing run folder")
    p.add_argument("--stop-after", type=int, help="stop this invocation after N steps (resumable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (log.jsonl is written anyway)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parser().parse_args(argv)
    try:
        recipe = load_recipe(args.recipe)
        changes = {}
        if args.steps is not None:
            changes["steps"] = args.steps
        if args.data_root is not None:
            changes["data"] = {**recipe.data, "root": args.data_root}
        recipe = recipe.with_overrides(**changes) if changes else recipe
        arch = args.arch
        if arch is None:
            if len(recipe.architectures) != 1:
                raise MedusaZooError(f"recipe {recipe.name!r} trains {list(recipe.architectures)}; choose one with --arch")
            arch = recipe.architectures[0]
        result = train(recipe, arch, tasks=args.tasks, out=args.out, resume=not args.no_resume, device=args.device,
                       threads=args.threads, progress=not args.no_progress, stop_after=args.stop_after)
    except MedusaZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun only rank 0 reports
    if result.metrics:
        print(json.dumps(result.metrics, indent=2))
        print(f"trained {arch} for {result.steps} steps in {result.wall_s:.0f} s; model in {result.run_dir / 'model'}")
    else:
        print(f"stopped at step {result.steps}; run the same command again to continue ({result.run_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
