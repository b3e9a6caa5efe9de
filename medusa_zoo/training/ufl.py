"""The UFL protocol (DESIGN.md §1.5): how well a trunk's features serve a task it never saw.

For each held-out task ``t`` and architecture: train the network on the recipe's other
tasks (the *trunk*), freeze all of it (BatchNorm statistics included), attach a fresh head
of the architecture's own type for ``t``, train only that head, and evaluate ``t``. The UFL
score of ``t`` is its relative difference to a single-task network trained for ``t`` with
the same budget (sign as in Δm: positive is better); an architecture's UFL score is the mean
over held-out tasks. The trunks' own multi-task performance (Δm on the tasks they trained)
is reported next to it.

Every run folder is resumable and reused: running the protocol again skips finished trunks,
heads and references.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data import train_transforms
from ..errors import RecipeError
from ..metrics import delta_m
from ..models import ARCHITECTURES, load_folder
from .data import build_dataset, dataset_tasks, evaluation_loader
from .evaluation import evaluate, primary_metrics
from .finetune import finetune
from .loop import train
from .recipe import Recipe

UFL_FORMAT = "medusa_zoo.ufl/1"


@dataclass(frozen=True)
class Budget:
    """Steps for the trunks and single-task references (``steps``) and for each new head (``head_steps``)."""

    steps: int
    head_steps: int
    seed: int = 0


def run_folder(root: Path, recipe: Recipe, budget: Budget) -> Path:
    """Where one budget's runs live: ``<root>/<recipe>/steps<N>_seed<S>``."""
    return root / recipe.name / f"steps{budget.steps}_seed{budget.seed}"


def _recipe(recipe: Recipe, budget: Budget) -> Recipe:
    changes: dict[str, Any] = {"steps": budget.steps}
    if budget.seed != recipe.seed:
        changes["seed"] = budget.seed
    return recipe.with_overrides(**changes)


def _trained(recipe: Recipe, arch: str, tasks: list[str], folder: Path, threads: int | None, progress: bool) -> dict:
    """Train (or reuse) one network; its ``metrics.json`` (values, wall_s)."""
    if not (folder / "metrics.json").is_file():
        train(recipe, arch, tasks=tasks, out=folder, threads=threads, progress=progress)
    return json.loads((folder / "metrics.json").read_text())


def stl_references(recipe: Recipe, budget: Budget, tasks: Sequence[str], root: Path,
                   threads: int | None = None, progress: bool = False) -> dict[str, dict]:
    """Single-task networks for ``tasks`` at the budget: task -> metrics.json."""
    stl = _arch_with_head(recipe, "stl")
    folder = run_folder(root, recipe, budget) / "stl"
    return {t: _trained(_recipe(recipe, budget), stl, [t], folder / t, threads, progress) for t in tasks}


