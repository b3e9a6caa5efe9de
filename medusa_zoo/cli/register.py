"""Bundle a trained checkpoint into a source checkout and write its manifest entry (maintainers).

    python -m medusa_zoo register --repo-root . --name medusa_efficientnet_lite0.synthrooms \\
        --model-dir runs/synthrooms_efficientnet_lite0/medusa/model --recipe synthrooms_efficientnet_lite0 --default

Writes ``<repo-root>/medusa_zoo/bundled/<name>/model.safetensors`` and the entry in
``<repo-root>/checkpoints.json``, with metrics measured on the stored file; never writes into an
installed package.
"""

from __future__ import annotations

import argparse
import json
import os

from .args import add_threads, existing_dir, positive_int

HELP = "bundle a trained checkpoint into a source checkout (maintainers)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo-root", required=True, type=existing_dir, help="the medusa_zoo source checkout to write into")
    p.add_argument("--name", required=True, help="manifest name, <architecture>.<tag>")
    p.add_argument("--model-dir", required=True, type=existing_dir,
                   help="folder with config.json + model.safetensors (a run's model/)")
    p.add_argument("--recipe", required=True, help="the recipe it was trained with (its evaluation split is used)")
    p.add_argument("--precision", default="float16", choices=("float16", "int8", "float32"),
                   help="how the bundled weights are stored (default %(default)s)")
    p.add_argument("--default", action="store_true", help="make it the architecture's default checkpoint")
    p.add_argument("--description", default="")
    p.add_argument("--check-images", type=positive_int, help="images of the re-measured check subset (default 16)")
    add_threads(p, "CPU threads for the evaluation (default: all cores)")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..training.register import register

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    check = {} if args.check_images is None else {"check_images": args.check_images}
    entry = register(args.name, args.model_dir, args.recipe, repo_root=args.repo_root, precision=args.precision,
                     default=args.default, description=args.description, **check,
                     command=args.command_line, progress=True)
    print(json.dumps({entry.name: {k: v for k, v in entry.to_dict().items() if k != "config"}}, indent=2))
    return 0
