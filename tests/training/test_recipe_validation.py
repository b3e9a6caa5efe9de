"""Recipes and manifests are validated data: unknown keys at every level (with the closest name),
bounded numbers, and JSON read within the size and depth budgets; every shipped recipe still validates."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from medusa_zoo.errors import ManifestError, RecipeError
from medusa_zoo.hub.manifest import Manifest, load_manifest
from medusa_zoo.training import load_recipe, packaged_recipes, recipe_from_dict

BASE: dict[str, Any] = {
    "format": "medusa_zoo.recipe/1",
    "name": "tiny",
    "dataset": "synthrooms",
    "architectures": ["medusa_regnetx002"],
    "tasks": ["semseg", "depth"],
    "loss_weights": {"semseg": 1.0, "depth": 2.0},
    "data": {"seed": 0, "resolution": [64, 96], "sizes": {"train": 32}},
    "train_size": [64, 96],
    "crop": [64, 64],
    "steps": 6,
}


def _with(**changes: Any) -> dict[str, Any]:
    return json.loads(json.dumps({**BASE, **changes}))


BAD_RECIPES: dict[str, tuple[dict[str, Any], str]] = {
    "top_typo": (_with(stpes=3), "did you mean 'steps'"),
    "data_typo": (_with(data={"seeds": 1}), "did you mean 'seed'"),
    "data_unknown": (_with(data={"evil": 1}), "unknown field(s) ['evil'] in data"),
    "data_sizes_typo": (_with(data={"sizes": {"trian": 5}}), "did you mean 'train'"),
    "data_sizes_zero": (_with(data={"sizes": {"train": 0}}), "data.sizes.train"),
    "loss_weights_typo": (_with(loss_weights={"semseg": 1.0, "dept": 1.0}), "did you mean 'depth'"),
    "loss_weight_negative": (_with(loss_weights={"semseg": -1.0}), "loss_weights.semseg"),
    "loss_weight_nan": (_with(loss_weights={"semseg": math.nan}), "finite"),
    "loss_weight_bool": (_with(loss_weights={"depth": True}), "loss_weights.depth"),
    "loss_weight_huge": (_with(loss_weights={"depth": 1e300}), "loss_weights.depth"),
    "loss_weights_list": (_with(loss_weights=[1.0]), "loss_weights must be a JSON object"),
    "crop_larger": (_with(crop=[128, 64]), "must fit inside train_size"),
    "crop_zero": (_with(crop=[0, 64]), "crop must be"),
    "crop_negative": (_with(crop=-8), "crop must be"),
    "train_size_huge": (_with(train_size=[10**6, 64], crop=None), "train_size"),
    "steps_zero": (_with(steps=0), "steps must be a positive integer"),
    "steps_bool": (_with(steps=True), "steps"),
    "steps_huge": (_with(steps=10**12), "steps"),
    "batch_zero": (_with(batch_size=0), "batch_size must be a positive integer"),
    "batch_negative": (_with(batch_size=-4), "batch_size"),
    "lr_zero": (_with(lr=0.0), "lr must be a finite positive number"),
    "lr_negative": (_with(lr=-0.1), "lr"),
    "lr_inf": (_with(lr=math.inf), "lr"),
    "lr_string": (_with(lr="1e-3"), "lr"),
    "weight_decay_negative": (_with(weight_decay=-1.0), "weight_decay"),
    "eval_images_zero": (_with(eval_images=0), "eval_images"),
    "num_workers_huge": (_with(num_workers=10**6), "num_workers"),
    "deep_supervision_str": (_with(deep_supervision="yes"), "deep_supervision must be true or false"),
    "name_not_str": (_with(name=5), "name must be a string"),
    "tasks_not_strings": (_with(tasks=[1, 2]), "tasks must be a list"),
    "not_an_object": ([BASE], "must hold a JSON object"),
}


@pytest.mark.parametrize("case", list(BAD_RECIPES))
def test_bad_recipe_is_refused_naming_the_field(case: str) -> None:
    raw, phrase = BAD_RECIPES[case]
    with pytest.raises(RecipeError) as caught:
        recipe_from_dict(raw, source="tiny.json")
    assert phrase in str(caught.value), str(caught.value)


def test_the_base_recipe_is_fine() -> None:
    recipe = recipe_from_dict(_with())
    assert recipe.crop_size == (64, 64) and dict(recipe.loss_weights) == {"semseg": 1.0, "depth": 2.0}


@pytest.mark.parametrize("name", packaged_recipes())
def test_every_shipped_recipe_validates(name: str) -> None:
    recipe = load_recipe(name)
    assert recipe.name == name
    assert recipe_from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_recipe_files_are_read_within_budgets(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(_deep(100_000))
    with pytest.raises(RecipeError, match="nested more than"):
        load_recipe(deep)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(RecipeError, match="not a regular file"):
        load_recipe(fifo)
    with pytest.raises(RecipeError, match="no packaged recipe"):
        load_recipe("../recipes/nyud_hrnet18")


def test_manifest_files_are_read_within_budgets(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"format": ' + _deep(100_000) + "}")
    with pytest.raises(ManifestError, match="nested more than"):
        load_manifest(deep)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(ManifestError, match="not a regular file"):
        load_manifest(fifo)


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        ([], "expected"),
        ({"format": "medusa_zoo.checkpoints/1", "checkpoints": []}, "expected"),
        ({"format": "medusa_zoo.checkpoints/1", "checkpoints": {"medusa_regnetx002.x": [1]}}, "JSON object"),
        ({"format": "medusa_zoo.checkpoints/1", "checkpoints": {"medusa_regnetx002.x": None}}, "JSON object"),
    ],
)
def test_malformed_manifests_are_manifest_errors(raw: Any, phrase: str) -> None:
    with pytest.raises(ManifestError, match=phrase):
        Manifest.from_dict(raw)


def test_manifest_entry_with_a_hostile_config_is_refused() -> None:
    path = Path(__file__).resolve().parents[2] / "checkpoints.json"
    raw = json.loads(path.read_text())
    entry = next(iter(raw["checkpoints"].values()))
    entry["config"]["backbone"]["kwargs"] = {"checkpoint_path": "/etc/passwd"}
    with pytest.raises(ManifestError, match="checkpoint_path"):
        Manifest.from_dict(raw)
    assert len(load_manifest(path).names()) == len(raw["checkpoints"])
