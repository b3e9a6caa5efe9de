"""Embed every image of a folder with a model's ``features()`` into a safetensors file
(tensor ``embeddings``, (N, D) float32; see :mod:`medusa_zoo.embeddings`).

    python -m medusa_zoo embed --model medusa_efficientnet_lite0.synthrooms --images photos/ --out photos.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import add_device, add_progress, add_size, output_file, pair, positive_int

HELP = "embed a folder of images with a model's universal features"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True,
                   help="arch.tag (e.g. medusa_efficientnet_lite0.synthrooms), hf-hub:org/name or local-dir:PATH")
    p.add_argument("--images", required=True, help="folder of images (.png, .jpg, .jpeg, .bmp, .webp)")
    p.add_argument("--out", required=True, type=output_file, help="output .safetensors file")
    p.add_argument("--batch-size", type=positive_int, default=16)
    add_size(p, "--size", "resize every image to H W (default: the model's input size)")
    add_device(p)
    add_progress(p)


def run(args: argparse.Namespace) -> int:
    from ..api import load
    from ..embeddings import extract_embeddings

    model = load(args.model, device=args.device)
    embeddings = extract_embeddings(model, args.images, args.out, batch_size=args.batch_size, size=pair(args.size),
                                    progress=not args.no_progress, metadata={"model": args.model})
    meta = embeddings.metadata
    h, w = meta["size"]
    print(f"wrote {Path(args.out).resolve()}: embeddings {tuple(embeddings.vectors.shape)} float32 "
          f"({len(embeddings)} images at {h}x{w}; {meta['arch'] or 'model'} channels per level {meta['channels']}, "
          f"strides {meta['strides']})")
    return 0
