"""Recipes with ``auxiliary_tasks`` (MTI-Net's NYUD setting): validation, the model they build, the
loss terms of tasks without a final output, and a tiny training run that logs them but evaluates
the main tasks only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

import medusa_zoo
from medusa_zoo.errors import RecipeError, TrainingError
from medusa_zoo.losses import task_losses
from medusa_zoo.models.outputs import MultiTaskOutput
from medusa_zoo.training import build_for_recipe, load_recipe, recipe_from_dict, train
from medusa_zoo.training.checkpoint import list_checkpoints
from medusa_zoo.training.data import dataset_tasks

TINY: dict[str, Any] = {
    "format": "medusa_zoo.recipe/1",
    "name": "tiny_aux",
    "dataset": "synthrooms",
    "architectures": ["mtinet_regnetx002", "medusa_regnetx002", "stl_regnetx002"],
    "tasks": ["semseg", "depth"],
    "auxiliary_tasks": ["normals", "edge"],
    "loss_weights": {"semseg": 1.0, "depth": 1.0, "normals": 10.0, "edge": 50.0},
    "data": {"seed": 0, "resolution": [64, 96], "sizes": {"train": 8}},
    "train_size": [64, 96],
    "crop": [64, 64],
    "eval_size": [64, 96],
    "eval_images": 2,
    "batch_size": 2,
    "steps": 2,
    "checkpoint_every": 1,
    "log_every": 1,
    "num_workers": 0,
    "amp": None,
}


def _recipe(**changes: Any) -> dict[str, Any]:
    return json.loads(json.dumps({**TINY, **changes}))


# -- the recipe field ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        (
            {"auxiliary_tasks": ["albedo"]},
            "auxiliary_tasks name task(s) ['albedo'] that dataset 'synthrooms' does not have",
        ),
        ({"auxiliary_tasks": ["normal"]}, "did you mean 'normals'"),
        ({"auxiliary_tasks": ["depth", "edge"]}, "auxiliary_tasks ['depth'] are also in tasks"),
        ({"auxiliary_tasks": ["edge", "edge"]}, "auxiliary_tasks name ['edge'] more than once"),
        ({"auxiliary_tasks": "normals"}, "auxiliary_tasks must be a list of names"),
        ({"auxiliary_tasks": [3]}, "auxiliary_tasks must be a list of at most 64 names"),
        ({"deep_supervision": False}, "auxiliary_tasks are trained through deep supervision only"),
        ({"loss_weights": {"normals": 1.0, "albedo": 1.0}}, "not in tasks ['semseg', 'depth'] or auxiliary_tasks"),
    ],
)
def test_bad_auxiliary_tasks_are_refused_with_the_reason(changes: dict, phrase: str) -> None:
    with pytest.raises(RecipeError) as caught:
        recipe_from_dict(_recipe(**changes), source="tiny.json")
    assert phrase in str(caught.value), str(caught.value)


def test_auxiliary_tasks_round_trip_and_stay_out_of_recipes_without_them() -> None:
    recipe = recipe_from_dict(_recipe())
    assert recipe.auxiliary_tasks == ("normals", "edge") and recipe.loss_weights["edge"] == 50.0
    assert recipe_from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    plain = recipe_from_dict({k: v for k, v in _recipe(loss_weights={}).items() if k != "auxiliary_tasks"})
    assert plain.auxiliary_tasks == () and "auxiliary_tasks" not in plain.to_dict()  # old checkpoints compare equal


def test_the_packaged_mtinet_nyud_recipe_is_mtinets_own_configuration() -> None:
    recipe = load_recipe("nyud_hrnet18_mtinet_aux")
    base = load_recipe("nyud_hrnet18")
    assert recipe.tasks == ("semseg", "depth") and recipe.auxiliary_tasks == ("normals", "edge")
    assert recipe.architectures == ("mtinet_hrnet18",) and "MTI-Net's own NYUD" in recipe.description
    same = (
        "loss_weights",
        "train_size",
        "lr",
        "steps",
        "batch_size",
        "weight_decay",
        "backbone_weights",
        "eval_images",
    )
    assert all(getattr(recipe, k) == getattr(base, k) for k in same)


# -- the model and the loss ---------------------------------------------------------------------------


def test_the_recipe_builds_mtinet_with_auxiliary_modules() -> None:
    model = build_for_recipe(recipe_from_dict(_recipe()), "mtinet_regnetx002")
    assert list(model.tasks) == ["semseg", "depth"]
    assert model.config.head_options == {"auxiliary": {"normals": 3, "edge": 1}}


@pytest.mark.parametrize("arch", ["medusa_regnetx002", "stl_regnetx002"])
def test_other_architectures_refuse_auxiliary_tasks(arch: str, tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=rf"{arch} \(head '\w+'\) cannot take: only MTI-Net"):
        train(recipe_from_dict(_recipe()), arch, out=tmp_path / "run", threads=1, progress=False)
    assert not (tmp_path / "run").exists()


def test_a_main_task_cannot_also_be_auxiliary() -> None:
    with pytest.raises(RecipeError, match=r"task\(s\) \['normals'\] are auxiliary tasks"):
        build_for_recipe(recipe_from_dict(_recipe()), "mtinet_regnetx002", ["depth", "normals"])


def test_a_task_without_final_output_is_trained_through_its_deep_supervision() -> None:
    tasks = {t.name: t for t in dataset_tasks("synthrooms", ["depth", "normals"])}
    g = torch.Generator().manual_seed(0)
    deep = [torch.randn(1, 3, 8, 8, generator=g), torch.randn(1, 3, 4, 4, generator=g)]
    output = MultiTaskOutput({"depth": torch.randn(1, 1, 16, 16, generator=g)},
                             {"depth": [torch.randn(1, 1, 8, 8, generator=g)], "normals": deep})  # fmt: skip
    normals = torch.nn.functional.normalize(torch.randn(1, 3, 16, 16, generator=g), dim=1)
    targets = {"depth": torch.rand(1, 1, 16, 16, generator=g), "normals": normals}
    losses = task_losses(output, targets, tasks, {"normals": 10.0})
    assert set(losses) == {"depth", "normals"}
    alone = task_losses(MultiTaskOutput({}, {"normals": deep}), {"normals": normals}, tasks)["normals"]
    assert torch.allclose(losses["normals"], 10.0 * alone) and alone > 0
    with pytest.raises(TrainingError, match="'normals' has a target but the network gives it nothing to train"):
        task_losses(output, targets, tasks, deep_supervision=False)


# -- a tiny run ---------------------------------------------------------------------------------------


def test_training_logs_auxiliary_losses_and_evaluates_main_tasks_only(tmp_path: Path) -> None:
    recipe = recipe_from_dict(_recipe())
    run = train(recipe, "mtinet_regnetx002", out=tmp_path / "run", threads=1, progress=False, stop_after=1)
    assert run.steps == 1 and not run.metrics
    done = train(recipe, "mtinet_regnetx002", out=tmp_path / "run", threads=1, progress=False)  # resumes
    assert done.steps == 2 and [p.name for p in list_checkpoints(done.run_dir)][-1] == "step_0000002"
    entries = [json.loads(line) for line in (done.run_dir / "log.jsonl").read_text().splitlines()]
    steps = [e for e in entries if "losses" in e]
    assert [e["step"] for e in steps] == [1, 2]
    for entry in steps:
        assert set(entry["losses"]) == {"semseg", "depth", "normals", "edge"}
        assert entry["losses"]["normals"] > 0 and entry["losses"]["edge"] > 0
    assert set(done.metrics) == {"semseg", "depth"}
    assert set(json.loads((done.run_dir / "metrics.json").read_text())["values"]) == {"semseg", "depth"}
    saved = medusa_zoo.load(f"local-dir:{done.run_dir / 'model'}")  # strict: the aux modules come back
    assert list(saved.tasks) == ["semseg", "depth"]
    assert saved.config.head_options == {"auxiliary": {"normals": 3, "edge": 1}}
    state, trained = saved.state_dict(), done.model.state_dict()
    assert all(torch.equal(state[k], trained[k].cpu()) for k in trained)
    initial = build_for_recipe(recipe, "mtinet_regnetx002").state_dict()
    aux = [k for k in initial if k.startswith("decoder.initial.0.normals.")]
    assert aux and all(not torch.equal(initial[k], state[k]) for k in aux), "the aux loss did not train its modules"
