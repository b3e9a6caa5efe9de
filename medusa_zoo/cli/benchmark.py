"""Measure, and print what README pastes (``--out FILE`` also writes the results JSON).

    python -m medusa_zoo benchmark latency [--settings nyud pascal] [--threads 1 2] [--repeats 5]
    python -m medusa_zoo benchmark training [--recipe synthrooms_regnetx002] [--steps 8]
    python -m medusa_zoo benchmark heads [--backbone hrnet18] [--tasks 4]
    python -m medusa_zoo benchmark compile [--backbone hrnet18] [--repeats 5]
    python -m medusa_zoo benchmark efficiency [--backbone hrnet18]
    python -m medusa_zoo benchmark synthrooms-speed [--images 200] [--resolution 192 256]
    python -m medusa_zoo benchmark predict-memory [--model medusa_efficientnet_lite0] [--megapixels 1 4 16 24]

``latency``: inference time of Medusa and every baseline side by side (eager and after
``optimize_for_inference``), ratios, peak memory; CUDA rows when a GPU is present.
``training``: CPU training-step time per architecture, before and after the engine's CPU
speed-ups. ``heads``: Medusa's head stages one task at a time against batched over tasks.
``compile``: torch.compile's compile time and speed-up on Medusa.
``efficiency``: parameters and FLOPs at the paper's settings. ``synthrooms-speed``:
SynthRooms rendering speed on one CPU thread. ``predict-memory``: peak memory of ``predict`` on one
image as it grows (what the ``max_image_pixels`` budget costs).
"""

from __future__ import annotations

import argparse
import os

from .args import add_recipe, add_size, existing_dir, output_file, pair, positive_float, positive_int, thread_count

HELP = "latency, training-step time, batched heads, efficiency (params, FLOPs), SynthRooms speed, predict memory"
WHICH = ("latency", "training", "heads", "compile", "efficiency", "synthrooms-speed", "predict-memory")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("which", choices=WHICH, help="what to measure")
    p.add_argument("--backbone", default="hrnet18", help="latency, heads, efficiency: the backbone")
    p.add_argument("--settings", nargs="+", choices=("nyud", "pascal"), default=["nyud", "pascal"], help="latency")
    p.add_argument("--threads", type=thread_count, nargs="+", default=[1, 2], help="latency: CPU thread counts")
    p.add_argument("--repeats", type=positive_int, default=5, help="latency: interleaved rounds")
    p.add_argument("--heads", nargs="+", help="latency: head types (default all)")
    p.add_argument("--no-memory", action="store_true", help="latency: skip the peak-memory probes")
    p.add_argument("--statistic", choices=("median", "min"), default="median", help="latency: over the rounds")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="latency: cuda gives the CUDA table only")
    add_recipe(p, required=False, default="synthrooms_regnetx002")
    p.add_argument("--archs", nargs="+", help="training: architectures (default: the recipe's)")
    p.add_argument("--steps", type=positive_int, default=8, help="training: steps per configuration")
    p.add_argument("--baseline", type=existing_dir,
                   help="training: a checkout of another version to compare with (its medusa_zoo/)")
    p.add_argument("--tasks", type=positive_int, default=4, help="heads: number of tasks")
    p.add_argument("--images", type=positive_int, default=200, help="synthrooms-speed: images to render")
    add_size(p, "--resolution", "synthrooms-speed: rendering size", default=(192, 256))
    p.add_argument("--model", default="medusa_efficientnet_lite0", help="predict-memory: the checkpoint")
    p.add_argument("--megapixels", type=positive_float, nargs="+", default=[1, 4, 16, 24],
                   help="predict-memory: image sizes, ascending")
    p.add_argument("--out", type=output_file, help="also write the results JSON here")


def run(args: argparse.Namespace) -> int:
    if args.which in ("latency", "training", "heads", "compile", "predict-memory"):
        return _measured(args)
    if args.which == "efficiency":
        from ..benchmarks.efficiency import markdown_table
        from ..benchmarks.efficiency import run as count

        document = count(args.backbone)
        print(markdown_table(document=document))
        if args.out:
            from ..training.results import write_results

            write_results(args.out, {**document, "command": args.command_line})
        print("\nstl = one network per task, summed. GMACs: batch 1, convolutions and matmuls only.")
        return 0
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"  # effective only where numpy / torch are not loaded yet
    from ..benchmarks.synthrooms_speed import report

    print(report(args.images, pair(args.resolution)))  # type: ignore[arg-type]
    return 0


def _measured(args: argparse.Namespace) -> int:
    from ..training.results import write_results

    if args.which == "latency":
        from ..benchmarks import latency as bench

        document = bench.run(args.settings, args.threads, args.repeats, args.backbone,
                             tuple(args.heads or bench.HEADS), memory=not args.no_memory, device=args.device,
                             statistic=args.statistic)
    elif args.which == "training":
        from ..benchmarks import training_step as bench  # type: ignore[no-redef]

        document = bench.measure(args.recipe, args.archs, args.steps, max(args.threads), args.baseline)
    elif args.which == "compile":
        from ..benchmarks import compiled as bench  # type: ignore[no-redef]

        document = bench.run(args.backbone, args.repeats, max(args.threads))
    elif args.which == "predict-memory":
        from ..benchmarks import predict_memory as bench  # type: ignore[no-redef]

        document = bench.run(args.model, sorted(args.megapixels))
    else:
        from ..benchmarks import batched_heads as bench  # type: ignore[no-redef]

        document = bench.run(args.backbone, args.tasks, max(args.threads))
    document["command"] = args.command_line
    print()
    print(bench.markdown(document))
    if args.out:
        print(f"wrote {write_results(args.out, document)}")
    return 0
