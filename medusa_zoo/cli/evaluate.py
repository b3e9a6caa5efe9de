"""Evaluate a model on every one of its tasks.

    python -m medusa_zoo evaluate --model medusa_efficientnet_lite0.synthrooms --data synthrooms:val
    python -m medusa_zoo evaluate --model local-dir:runs/x/model --data synthrooms:val --images 300 --out m.json
    python -m medusa_zoo evaluate --model medusa_hrnet18.nyud --data nyud:val --data-root /data/NYUDv2

Prints a table and writes a results JSON (``--out``, default ``outputs/evaluate/``) with every metric of every
task and, when the family ships single-task results for the same evaluation set, Δm against them.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from ..errors import RecipeError
from .args import add_device, add_size, dataset_split, existing_dir, non_negative_int, output_file, pair, positive_int

HELP = "evaluate a model on every one of its tasks (writes a results JSON)"


def parse_data(spec: str) -> tuple[str, str]:
    """``"dataset:split"`` -> (dataset, split)."""
    dataset, _, split = spec.partition(":")
    if not dataset or not split:
        raise RecipeError(f"--data must look like 'synthrooms:val', 'nyud:val' or 'pascal_context:val', got {spec!r}")
    return dataset, split


def format_table(result: dict[str, Any]) -> str:
    """The results as an aligned text table."""
    lines = [f"{result.get('model', '')} on {result['dataset']}:{result['split']} ({result['images']} images)"]
    for task, metrics in result["values"].items():
        cells = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        lines.append(f"  {task:>12}: {cells}")
    if result["delta_m"] is not None:
        lines.append(f"  {'Δm':>12}: {result['delta_m']:+.2f}% {result['delta_m_note']}")
    else:
        lines.append(f"  {'Δm':>12}: not computed: {result['delta_m_note']}")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="arch.tag, arch, hf-hub:org/name or local-dir:PATH")
    p.add_argument("--data", required=True, type=dataset_split, help="dataset:split, e.g. synthrooms:val")
    p.add_argument("--images", type=positive_int, help="evaluate the first N images only")
    p.add_argument("--data-root", type=existing_dir, help="dataset folder (NYUD-v2 / PASCAL-Context)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="SynthRooms seed")
    add_size(p, "--resolution", "SynthRooms rendering size", default=(192, 256))
    add_size(p, "--size", "resize images to H W (default: as stored)")
    p.add_argument("--batch-size", type=positive_int, default=8)
    p.add_argument("--workers", type=non_negative_int, default=0, help="DataLoader worker processes")
    add_device(p)
    p.add_argument("--out", type=output_file,
                   help="results JSON path (default outputs/evaluate/<model>.<dataset>_<split>.json)")


def data_options(dataset: str, given: dict[str, Any]) -> dict[str, Any]:
    """The command-line data options ``dataset``'s registry row takes (unset ones dropped)."""
    from ..data import dataset_spec

    accepted = dataset_spec(dataset).options
    return {k: v for k, v in given.items() if k in accepted and v is not None}


def run(args: argparse.Namespace) -> int:
    from ..api import load
    from ..training.evaluation import evaluate_model
    from ..training.results import write_results

    dataset, split = args.data
    root = None if args.data_root is None else str(args.data_root)
    options = data_options(dataset, {"root": root, "seed": args.seed, "resolution": pair(args.resolution)})
    model = load(args.model, device=args.device)
    result: dict[str, Any] = {"model": args.model, "architecture": model.config.arch}
    result.update(evaluate_model(model, dataset, split, args.images, options, pair(args.size), args.batch_size,
                                 args.workers, progress=True))
    result["command"] = args.command_line
    print(format_table(result))
    out = args.out or Path("outputs/evaluate") / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', args.model)}.{dataset}_{split}.json"
    print(f"wrote {write_results(out, {'kind': 'evaluation', **result})}")
    return 0
