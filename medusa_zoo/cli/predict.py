"""Predict every task of a model on images and write the results page.

    medusa-zoo predict photo.jpg other.png                       # the bundled default model
    medusa-zoo predict photos/*.jpg --model medusa_efficientnet_lite0.synthrooms --tasks semseg depth --out out/

Writes into ``--out`` (default ``outputs/predict/``) one PNG per image and task, each with a legend
(class names and colours, a colour bar in metres for depth, a direction key for normals, a
probability bar for edges and saliency), the attention pictures of Medusa models (which scale
each pixel weighs most, per task) and ``index.html``, which shows them all side by side.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import IncompatibleConfigError
from .args import add_device, add_progress, existing_file, output_dir, positive_int

HELP = "predict every task on images; writes pictures with legends and an index.html results page"
DEFAULT_MODEL = "medusa_efficientnet_lite0"
MODEL_HELP = "arch (its default checkpoint), arch.tag, hf-hub:org/name or local-dir:PATH (default %(default)s)"
log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_image_arguments(p, default_out="outputs/predict")
    p.add_argument("--no-attention", action="store_true", help="skip the attention pictures of Medusa models")


def add_image_arguments(p: argparse.ArgumentParser, default_out: str) -> None:
    """The arguments ``predict`` and ``explain`` share."""
    p.add_argument("images", nargs="+", type=existing_file, metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=MODEL_HELP)
    p.add_argument("--tasks", nargs="+", metavar="TASK", help="only these tasks (default: all of the model's)")
    p.add_argument("--out", type=output_dir, default=Path(default_out), help="folder to write (default %(default)s)")
    p.add_argument("--native", action="store_true", help="run at each image's own size, not the model's design size")
    p.add_argument("--batch-size", type=positive_int, default=8)
    add_device(p)
    add_progress(p)


def run(args: argparse.Namespace) -> int:
    from ..api import load
    from ..pictures import write_results_page

    model = load(args.model, device=args.device)
    images = [str(path) for path in args.images]
    predictions = in_chunks(lambda part: model.predict(part, args.tasks, args.batch_size, native=args.native),
                            images, args.batch_size, "predict", not args.no_progress)  # fmt: skip
    explanations = None if args.no_attention else attention_or_none(model, images, args)
    page = write_results_page(
        args.out, model, images, predictions, explanations, title=f"medusa_zoo predict: {args.model}"
    )
    tasks = len(predictions[0])
    extra = f" and {len(explanations[0])} attention pictures" if explanations else ""
    print(f"wrote {len(images)} input(s) x {tasks} task pictures{extra} to {page.parent.resolve()}")
    print(f"open {page.resolve()}")
    return 0


def attention_or_none(model: Any, images: list[str], args: argparse.Namespace) -> list[Any] | None:
    """``model.explain`` of the images, or None for models without Medusa's attention (said in the log)."""
    try:
        return in_chunks(lambda part: model.explain(part, args.tasks, args.batch_size, native=args.native),
                         images, args.batch_size, "attention", not args.no_progress)  # fmt: skip
    except IncompatibleConfigError as error:
        log.info("no attention pictures: %s", error)
        return None


def in_chunks(work: Any, images: Sequence[str], size: int, what: str, progress: bool) -> list[Any]:
    """``work(chunk)`` over ``images`` in chunks of ``size`` with a progress bar; the results joined."""
    from tqdm.auto import tqdm

    results: list[Any] = []
    with tqdm(
        total=len(images), desc=what, unit="image", disable=not progress or len(images) <= size, leave=False
    ) as bar:
        for start in range(0, len(images), size):
            results.extend(work(list(images[start : start + size])))
            bar.update(min(size, len(images) - start))
    return results
