"""Export a model for deployment: an ONNX file, or a ``torch.export`` program (``.pt2``).

    python -m medusa_zoo export --model medusa_efficientnet_lite0.synthrooms --out medusa.onnx
    python -m medusa_zoo export --model medusa_efficientnet_lite0.synthrooms --out medusa.pt2 --tasks depth semseg

The exported graph takes normalised images (B, 3, H, W) named ``image`` and returns one logits
tensor per task at the input size, in task order; batch, height and width are dynamic (height
and width in multiples of the backbone's largest stride). ``--optimize`` (the default) folds
BatchNorm first (``model.optimize_for_inference()``). ONNX needs ``pip install "medusa-zoo[onnx]"``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import add_size, output_file, pair

HELP = "export a model as ONNX or a torch.export program"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="arch.tag, arch, hf-hub:org/name or local-dir:PATH")
    p.add_argument("--out", required=True, type=output_file,
                   help="output file: .onnx for ONNX, .pt2 for a torch.export program")
    p.add_argument("--tasks", nargs="+", help="the tasks to export (default: all)")
    add_size(p, "--size", "example size traced at (default: the model's design input size)")
    p.add_argument("--static", action="store_true", help="fix batch, height and width to the example's")
    p.add_argument("--no-optimize", action="store_true", help="export without folding BatchNorm")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..api import load
    from ..errors import ExportError
    from ..models.export import export_onnx, export_program

    out = Path(args.out)
    if out.suffix not in (".onnx", ".pt2"):
        raise ExportError(f"--out must end in .onnx or .pt2, got {out.name!r}")
    model = load(args.model, device="cpu")
    if not args.no_optimize:
        model.optimize_for_inference(channels_last=False)
    if out.suffix == ".onnx":
        export_onnx(model, out, args.tasks, pair(args.size), dynamic=not args.static)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        program = export_program(model, args.tasks, pair(args.size), dynamic=not args.static)
        try:
            torch.export.save(program, str(out))
        except Exception as failure:  # the serialiser raises its own types
            raise ExportError(f"the exported program could not be saved to {out}: "
                              f"{type(failure).__name__}: {str(failure)[:300]}") from failure
    print(f"wrote {out.resolve()} ({out.stat().st_size / 1e6:.1f} MB): input 'image' (B, 3, H, W), outputs "
          f"{list(args.tasks or model.tasks)}")
    return 0
