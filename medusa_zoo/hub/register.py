"""Bundle a trained checkpoint and write its manifest entry with metrics measured here.

    python -m medusa_zoo.hub.register --name medusa_regnetx002.synthrooms \\
        --model-dir runs/synthrooms_regnetx002/medusa/model --recipe synthrooms_regnetx002 --default

Copies the weights (float16 by default; ``--precision int8`` for per-channel int8, ``float32``) to ``medusa_zoo/bundled/<name>/``, loads that file
back into a fresh network exactly as users will, evaluates it on the recipe's evaluation
split and on a small ``check`` subset (which the tests re-measure), and writes the entry
(sha256, size, config, metrics, recipe) into ``checkpoints.json``. No number is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import MedusaZooError
from ..models.network import MultiTaskNet
from ..models.serialization import WEIGHTS_NAME, load_state_strict, quantize_int8, read_weights
from ..training import load_recipe
from ..training.evaluation import evaluate_model
from .manifest import BUNDLED_DIR, CheckpointEntry, load_manifest, manifest_path
from .publish import manifest_entry

CHECK_IMAGES = 16
PRECISIONS = ("float16", "int8", "float32")


def stored_state(model: torch.nn.Module, precision: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata to store for ``precision`` (integer buffers never change)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if precision == "int8":
        return quantize_int8(state)
    if precision == "float16":
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    elif precision != "float32":
        raise MedusaZooError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return {k: v.contiguous() for k, v in state.items()}, {"format": "pt", "dtype": precision}


def measure(model: MultiTaskNet, recipe_name: str, check_images: int = CHECK_IMAGES, progress: bool = False) -> dict[str, Any]:
    """Metrics of ``model`` on the recipe's evaluation split and on its first ``check_images`` images."""
    recipe = load_recipe(recipe_name)
    where = (recipe.dataset, recipe.eval_split)
    full = evaluate_model(model, *where, recipe.eval_images, dict(recipe.data), recipe.eval_size, progress=progress)
    check = evaluate_model(model, *where, check_images, dict(recipe.data), recipe.eval_size)
    metrics: dict[str, Any] = {
        "dataset": recipe.dataset, "split": recipe.eval_split, "images": full["images"], "values": full["values"],
        "check": {"split": recipe.eval_split, "images": check_images, "values": check["values"]},
    }
    if full["delta_m"] is not None:
        metrics["delta_m"] = full["delta_m"]
    return metrics


def register(
    name: str,
    model_dir: str | Path,
    recipe: str,
    *,
    precision: str = "float16",
    default: bool = False,
    description: str = "",
    manifest: str | Path | None = None,
    check_images: int = CHECK_IMAGES,
    command: str = "",
    progress: bool = False,
) -> CheckpointEntry:
    """Bundle ``model_dir``'s weights as ``name`` and (re)write its manifest entry."""
    from safetensors.torch import save_file

    import medusa_zoo

    trained = medusa_zoo.load(f"local-dir:{model_dir}", device="cpu")
    target = BUNDLED_DIR / name / WEIGHTS_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    state, metadata = stored_state(trained, precision)
    save_file(state, target, metadata=metadata)
    os.chmod(target, 0o644)  # readable by every user of an installed wheel
    shipped = MultiTaskNet(trained.config)  # what users get: the bundled file in a fresh network
    load_state_strict(shipped, read_weights(target), str(target))
    metrics = measure(shipped, recipe, check_images, progress)
    metrics["precision"], metrics["command"] = precision, command
    entry = manifest_entry(shipped, name, target, hub=None, bundled=True, default=default, metrics=metrics,
                           recipe=recipe, description=description)
    write_entry(entry, Path(manifest) if manifest else manifest_path())
    return entry


def write_entry(entry: CheckpointEntry, path: Path) -> None:
    """Add or replace ``entry`` in the manifest file at ``path`` (atomically, then re-validated)."""
    raw = json.loads(path.read_text())
    if entry.default:
        for other in raw["checkpoints"].values():
            if other["architecture"] == entry.architecture:
                other["default"] = False
    raw["checkpoints"][entry.name] = entry.to_dict()
    raw["checkpoints"] = dict(sorted(raw["checkpoints"].items()))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        out.write(json.dumps(raw, indent=2) + "\n")
    os.replace(temporary, path)
    load_manifest(path)  # raises ManifestError if what we wrote does not validate


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m medusa_zoo.hub.register", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True, help="manifest name, <architecture>.<tag>")
    p.add_argument("--model-dir", required=True, help="folder with config.json + model.safetensors (a run's model/)")
    p.add_argument("--recipe", required=True, help="the recipe it was trained with (its evaluation split is used)")
    p.add_argument("--precision", choices=PRECISIONS, default="float16", help="how the bundled weights are stored")
    p.add_argument("--default", action="store_true", help="make it the architecture's default checkpoint")
    p.add_argument("--description", default="")
    p.add_argument("--manifest", help="manifest file (default: the package's checkpoints.json)")
    p.add_argument("--check-images", type=int, default=CHECK_IMAGES)
    args = p.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    command = "python -m medusa_zoo.hub.register " + shlex.join(sys.argv[1:] if argv is None else argv)
    try:
        entry = register(args.name, args.model_dir, args.recipe, precision=args.precision, default=args.default,
                         description=args.description, manifest=args.manifest, check_images=args.check_images,
                         command=command, progress=True)
    except MedusaZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({entry.name: {k: v for k, v in entry.to_dict().items() if k != "config"}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
