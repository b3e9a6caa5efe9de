"""A task the network never trained on: fit a surface-normals head on frozen Medusa features.

``medusa_efficientnet_lite0.synthrooms-no-normals`` is Medusa trained on SynthRooms exactly like the
default checkpoint (same recipe, steps and seed) but on five tasks, without surface normals;
it ships without a normals head. This script attaches a fresh Medusa head (SFA + MSA) for
normals, freezes everything else (BatchNorm statistics included), trains only the new head,
and compares its error with the jointly trained checkpoint's normals head and a trivial
predictor, on the same validation images. The trunk's other five tasks are unchanged.
It saves the new head alone (a few MB) and shows it loading back onto the trunk.

Default: 200 head steps of 8 crops (the UFL benchmark's head budget). At one CPU thread, next to
a training run, the fit and its evaluation took 5 minutes (about 1.1 s per step) and the whole
script, with its three evaluations of 300 images, 7.2; ``--steps`` and ``--images`` change both.

    python examples/finetune_new_head.py [--steps 200] [--images 300] [--out outputs/finetune_new_head] [--results FILE]

``--results FILE`` writes the three rows' metrics, the parameter counts, the head's size and the
time, with this command, to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import medusa_zoo
from medusa_zoo.data import SynthRooms, train_transforms
from medusa_zoo.training.data import evaluation_loader
from medusa_zoo.training.evaluation import evaluate

TRUNK = "medusa_efficientnet_lite0.synthrooms-no-normals"
JOINT = "medusa_efficientnet_lite0.synthrooms"
TRAIN_SIZE, CROP, EVAL_SIZE = (192, 256), (128, 160), (192, 256)  # as in the recipe synthrooms_efficientnet_lite0


def normals_error(model: medusa_zoo.MultiTaskNet, images: int) -> dict[str, float]:
    """Normals metrics on the first ``images`` SynthRooms val scenes (the checkpoints' evaluation set)."""
    loader = evaluation_loader("synthrooms", "val", ["normals"], {"seed": 0}, images, EVAL_SIZE,
                               model.config.preprocessing)
    return evaluate(model, loader, "synthrooms", tasks=["normals"])["normals"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200, help="training steps of the new head (batch 8)")
    parser.add_argument("--images", type=int, default=300, help="validation images to score on")
    parser.add_argument("--out", default="outputs/finetune_new_head")
    parser.add_argument("--results", type=Path, help="write the measured rows to this JSON file")
    args = parser.parse_args()

    model = medusa_zoo.load(TRUNK, device="auto")  # bundled, sha256-checked, no network
    print(f"{TRUNK}: tasks {list(model.tasks)}")
    torch.manual_seed(0)
    model.add_task("normals")  # a fresh Medusa head: SFA + MSA, random weights
    untrained = normals_error(model, args.images)

    started = time.perf_counter()
    train = SynthRooms("train", tasks=["normals"])
    augment = train_transforms("synthrooms", TRAIN_SIZE, crop=CROP, preprocessing=model.config.preprocessing)
    result = medusa_zoo.finetune(model, "normals", train, steps=args.steps, lr=1e-3, batch_size=8, transform=augment)
    tuned = normals_error(model, args.images)
    minutes = (time.perf_counter() - started) / 60

    joint = normals_error(medusa_zoo.load(JOINT, device="auto"), args.images)
    print(f"\nsurface normals on SynthRooms val ({args.images} images), mean angular error (lower is better):")
    rows = [
        (f"new head on the frozen no-normals trunk ({args.steps} steps, {minutes:.1f} min)", tuned),
        (f"jointly trained normals head ({JOINT})", joint),
        ("the same new head before training", untrained),
    ]
    for label, metrics in rows:
        print(f"  {label:<66} {metrics['mean']:6.1f}°   ({metrics['within_22.5']:.1f}% of pixels within 22.5°)")
    print(f"  ({result.trainable})")

    head = model.save_head("normals", Path(args.out) / "normals_head")
    head_bytes = (head / "head.safetensors").stat().st_size
    again = medusa_zoo.load(TRUNK, device="auto")
    again.load_head(head)  # refuses any trunk but the one it was trained on
    print(f"\nsaved the head alone to {head} ({head_bytes / 1e6:.1f} MB) and loaded it back onto {TRUNK}")
    if args.results:
        record = {
            "kind": "new_head_on_frozen_trunk", "trunk": TRUNK, "joint": JOINT, "task": "normals",
            "dataset": "synthrooms", "split": "val", "images": args.images, "head_steps": args.steps,
            "values": {"new_head": tuned, "joint_head": joint, "untrained_head": untrained},
            "trainable": result.trainable.trainable, "frozen": result.trainable.frozen,
            "head_file_bytes": head_bytes, "head_minutes": round(minutes, 2),
            "command": "python " + " ".join(sys.argv),
        }
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
