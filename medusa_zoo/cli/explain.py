"""Show what a Medusa model attends to: per task, which scale each pixel weighs most.

    medusa-zoo explain photo.jpg                                 # the bundled default model
    medusa-zoo explain photos/*.jpg --model medusa_efficientnet_lite0.synthrooms --tasks semseg depth

Writes into ``--out`` (default ``outputs/explain/``) one picture per image and task of the
Multi-Scale Attention (MSA): each pixel in the colour of the scale it weighs most, paler where the
weights are closer to uniform, with the colour of each scale below it; and ``index.html``. Prints
per image and task the mean weight of each scale and the Shared Feature Attention (SFA) mask
energy (the share of each scale's shared features the task keeps). Only Medusa heads have these
attentions: other models (MTI-Net, PAD-Net, MTL, STL) end in a one-line error.
"""

from __future__ import annotations

import argparse
from pathlib import PurePath
from typing import Any

from .predict import add_image_arguments, in_chunks

HELP = "attention pictures of a Medusa model (which scale each pixel of each task weighs) and a results page"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_image_arguments(p, default_out="outputs/explain")


def run(args: argparse.Namespace) -> int:
    from ..api import load
    from ..pictures import write_results_page

    model = load(args.model, device=args.device)
    images = [str(path) for path in args.images]
    explanations = in_chunks(lambda part: model.explain(part, args.tasks, args.batch_size, native=args.native),
                             images, args.batch_size, "explain", not args.no_progress)  # fmt: skip
    for image, explanation in zip(images, explanations):
        print(summary(PurePath(image).name, explanation))
    page = write_results_page(args.out, model, images, [{} for _ in images], explanations,
                              title=f"medusa_zoo explain: {args.model}")  # fmt: skip
    print(f"wrote {len(images)} input(s) x {len(explanations[0])} attention pictures to {page.parent.resolve()}")
    print(f"open {page.resolve()}")
    return 0


def summary(name: str, explanation: dict[str, dict[str, Any]]) -> str:
    """Per task: the mean MSA weight of each scale over the image and the SFA mask energy per scale."""
    lines = [f"{name}:"]
    for task, maps in explanation.items():
        weights = maps["scale_weights"].mean(dim=(1, 2)).tolist()
        energy = maps["mask_energy"].tolist()
        cells = ", ".join(f"1/{s} weight {w:.2f} mask {e:.2f}" for s, w, e in zip(maps["scales"], weights, energy))
        lines.append(f"  {task:>12}: {cells}")
    return "\n".join(lines)
