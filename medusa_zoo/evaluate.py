"""Evaluate a model on every one of its tasks: ``python -m medusa_zoo.evaluate``.

    python -m medusa_zoo.evaluate --model medusa_regnetx002.synthrooms --data synthrooms:val
    python -m medusa_zoo.evaluate --model local-dir:runs/x/model --data synthrooms:val --images 300 --out m.json
    python -m medusa_zoo.evaluate --model medusa_hrnet18.nyud --data nyud:val --data-root /data/NYUDv2

Prints a table and writes a results JSON (``--out``, default ``outputs/evaluate/``) with every metric of every task and,
when the family ships single-task results for the same evaluation set, Δm against them.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from .errors import MedusaZooError, RecipeError
from .models.zoo import ARCHITECTURES
from .training.data import Transformed, build_dataset, collate
from .training.evaluation import Results, evaluate, primary_metrics
from .training.results import delta_m_against, read_results, results_path, write_results


def parse_data(spec: str) -> tuple[str, str]:
    """``"dataset:split"`` -> (dataset, split)."""
    dataset, _, split = spec.partition(":")
    if not dataset or not split:
        raise RecipeError(f"--data must look like 'synthrooms:val', 'nyud:val' or 'pascal_context:val', got {spec!r}")
    return dataset, split


def evaluate_model(
    model: Any,
    dataset: str,
    split: str,
    images: int | None = None,
    options: dict[str, Any] | None = None,
    size: tuple[int, int] | None = None,
    batch_size: int = 8,
    num_workers: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``dataset:split`` (first ``images`` samples) -> results document.

    The document has ``dataset``, ``split``, ``images``, ``values`` and ``delta_m`` (None with
    ``delta_m_note`` saying why when no matching single-task reference ships).
    """
    from .data import eval_transforms

    data = build_dataset(dataset, split, list(model.tasks), options, images)
    loader = torch.utils.data.DataLoader(
        Transformed(data, eval_transforms(size, preprocessing=model.config.preprocessing)),
        batch_size=batch_size, num_workers=num_workers, collate_fn=collate,
    )
    values: Results = evaluate(model, loader, dataset, progress=progress)
    count = len(data)  # type: ignore[arg-type]
    result: dict[str, Any] = {"dataset": dataset, "split": split, "images": count, "values": values}
    arch = model.config.arch
    result["delta_m"], result["delta_m_note"] = None, "the model is not a registered architecture"
    if arch in ARCHITECTURES:
        reference = results_path(dataset, ARCHITECTURES.get(arch).backbone, "stl")
        if reference.is_file():
            tasks = [model.tasks[n] for n in values]
            result["delta_m"], result["delta_m_note"] = delta_m_against(
                values, read_results(reference), primary_metrics(tasks, dataset), dataset, split, count
            )
            result["delta_m_reference"] = reference.name
        else:
            result["delta_m_note"] = f"no single-task results ship for this family ({reference.name})"
    return result


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


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m medusa_zoo.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="arch.tag, arch, hf-hub:org/name or local-dir:PATH")
    p.add_argument("--data", required=True, help="dataset:split, e.g. synthrooms:val")
    p.add_argument("--images", type=int, help="evaluate the first N images only")
    p.add_argument("--data-root", help="dataset folder (NYUD-v2 / PASCAL-Context)")
    p.add_argument("--seed", type=int, default=0, help="SynthRooms seed")
    p.add_argument("--resolution", type=int, nargs=2, default=(192, 256), metavar=("H", "W"), help="SynthRooms size")
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="resize images to H W (default: as stored)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", help="results JSON path (default outputs/evaluate/<model>.<dataset>_<split>.json)")
    args = p.parse_args(argv)
    import medusa_zoo

    try:
        dataset, split = parse_data(args.data)
        options = {"root": args.data_root} if dataset != "synthrooms" else {"seed": args.seed, "resolution": args.resolution}
        model = medusa_zoo.load(args.model, device=args.device)
        result = {"model": args.model, "architecture": model.config.arch}
        result.update(evaluate_model(model, dataset, split, args.images, options, args.size and tuple(args.size),
                                     args.batch_size, args.workers, progress=True))
        result["command"] = "python -m medusa_zoo.evaluate " + shlex.join(sys.argv[1:] if argv is None else argv)
    except MedusaZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(result))
    out = args.out or Path("outputs/evaluate") / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', args.model)}.{dataset}_{split}.json"
    print(f"wrote {write_results(out, {'kind': 'evaluation', **result})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
