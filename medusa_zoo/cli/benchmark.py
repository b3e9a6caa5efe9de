"""Measure, and print what README pastes.

    python -m medusa_zoo benchmark efficiency [--backbone hrnet18]
    python -m medusa_zoo benchmark synthrooms-speed [--images 200] [--resolution 192 256]

``efficiency``: parameters and FLOPs of every head type at the paper's settings (PyTorch's
flop counter on the meta device). ``synthrooms-speed``: SynthRooms rendering speed on one CPU
thread (thread pools are pinned to one thread before numpy and torch load).
"""

from __future__ import annotations

import argparse
import os

from .args import add_size, pair, positive_int

HELP = "efficiency (params, FLOPs) and SynthRooms rendering speed"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("which", choices=("efficiency", "synthrooms-speed"), help="what to measure")
    p.add_argument("--backbone", default="hrnet18", help="efficiency: the backbone of every head type")
    p.add_argument("--images", type=positive_int, default=200, help="synthrooms-speed: images to render")
    add_size(p, "--resolution", "synthrooms-speed: rendering size", default=(192, 256))


def run(args: argparse.Namespace) -> int:
    if args.which == "efficiency":
        from ..benchmarks.efficiency import markdown_table

        print(markdown_table(args.backbone))
        print("\nstl = one network per task, summed. GMACs: batch 1, convolutions and matmuls only.")
        return 0
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"  # effective only where numpy / torch are not loaded yet
    from ..benchmarks.synthrooms_speed import report

    print(report(args.images, pair(args.resolution)))  # type: ignore[arg-type]
    return 0
