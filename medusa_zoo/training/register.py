"""Bundle a trained checkpoint into a source checkout and write its manifest entry, with metrics measured here.

    python -m medusa_zoo register --repo-root . --name medusa_efficientnet_lite0.synthrooms \\
        --model-dir runs/synthrooms_efficientnet_lite0/medusa/model --recipe synthrooms_efficientnet_lite0 --default

Copies the weights (float16 by default; ``--precision int8`` for per-channel int8, ``float32``)
to ``<repo-root>/medusa_zoo/bundled/<name>/``, loads that file back into a fresh network
exactly as users will, evaluates it on the recipe's evaluation split and on a small ``check``
subset (which the tests re-measure), and writes the entry (sha256, size, config, metrics,
recipe) into ``<repo-root>/checkpoints.json``. It writes only under the folder it is given,
never into an installed package. No number is typed by hand.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..errors import MedusaZooError, TrainingError
from ..hub.manifest import MANIFEST_NAME, write_entry
from ..models import CheckpointEntry, MultiTaskNet, load_folder
from ..models.publish import manifest_entry
from ..models.serialization import WEIGHTS_NAME, load_state_strict, quantize_int8, read_weights
from .evaluation import evaluate_model
from .recipe import load_recipe

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


def repo_paths(repo_root: str | Path) -> tuple[Path, Path]:
    """(bundled folder, manifest file) of a medusa_zoo source checkout; refuses any other folder."""
    root = Path(repo_root).expanduser().resolve()
    manifest = root / MANIFEST_NAME
    if not manifest.is_file() or not (root / "medusa_zoo").is_dir():
        raise TrainingError(
            f"{root} is not a medusa_zoo source checkout (it needs {MANIFEST_NAME} and medusa_zoo/ at its top); "
            "pass --repo-root with the folder of your clone"
        )
    return root / "medusa_zoo" / "bundled", manifest


def register(
    name: str,
    model_dir: str | Path,
    recipe: str,
    *,
    repo_root: str | Path,
    precision: str = "float16",
    default: bool = False,
    description: str = "",
    check_images: int = CHECK_IMAGES,
    command: str = "",
    progress: bool = False,
) -> CheckpointEntry:
    """Bundle ``model_dir``'s weights as ``name`` into the checkout at ``repo_root`` and (re)write its manifest entry."""
    from safetensors.torch import save_file

    if precision not in PRECISIONS:
        raise MedusaZooError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    bundled, manifest = repo_paths(repo_root)
    trained = load_folder(model_dir).eval()
    target = bundled / name / WEIGHTS_NAME
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
    write_entry(entry, manifest)
    return entry
