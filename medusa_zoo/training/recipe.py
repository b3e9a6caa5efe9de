"""Training recipes: small JSON files naming architectures, tasks, data, optimiser and schedule.

A recipe is one per dataset × backbone family (``synthrooms_regnetx002``, ``nyud_hrnet18``,
...). The packaged ones live in ``medusa_zoo/recipes/``; ``load_recipe`` takes one of their
names or a path to any JSON file with the same fields. Unknown fields are refused, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..data import DATASETS
from ..errors import RecipeError

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
    format of weights and images) on CPU and CUDA.
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

    def __post_init__(self) -> None:
        problems = []
        if self.dataset not in DATASETS:
            problems.append(f"dataset must be a registered dataset ({', '.join(DATASETS.names())}), got {self.dataset!r}")
        if not self.architectures:
            problems.append("architectures must name at least one registry architecture")
        if not self.tasks:
            problems.append("tasks must name at least one task")
        for key in ("steps", "batch_size", "checkpoint_every", "log_every"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < 1:
                problems.append(f"{key} must be a positive integer, got {getattr(self, key)!r}")
        for key in ("warmup", "eval_every", "seed", "num_workers"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < 0:
                problems.append(f"{key} must be a non-negative integer, got {getattr(self, key)!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            problems.append(f"lr must be a positive number, got {self.lr!r}")
        if self.optimizer not in ("adam", "adamw", "sgd"):
            problems.append(f"optimizer must be 'adam', 'adamw' or 'sgd', got {self.optimizer!r}")
        if self.backbone_weights is not None and not isinstance(self.backbone_weights, str):
            problems.append(f"backbone_weights must be a name such as 'imagenet' or null, got {self.backbone_weights!r}")
        if self.amp not in AMP_MODES:
            problems.append(f"amp must be one of {AMP_MODES}, got {self.amp!r}")
        unknown = sorted(set(self.loss_weights) - set(self.tasks))
        if unknown:
            problems.append(f"loss_weights name task(s) {unknown} that are not in tasks {list(self.tasks)}")
        if problems:
            raise RecipeError(f"recipe {self.name!r}: " + "; ".join(problems))

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
        return {"format": RECIPE_FORMAT, **out}


def _pair(value: Any, key: str, source: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value)):
        raise RecipeError(f"{source}: {key} must be [height, width] in pixels, got {value!r}")
    return (int(value[0]), int(value[1]))


def recipe_from_dict(raw: Mapping[str, Any], source: str = "recipe") -> Recipe:
    """Validate a parsed recipe file."""
    if not isinstance(raw, Mapping):
        raise RecipeError(f"{source} must hold a JSON object, got {type(raw).__name__}")
    if raw.get("format") != RECIPE_FORMAT:
        raise RecipeError(f"{source}: format must be {RECIPE_FORMAT!r}, got {raw.get('format')!r}")
    known = {f.name for f in fields(Recipe)}
    body = {k: v for k, v in raw.items() if k != "format"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise RecipeError(f"{source}: unknown field(s) {unknown}; recipes take {sorted(known)}")
    missing = sorted(f.name for f in fields(Recipe) if f.name in ("name", "dataset", "architectures", "tasks", "steps") and f.name not in body)
    if missing:
        raise RecipeError(f"{source}: missing required field(s) {missing}")
    for key in ("architectures", "tasks"):
        if isinstance(body[key], str) or not isinstance(body[key], (list, tuple)):
            raise RecipeError(f"{source}: {key} must be a list of names, got {body[key]!r}")
        body[key] = tuple(str(v) for v in body[key])
    for key in ("train_size", "crop", "eval_size"):
        if key in body:
            body[key] = _pair(body[key], key, source)
    if not isinstance(body.get("loss_weights", {}), Mapping) or not isinstance(body.get("data", {}), Mapping):
        raise RecipeError(f"{source}: loss_weights and data must be JSON objects")
    try:
        return Recipe(**body)
    except TypeError as bad:
        raise RecipeError(f"{source}: {bad}") from None


def packaged_recipes() -> list[str]:
    """Names of the recipes that ship with the package."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.json"))


def load_recipe(name_or_path: str | Path) -> Recipe:
    """A packaged recipe by name (see :func:`packaged_recipes`) or a recipe JSON file by path."""
    path = Path(name_or_path)
    if not path.is_file():
        path = RECIPES_DIR / f"{name_or_path}.json"
    if not path.is_file():
        raise RecipeError(
            f"no recipe file {str(name_or_path)!r} and no packaged recipe of that name; "
            f"packaged recipes: {', '.join(packaged_recipes()) or 'none'}"
        )
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as bad:
        raise RecipeError(f"recipe {path} is not valid JSON: {bad}") from None
    return recipe_from_dict(raw, source=f"recipe {path}")
