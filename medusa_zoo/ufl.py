"""The UFL benchmark: ``python -m medusa_zoo.ufl``.

    python -m medusa_zoo.ufl --recipe synthrooms_regnetx002 \\
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
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import IncompatibleConfigError, MedusaZooError
from .training.recipe import load_recipe
from .training.results import write_results
from .training.ufl import UFL_FORMAT

PAPER_CLAIM = ("+13.18% in UFL for Medusa (the paper's figure, from its abstract; its datasets, backbone and exact "
               "reference are not reproduced here)")


def read_ufl(path: str | Path) -> dict[str, Any]:
    """A results document written by this command."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as bad:
        raise IncompatibleConfigError(f"cannot read UFL results {path}: {bad}") from None
    if not isinstance(document, dict) or document.get("protocol") != UFL_FORMAT:
        raise IncompatibleConfigError(f"{path} is not a UFL results file (protocol {UFL_FORMAT!r})")
    return document


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean over seeds of every architecture's UFL score (overall and per task) and trunk Δm."""
    summary: dict[str, Any] = {}
    for arch in runs[0]["architectures"]:
        rows = [run["architectures"][arch] for run in runs]
        tasks = list(rows[0]["ufl_per_task"])
        summary[arch] = {
            "ufl": _mean([r["ufl"] for r in rows]),
            "ufl_seeds": [r["ufl"] for r in rows],
            "ufl_per_task": {t: _mean([r["ufl_per_task"][t] for r in rows]) for t in tasks},
            "held_out_values": {t: _mean_values([r["cells"][t]["head"]["values"] for r in rows]) for t in tasks},
            "trunk_delta_m": _mean([r["trunk_delta_m"] for r in rows]),
            "head_parameters": {t: rows[0]["cells"][t]["head"]["trainable_parameters"] for t in tasks},
        }
    return summary


def markdown(document: dict[str, Any]) -> str:
    """The results table (one row per architecture, one column per held-out task)."""
    run = document["runs"][0]
    held = run["held_out"]
    primary = run["primary"]
    names = {"medusa": "Medusa", "mtl": "MTL", "mtinet": "MTI-Net", "padnet": "PAD-Net"}
    head = "| trunk | " + " | ".join(f"{t} ({primary[t][0]}) held out" for t in held) + " | UFL score | trunk Δm on its own tasks |"
    lines = [head, "|---" * (len(held) + 3) + "|"]
    stl = " | ".join(f"{run['stl'][t]['values'][primary[t][0]]:.3g}" for t in held)
    lines.append(f"| STL (reference, same budget) | {stl} | 0 | 0 |")
    for arch, row in document["summary"].items():
        cells = " | ".join(
            f"{row['held_out_values'][t][primary[t][0]]:.3g} ({row['ufl_per_task'][t]:+.2f}%)" for t in held
        )
        label = names.get(arch.split("_")[0], arch)
        lines.append(f"| {label} | {cells} | **{row['ufl']:+.2f}%** | {row['trunk_delta_m']:+.2f}% |")
    seeds = ", ".join(str(s) for s in document["seeds"])
    lines.append("")
    lines.append(
        f"{document['recipe']}: trunks and STL {run['steps']} steps, heads {run['head_steps']} steps, "
        f"{run['dataset']} {run['split']} ({run['images']} images), seed(s) {seeds} ({len(document['seeds'])} per cell). "
        f"Each held-out cell: the head's metric (UFL term vs STL). Paper, for comparison: {PAPER_CLAIM}."
    )
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m medusa_zoo.ufl", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="synthrooms_regnetx002", help="packaged recipe or JSON file")
    p.add_argument("--arch", nargs="+", help="multi-task architectures (default: the recipe's, without STL)")
    p.add_argument("--held-out", nargs="+", default=["normals", "edge", "saliency"], help="tasks to hold out")
    p.add_argument("--steps", type=int, help="steps of each trunk and STL reference (default: the recipe's)")
    p.add_argument("--head-steps", type=int, help="steps of each new head (default: --steps)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="one full run per seed")
    p.add_argument("--runs", default="runs/ufl", help="folder for the runs (reused when repeated)")
    p.add_argument("--out", help="results JSON to write (default outputs/ufl/<recipe>.ufl.json)")
    p.add_argument("--threads", type=int, help="CPU threads")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--report", metavar="FILE", help="print the table of an existing results file and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    from .models.zoo import ARCHITECTURES
    from .training.ufl import Budget, run_protocol

    args = parser().parse_args(argv)
    try:
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
                    "summary": summarise(runs), "runs": runs,
                    "command": "python -m medusa_zoo.ufl " + shlex.join(sys.argv[1:] if argv is None else argv)}
        out = Path(args.out or f"outputs/ufl/{recipe.name}.ufl.json")
        write_results(out, document)
    except MedusaZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(markdown(document))
    print(f"\nwrote {out}")
    return 0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _mean_values(values: Sequence[dict[str, float]]) -> dict[str, float]:
    return {k: _mean([v[k] for v in values]) for k in values[0]}


if __name__ == "__main__":
    raise SystemExit(main())