def held_out_cell(recipe: Recipe, budget: Budget, arch: str, task: str, root: Path,
                  threads: int | None = None, progress: bool = False) -> dict[str, Any]:
    """One cell: the trunk without ``task``, then a fresh head for ``task`` on it, frozen."""
    others = [t for t in recipe.tasks if t != task]
    head_type = ARCHITECTURES.get(arch).head
    folder = run_folder(root, recipe, budget) / head_type / f"without_{task}"
    trunk = _trained(_recipe(recipe, budget), arch, others, folder, threads, progress)
    result_file = folder / f"head_{task}.json"
    if result_file.is_file():
        return {"trunk": trunk, "head": json.loads(result_file.read_text())}
    model = load_folder(folder / "model").eval()
    model.source = f"local-dir:{folder / 'model'}"
    torch.manual_seed(budget.seed)
    model.add_task(dataset_tasks(recipe.dataset, [task])[0])
    started = time.perf_counter()
    transform = train_transforms(recipe.dataset, recipe.train_size, crop=recipe.crop, preprocessing=model.config.preprocessing)
    result = finetune(
        model, task, build_dataset(recipe.dataset, "train", [task], dict(recipe.data)), steps=budget.head_steps,
        lr=recipe.lr, batch_size=recipe.batch_size, weight_decay=recipe.weight_decay, optimizer=recipe.optimizer,
        warmup=min(recipe.warmup, budget.head_steps // 4), poly_power=recipe.poly_power,
        deep_supervision=recipe.deep_supervision, transform=transform, num_workers=recipe.num_workers,
        seed=budget.seed, threads=threads, progress=progress, amp=recipe.amp,
    )
    loader = evaluation_loader(recipe.dataset, recipe.eval_split, [task], dict(recipe.data), recipe.eval_images,
                               recipe.eval_size, model.config.preprocessing, num_workers=recipe.num_workers)
    values = evaluate(model, loader, recipe.dataset, tasks=[task])[task]
    model.save_head(task, folder / f"head_{task}")
    head = {
        "task": task, "values": values, "steps": budget.head_steps, "wall_s": round(time.perf_counter() - started, 1),
        "trainable_parameters": result.trainable.trainable, "frozen_parameters": result.trainable.frozen,
        "retrained_modules": model.head_module_names(task),
    }
    result_file.write_text(json.dumps(head, indent=2) + "\n")
    return {"trunk": trunk, "head": head}


def run_protocol(recipe: Recipe, archs: Sequence[str], held_out: Sequence[str], budget: Budget, root: Path,
                 threads: int | None = None, progress: bool = False) -> dict[str, Any]:
    """Every cell of ``archs`` × ``held_out``, their STL references and the scores, as one document."""
    unknown = [t for t in held_out if t not in recipe.tasks]
    if unknown:
        raise RecipeError(f"held-out task(s) {unknown} are not among recipe {recipe.name!r}'s tasks {list(recipe.tasks)}")
    for arch in archs:
        if arch not in recipe.architectures or ARCHITECTURES.get(arch).head == "stl":
            raise RecipeError(f"{arch!r} is not a multi-task architecture of recipe {recipe.name!r}")
    tasks = dataset_tasks(recipe.dataset, recipe.tasks)
    primary = primary_metrics(tasks, recipe.dataset)
    cells = {arch: {t: held_out_cell(recipe, budget, arch, t, root, threads, progress) for t in held_out} for arch in archs}
    stl = stl_references(recipe, budget, recipe.tasks, root, threads, progress)
    single = {t: stl[t]["values"][t] for t in recipe.tasks}
    rows = {}
    for arch, by_task in cells.items():
        ufl = {t: delta_m({t: c["head"]["values"]}, single, {t: primary[t]}) for t, c in by_task.items()}
        trunk_dm = {t: delta_m(c["trunk"]["values"], single, {k: primary[k] for k in c["trunk"]["values"]})
                    for t, c in by_task.items()}
        rows[arch] = {
            "ufl": sum(ufl.values()) / len(ufl), "ufl_per_task": ufl,
            "trunk_delta_m": sum(trunk_dm.values()) / len(trunk_dm), "trunk_delta_m_per_trunk": trunk_dm,
            "cells": by_task,
        }
    return {
        "recipe": recipe.name, "dataset": recipe.dataset, "split": recipe.eval_split,
        "images": recipe.eval_images, "steps": budget.steps, "head_steps": budget.head_steps, "seed": budget.seed,
        "held_out": list(held_out), "primary": {t: list(v) for t, v in primary.items()},
        "stl": {t: {"values": single[t], "wall_s": stl[t].get("wall_s")} for t in recipe.tasks},
        "architectures": rows,
    }


def _arch_with_head(recipe: Recipe, head: str) -> str:
    for arch in recipe.architectures:
        if ARCHITECTURES.get(arch).head == head:
            return arch
    raise RecipeError(f"recipe {recipe.name!r} has no {head!r} architecture; the UFL score needs one")
