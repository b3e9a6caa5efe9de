"""Training recipes: small JSON files naming architectures, tasks, data, optimiser and schedule.

A recipe is one per dataset × backbone family (``synthrooms_regnetx002``, ``nyud_hrnet18``,
...). The packaged ones live in ``medusa_zoo/recipes/``; ``load_recipe`` takes one of their
names or a path to any JSON file with the same fields. Unknown fields are refused at every
level (the ``loss_weights`` and ``data`` sections too, with the closest known name), so a typo
never silently falls back to a default; every number is type- and range-checked.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..bounds import show
from ..data import DATASETS, dataset_spec
from ..errors import RecipeError
from ..files import read_json
from ..preprocessing import MAX_SIDE

RECIPE_FORMAT = "medusa_zoo.recipe/1"
RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"
AMP_MODES = (None, "bf16", "fp16")


@dataclass(frozen=True)
class Recipe:
    """Everything a training run needs besides the architecture's registry row.

    ``batch_size`` is the global batch (split evenly over ``torchrun`` processes), so one
    recipe sees the same samples per step on 1 or N processes. ``train_size`` is the size
    images are resized to and ``crop`` the random window trained on (default: ``train_size``);
    ``eval_size`` is the evaluation size. ``backbone_weights`` names the backbone's initial
    weights (``"imagenet"``; None: random, see :mod:`medusa_zoo.backbones.weights`). ``schedule`` is poly(``power``) decay to 0 after a
    linear ``warmup`` of that many steps. ``amp`` applies on CUDA only; ``channels_last`` (the memory
    format of weights and images) on CPU and CUDA. ``auxiliary_tasks`` (tasks of the dataset, not
    in ``tasks``) are supervised inside the decoder only, with their ``loss_weights`` and deep
    supervision, and have no final output (MTI-Net's NYUD setting; only MTI-Net takes them).
    """

    name: str
    dataset: str
    architectures: tuple[str, ...]
    tasks: tuple[str, ...]
    steps: int
    backbone_weights: str | None = None
    batch_size: int = 8
    lr: float = 1e-4
    weight_decay: float = 1e-4
    optimizer: str = "adam"
    poly_power: float = 0.9
    warmup: int = 0
    loss_weights: Mapping[str, float] = field(default_factory=dict)
    deep_supervision: bool = True
    train_size: tuple[int, int] = (480, 640)
    crop: tuple[int, int] | None = None
    eval_size: tuple[int, int] | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    eval_split: str = "val"
    eval_images: int | None = None
    eval_every: int = 0
    checkpoint_every: int = 500
    log_every: int = 10
    seed: int = 0
    num_workers: int = 2
    amp: str | None = "bf16"
    channels_last: bool = True
    description: str = ""
    auxiliary_tasks: tuple[str, ...] = ()  # last: positional construction keeps its meaning

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise RecipeError(f"recipe {show(self.name)}: " + "; ".join(problems))

    @property
    def crop_size(self) -> tuple[int, int]:
        """The size of the training crops."""
        return self.crop or self.train_size

    def with_overrides(self, **changes: Any) -> Recipe:
        """A copy with some fields changed (validated like a file)."""
        return recipe_from_dict({**self.to_dict(), **changes}, source=f"{self.name} with overrides")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what a checkpoint records as its recipe)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        out["loss_weights"] = dict(self.loss_weights)
        out["data"] = dict(self.data)
        if not self.auxiliary_tasks:  # omitted when empty: recipes (and checkpoints) from before it compare equal
            del out["auxiliary_tasks"]
        return {"format": RECIPE_FORMAT, **out}


# (low, high) of every integer field; low 1 reads "positive", low 0 "non-negative"
INT_FIELDS: dict[str, tuple[int, int]] = {
    "steps": (1, 10**9), "batch_size": (1, 65536), "checkpoint_every": (1, 10**9), "log_every": (1, 10**9),
    "warmup": (0, 10**9), "eval_every": (0, 10**9), "seed": (0, 2**63 - 1), "num_workers": (0, 256),
}  # fmt: skip
FLOAT_FIELDS: dict[str, tuple[float, float]] = {"lr": (0.0, 10.0), "weight_decay": (0.0, 1.0), "poly_power": (0.0, 100.0)}
MAX_LOSS_WEIGHT = 1e6
MAX_IMAGES = 10**9
SPLIT_NAMES = ("train", "val", "test")
_TEXT_FIELDS = ("name", "dataset", "eval_split", "optimizer", "description")


def _problems(recipe: Recipe) -> list[str]:
    """Everything wrong with a recipe's values, one phrase each naming the field."""
    problems = [f"{k} must be a string, got {show(getattr(recipe, k))}" for k in _TEXT_FIELDS
                if not isinstance(getattr(recipe, k), str)]
    if problems:
        return problems
    if recipe.dataset not in DATASETS:
        problems.append(f"dataset must be a registered dataset ({', '.join(DATASETS.names())}), got {recipe.dataset!r}")
    if not recipe.architectures:
        problems.append("architectures must name at least one registry architecture")
    if not recipe.tasks:
        problems.append("tasks must name at least one task")
    problems += _auxiliary_problems(recipe)
    problems += _number_problems(recipe) + _section_problems(recipe) + _size_problems(recipe)
    if recipe.optimizer not in ("adam", "adamw", "sgd"):
        problems.append(f"optimizer must be 'adam', 'adamw' or 'sgd', got {recipe.optimizer!r}")
    if recipe.backbone_weights is not None and not isinstance(recipe.backbone_weights, str):
        problems.append(f"backbone_weights must be a name such as 'imagenet' or null, got {show(recipe.backbone_weights)}")
    if recipe.amp not in AMP_MODES:
        problems.append(f"amp must be one of {AMP_MODES}, got {show(recipe.amp)}")
    problems += [f"{k} must be true or false, got {show(getattr(recipe, k))}"
                 for k in ("deep_supervision", "channels_last") if not isinstance(getattr(recipe, k), bool)]
    return problems


def _auxiliary_problems(recipe: Recipe) -> list[str]:
    """auxiliary_tasks: distinct tasks of the dataset, none of them in tasks, trained by deep supervision."""
    aux = recipe.auxiliary_tasks
    if isinstance(aux, str) or not isinstance(aux, (list, tuple)) or not all(isinstance(t, str) for t in aux):
        return [f"auxiliary_tasks must be a list of task names, got {show(aux)}"]
    if not aux:
        return []
    problems = []
    if recipe.dataset in DATASETS:
        known = dataset_spec(recipe.dataset).task_names
        unknown = [t for t in aux if t not in known]
        if unknown:
            problems.append(f"auxiliary_tasks name task(s) {unknown} that dataset {recipe.dataset!r} does not have; "
                            f"its tasks are {list(known)}" + _did_you_mean(unknown[0], known))
    overlap = [t for t in aux if t in recipe.tasks]
    if overlap:
        problems.append(f"auxiliary_tasks {overlap} are also in tasks {list(recipe.tasks)}: a task either has a final "
                        "output (tasks) or is supervised inside the decoder only (auxiliary_tasks); list it once")
    repeated = sorted({t for t in aux if list(aux).count(t) > 1})
    if repeated:
        problems.append(f"auxiliary_tasks name {repeated} more than once")
    if recipe.deep_supervision is False:
        problems.append("auxiliary_tasks are trained through deep supervision only: set deep_supervision to true "
                        "(or drop auxiliary_tasks)")
    return problems


def _number_problems(recipe: Recipe) -> list[str]:
    problems = []
    for key, (low, high) in INT_FIELDS.items():
        value = getattr(recipe, key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            kind = "positive" if low == 1 else "non-negative"
            problems.append(f"{key} must be a {kind} integer, got {show(value)} (allowed: {low}..{high})")
    for key, (low, high) in FLOAT_FIELDS.items():
        value = getattr(recipe, key)
        fine = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not (fine and (value > low if key == "lr" else value >= low) and value <= high):
            kind = "positive" if key == "lr" else "non-negative"
            problems.append(f"{key} must be a finite {kind} number at most {high:g}, got {show(value)}")
    images = recipe.eval_images
    if images is not None and (isinstance(images, bool) or not isinstance(images, int) or not 1 <= images <= MAX_IMAGES):
        problems.append(f"eval_images must be a positive integer or null, got {show(images)} (allowed: 1..{MAX_IMAGES})")
    return problems


def _section_problems(recipe: Recipe) -> list[str]:
    """The nested sections: loss_weights (per task, finite and >= 0) and data (the dataset's options)."""
    problems = [f"{k} must be a JSON object, got {show(getattr(recipe, k))}" for k in ("loss_weights", "data")
                if not isinstance(getattr(recipe, k), Mapping)]
    if problems:
        return problems
    aux = list(recipe.auxiliary_tasks) if isinstance(recipe.auxiliary_tasks, (list, tuple)) else []
    unknown = sorted(set(recipe.loss_weights) - set(recipe.tasks) - set(aux))
    if unknown:
        also = f" or auxiliary_tasks {aux}" if aux else ""
        problems.append(f"loss_weights name task(s) {unknown} that are not in tasks {list(recipe.tasks)}{also}"
                        + _did_you_mean(unknown[0], [*recipe.tasks, *aux]))
    for task, weight in recipe.loss_weights.items():
        fine = isinstance(weight, (int, float)) and not isinstance(weight, bool) and math.isfinite(weight)
        if not (fine and 0 <= weight <= MAX_LOSS_WEIGHT):
            problems.append(f"loss_weights.{task} must be a finite number in [0, {MAX_LOSS_WEIGHT:g}], got {show(weight)}")
    if recipe.dataset in DATASETS:
        options = dataset_spec(recipe.dataset).options
        problems += _unknown_keys(recipe.data, options, f"data (the options of dataset {recipe.dataset!r})")
        sizes = recipe.data.get("sizes")
        if isinstance(sizes, Mapping):
            problems += _unknown_keys(sizes, SPLIT_NAMES, "data.sizes (images per split)")
            problems += [f"data.sizes.{split} must be a positive integer, got {show(n)}" for split, n in sizes.items()
                         if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_IMAGES]
    return problems


def _size_problems(recipe: Recipe) -> list[str]:
    problems = []
    for key in ("train_size", "crop", "eval_size"):
        try:
            _pair(getattr(recipe, key), key, "recipe")
        except RecipeError as bad:
            problems.append(str(bad).removeprefix("recipe: "))
    crop, size = recipe.crop, recipe.train_size
    if not problems and crop is not None and (crop[0] > size[0] or crop[1] > size[1]):
        problems.append(f"crop {list(crop)} must fit inside train_size {list(size)}: crops are cut from the resized image")
    return problems


def _unknown_keys(section: Mapping[str, Any], known: Sequence[str], where: str) -> list[str]:
    unknown = sorted(str(k) for k in set(section) - set(known))
    if not unknown:
        return []
    return [f"unknown field(s) {unknown} in {where}; it takes {sorted(known)}" + _did_you_mean(unknown[0], known)]


def _did_you_mean(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _pair(value: Any, key: str, source: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    valid = isinstance(value, (list, tuple)) and len(value) == 2
    if not (valid and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_SIDE for v in value)):
        raise RecipeError(f"{source}: {key} must be [height, width] in pixels, got {show(value)} (each 1..{MAX_SIDE})")
    return (int(value[0]), int(value[1]))


def recipe_from_dict(raw: Mapping[str, Any], source: str = "recipe") -> Recipe:
    """Validate a parsed recipe file: unknown keys at any level are refused with the closest known
    name, and every value is type- and range-checked (:class:`RecipeError` naming the field)."""
    if not isinstance(raw, Mapping):
        raise RecipeError(f"{source} must hold a JSON object, got {type(raw).__name__}")
    if raw.get("format") != RECIPE_FORMAT:
        raise RecipeError(f"{source}: format must be {RECIPE_FORMAT!r}, got {show(raw.get('format'))}")
    known = [f.name for f in fields(Recipe)]
    body = {k: v for k, v in raw.items() if k != "format"}
    unknown = sorted(str(k) for k in set(body) - set(known))
    if unknown:
        raise RecipeError(f"{source}: unknown field(s) {unknown}{_did_you_mean(unknown[0], known)}; "
                          f"recipes take {sorted(known)}")
    missing = sorted(f.name for f in fields(Recipe) if f.name in ("name", "dataset", "architectures", "tasks", "steps") and f.name not in body)
    if missing:
        raise RecipeError(f"{source}: missing required field(s) {missing}")
    for key in ("architectures", "tasks", "auxiliary_tasks"):
        if key not in body:  # auxiliary_tasks is optional
            continue
        if isinstance(body[key], str) or not isinstance(body[key], (list, tuple)):
            raise RecipeError(f"{source}: {key} must be a list of names, got {show(body[key])}")
        if not all(isinstance(v, str) for v in body[key]) or len(body[key]) > 64:
            raise RecipeError(f"{source}: {key} must be a list of at most 64 names (strings), got {show(body[key])}")
        body[key] = tuple(body[key])
    for key in ("train_size", "crop", "eval_size"):
        if key in body:
            body[key] = _pair(body[key], key, source)
    for key in ("loss_weights", "data"):
        if not isinstance(body.get(key, {}), Mapping):
            raise RecipeError(f"{source}: {key} must be a JSON object, got {show(body[key])}")
    try:
        return Recipe(**body)
    except TypeError as bad:
        raise RecipeError(f"{source}: {bad}") from None


def packaged_recipes() -> list[str]:
    """Names of the recipes that ship with the package."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.json"))


def load_recipe(name_or_path: str | Path) -> Recipe:
    """A packaged recipe by name (see :func:`packaged_recipes`) or a recipe JSON file by path.

    Files are read within the JSON budgets of :mod:`medusa_zoo.limits` (regular files only).
    """
    path = Path(name_or_path)
    if not os.path.lexists(path) or path.is_dir():
        if str(name_or_path) not in packaged_recipes():
            raise RecipeError(
                f"no recipe file {str(name_or_path)!r} and no packaged recipe of that name; "
                f"packaged recipes: {', '.join(packaged_recipes()) or 'none'}"
            )
        path = RECIPES_DIR / f"{name_or_path}.json"
    raw = read_json(path, RecipeError, "recipe")
    return recipe_from_dict(raw, source=f"recipe {path}")
