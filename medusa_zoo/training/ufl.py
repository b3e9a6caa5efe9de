"""The UFL protocol (DESIGN.md §1.5): how well a trunk's features serve a task it never saw.

For each held-out task ``t``, architecture and seed: train the network on the recipe's other
tasks (the *trunk*), freeze all of it (BatchNorm statistics included), fit fresh heads for
``t`` and evaluate ``t``. Two kinds of head are fitted on every trunk:

- the trunk's **own** head design (``model.add_task``: a Medusa head on Medusa, an HRNet head
  on MTL, MTI-Net's task modules, which read the frozen tasks' features, on MTI-Net);
- one or more **common** head designs (e.g. ``medusa`` or ``mtl``, the HRNet head), built on
  the trunk's frozen backbone alone and identical for every trunk, so the backbone is the
  only difference between trunks.

The UFL term of a cell is the held-out metric's relative difference to a single-task network
for ``t`` trained as long as trunk and head together (the fair budget; sign as in Δm, positive
is better), per seed; a trunk's UFL score is the mean over held-out tasks. The best constant
predictor of each task is scored the same way (the trivial row). Statistics over seeds are in
:mod:`.ufl_stats`, tables in :mod:`.ufl_report`.

Every run folder is resumable and reused: running the protocol again skips finished trunks,
heads and references.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data import eval_transforms, train_transforms
from ..errors import RecipeError
from ..heads import HEADS
from ..metrics import SALIENCY_PROTOCOLS, SaliencyMeter, delta_m
from ..models import ARCHITECTURES, MultiTaskNet, load_folder
from .data import Transformed, build_dataset, dataset_tasks, evaluation_loader
from .evaluation import evaluate, primary_metrics
from .finetune import finetune
from .loop import train
from .recipe import Recipe
from .trivial import evaluate_trivial, fit_trivial

UFL_FORMAT = "medusa_zoo.ufl/2"
TRIVIAL_FIT_IMAGES = 500


@dataclass(frozen=True)
class Budget:
    """One seed's budget: ``steps`` for each trunk, ``head_steps`` for each new head.

    The single-task reference trains for ``steps + head_steps`` (as long as trunk and head
    together: the fair budget). ``images`` evaluation images (default: the recipe's). The seed
    is the trunk's and the head's (initialisation and sample order).
    """

    steps: int
    head_steps: int
    seed: int = 0
    images: int | None = None

    @property
    def stl_steps(self) -> int:
        """Steps of the single-task reference: trunk plus head."""
        return self.steps + self.head_steps


def run_folder(root: Path, recipe: Recipe, budget: Budget, steps: int | None = None) -> Path:
    """Where one budget's runs live: ``<root>/<recipe>/steps<N>_seed<S>[_images<M>]``."""
    images = "" if budget.images is None else f"_images{budget.images}"
    return root / recipe.name / f"steps{steps or budget.steps}_seed{budget.seed}{images}"


def _recipe(recipe: Recipe, budget: Budget, steps: int | None = None) -> Recipe:
    """The recipe at this budget: its steps and seed; warm-up at most a quarter of the steps."""
    steps = steps or budget.steps
    changes: dict[str, Any] = {"steps": steps, "warmup": min(recipe.warmup, steps // 4)}
    if budget.seed != recipe.seed:
        changes["seed"] = budget.seed
    if budget.images is not None:
        changes["eval_images"] = budget.images
    return recipe.with_overrides(**changes)


def _trained(recipe: Recipe, arch: str, tasks: list[str], folder: Path, threads: int | None, progress: bool) -> dict:
    """Train (or reuse) one network; its ``metrics.json`` (values, wall_s)."""
    if not (folder / "metrics.json").is_file():
        train(recipe, arch, tasks=tasks, out=folder, threads=threads, progress=progress)
    return json.loads((folder / "metrics.json").read_text())


def trunk(recipe: Recipe, budget: Budget, arch: str, task: str, root: Path,
          threads: int | None = None, progress: bool = False) -> tuple[Path, dict]:
    """The trunk of ``arch`` trained on the recipe's tasks but ``task``: its folder and metrics.json."""
    others = [t for t in recipe.tasks if t != task]
    folder = run_folder(root, recipe, budget) / ARCHITECTURES.get(arch).head / f"without_{task}"
    return folder, _trained(_recipe(recipe, budget), arch, others, folder, threads, progress)


def stl_references(recipe: Recipe, budget: Budget, tasks: Sequence[str], root: Path,
                   threads: int | None = None, progress: bool = False) -> dict[str, dict]:
    """Single-task networks for ``tasks``, trained as long as trunk plus head: task -> metrics.json.

    Saliency references also carry ``values_reference`` (the reference saliency protocol).
    """
    stl = _arch_with_head(recipe, "stl")
    steps = budget.stl_steps
    folder = run_folder(root, recipe, budget, steps) / "stl"
    out = {}
    for t in tasks:
        metrics = _trained(_recipe(recipe, budget, steps), stl, [t], folder / t, threads, progress)
        if t == "saliency" and "values_reference" not in metrics:
            model = load_folder(folder / t / "model").eval()
            metrics["values_reference"] = _evaluate_reference(recipe, budget, model, t)
            (folder / t / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        out[t] = metrics
    return out


def head_designs(arch: str, common: Sequence[str]) -> list[str]:
    """The head designs fitted on ``arch``'s trunk: its own first, then the common ones it lacks."""
    own = ARCHITECTURES.get(arch).head
    return [own, *[c for c in common if c != own]]


def fit_head(recipe: Recipe, budget: Budget, arch: str, task: str, design: str, root: Path,
             threads: int | None = None, progress: bool = False) -> dict[str, Any]:
    """Fit (or reuse) one head of ``design`` for ``task`` on ``arch``'s frozen trunk without ``task``."""
    folder, _ = trunk(recipe, budget, arch, task, root, threads, progress)
    result_file = folder / f"head_{task}_{design}_steps{budget.head_steps}.json"
    if result_file.is_file():
        return json.loads(result_file.read_text())
    trunk_model = load_folder(folder / "model").eval()
    task_def = dataset_tasks(recipe.dataset, [task])[0]
    torch.manual_seed(budget.seed)
    own = design == ARCHITECTURES.get(arch).head
    if own:
        model = trunk_model
        model.add_task(task_def)
    else:
        model = _on_backbone(trunk_model, design, task_def)
    model.source = f"local-dir:{folder / 'model'}"
    started = time.perf_counter()
    transform = train_transforms(recipe.dataset, recipe.train_size, crop=recipe.crop, preprocessing=model.config.preprocessing)
    result = finetune(
        model, task, build_dataset(recipe.dataset, "train", [task], dict(recipe.data)), steps=budget.head_steps,
        lr=recipe.lr, batch_size=recipe.batch_size, weight_decay=recipe.weight_decay, optimizer=recipe.optimizer,
        warmup=min(recipe.warmup, budget.head_steps // 4), poly_power=recipe.poly_power,
        deep_supervision=recipe.deep_supervision, transform=transform, num_workers=recipe.num_workers,
        seed=budget.seed, threads=threads, progress=progress, amp=recipe.amp,
    )
    fit_s = time.perf_counter() - started
    loader = _loader(recipe, budget, model, task)
    head = {
        "task": task, "design": design, "own": own, "steps": budget.head_steps, "seed": budget.seed,
        "values": evaluate(model, loader, recipe.dataset, tasks=[task])[task],
        "fit_s": round(fit_s, 1), "wall_s": round(time.perf_counter() - started, 1),
        "trainable_parameters": result.trainable.trainable, "frozen_parameters": result.trainable.frozen,
        "backbone_parameters": sum(p.numel() for p in model.backbone.parameters()),
    }
    if task == "saliency":
        head["values_reference"] = _evaluate_reference(recipe, budget, model, task)
    head["retrained_modules"] = model.head_module_names(task)
    model.save_head(task, result_file.with_suffix(""))
    result_file.write_text(json.dumps(head, indent=2) + "\n")
    return head


def _on_backbone(trunk_model: MultiTaskNet, design: str, task_def: Any) -> MultiTaskNet:
    """A network of head type ``design`` for one task whose backbone is ``trunk_model``'s (a copy)."""
    row = ARCHITECTURES.get(trunk_model.config.arch or "")
    config = ARCHITECTURES.get(f"{design}_{row.backbone}").config([task_def])
    config = dataclasses.replace(config, backbone=trunk_model.config.backbone,
                                 preprocessing=trunk_model.config.preprocessing)
    model = MultiTaskNet(config)
    model.backbone.load_state_dict(trunk_model.backbone.state_dict())
    return model.eval()


def _loader(recipe: Recipe, budget: Budget, model: MultiTaskNet, task: str) -> Any:
    images = budget.images if budget.images is not None else recipe.eval_images
    return evaluation_loader(recipe.dataset, recipe.eval_split, [task], dict(recipe.data), images,
                             recipe.eval_size, model.config.preprocessing, num_workers=recipe.num_workers)


def _evaluate_reference(recipe: Recipe, budget: Budget, model: MultiTaskNet, task: str) -> dict[str, float]:
    meters = {task: SaliencyMeter.protocol("reference")}
    return evaluate(model, _loader(recipe, budget, model, task), recipe.dataset, tasks=[task], meters=meters)[task]


def trivial_row(recipe: Recipe, tasks: Sequence[str], images: int | None, root: Path) -> dict[str, Any]:
    """The best constant predictor of each task (fitted on train), on the same evaluation images."""
    count = images if images is not None else recipe.eval_images
    cache = root / recipe.name / f"trivial_images{count}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    definitions = dataset_tasks(recipe.dataset, list(tasks))
    predictor = fit_trivial(recipe.dataset, definitions, dict(recipe.data), TRIVIAL_FIT_IMAGES)
    data = Transformed(build_dataset(recipe.dataset, recipe.eval_split, list(tasks), dict(recipe.data), count),
                       eval_transforms(recipe.eval_size))
    values = evaluate_trivial(predictor, data, recipe.dataset)
    if "saliency" in values:
        values = {**values, "saliency_reference": _score_constants(predictor, data, SaliencyMeter.protocol("reference"))}
    out = {"fit_images": predictor.fit_images, "statistics": {k: dict(v) for k, v in predictor.statistics.items()},
           "values": values}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(out, indent=2) + "\n")
    return out


def _score_constants(predictor: Any, data: Any, meter: SaliencyMeter) -> dict[str, float]:
    for i in range(len(data)):
        target = torch.as_tensor(data[i]["saliency"])[None]
        meter.update(predictor.predict("saliency", target), target)
    return meter.compute()


def run_protocol(recipe: Recipe, archs: Sequence[str], held_out: Sequence[str], budgets: Sequence[Budget],
                 root: Path, common: Sequence[str] = ("medusa",), saliency_protocol: str = "pooled",
                 threads: int | None = None, progress: bool = False) -> dict[str, Any]:
    """Every cell of ``archs`` × ``held_out`` × head design over the seeds of ``budgets``, as one document."""
    _check(recipe, archs, held_out, common, saliency_protocol, budgets)
    primary = primary_metrics(dataset_tasks(recipe.dataset, list(held_out)), recipe.dataset)
    references = {b.seed: stl_references(recipe, b, held_out, root, threads, progress) for b in budgets}
    # every result as the metrics of the chosen protocol: {seed: {task: {metric: value}}}
    single = {seed: {t: _values(t, {**m, "values": m["values"][t]}, saliency_protocol) for t, m in by_task.items()}
              for seed, by_task in references.items()}

    def term(task: str, values: dict[str, float], reference: dict[str, float]) -> float:
        return delta_m({task: values}, {task: reference}, {task: primary[task]})

    cells = []
    for arch in archs:
        for task in held_out:
            for design in head_designs(arch, common):
                fits = [fit_head(recipe, b, arch, task, design, root, threads, progress) for b in budgets]
                trunks = [trunk(recipe, b, arch, task, root)[1] for b in budgets]
                values = [_values(task, f, saliency_protocol) for f in fits]
                cells.append({
                    "trunk": arch, "held_out": task, "head": design, "own_head": fits[0]["own"],
                    "seeds": [b.seed for b in budgets],
                    "scores": [term(task, v, single[b.seed][task]) for v, b in zip(values, budgets)],
                    "values": values,
                    "head_parameters": fits[0]["trainable_parameters"],
                    "frozen_parameters": fits[0]["frozen_parameters"],
                    "backbone_parameters": fits[0]["backbone_parameters"],
                    "head_wall_s": [f["wall_s"] for f in fits], "trunk_wall_s": [t.get("wall_s") for t in trunks],
                })
    trivial = trivial_row(recipe, held_out, budgets[0].images, root)
    constants = {t: _values(t, {"values": trivial["values"][t],
                                "values_reference": trivial["values"].get("saliency_reference")}, saliency_protocol)
                 for t in held_out}
    stl_mean = {t: {k: sum(single[b.seed][t][k] for b in budgets) / len(budgets) for k in single[budgets[0].seed][t]}
                for t in held_out}
    first = budgets[0]
    return {
        "protocol": UFL_FORMAT, "recipe": recipe.name, "dataset": recipe.dataset, "split": recipe.eval_split,
        "images": first.images if first.images is not None else recipe.eval_images,
        "steps": first.steps, "head_steps": first.head_steps, "stl_steps": first.stl_steps,
        "seeds": [b.seed for b in budgets], "held_out": list(held_out), "common_heads": list(common),
        "saliency_protocol": saliency_protocol, "saliency_protocol_description": SALIENCY_PROTOCOLS[saliency_protocol],
        "primary": {t: list(v) for t, v in primary.items()},
        "stl": {t: {"values": [single[b.seed][t] for b in budgets],
                    "wall_s": [references[b.seed][t].get("wall_s") for b in budgets]} for t in held_out},
        "trivial": {"fit_images": trivial["fit_images"], "statistics": trivial["statistics"], "values": constants,
                    "scores": {t: term(t, constants[t], stl_mean[t]) for t in held_out}},
        "cells": cells,
    }


def _values(task: str, result: dict[str, Any], protocol: str) -> dict[str, float]:
    """The metrics of ``result`` under the saliency ``protocol`` (other tasks have one set)."""
    if task == "saliency" and protocol == "reference":
        return result["values_reference"]
    return result["values"]


def _check(recipe: Recipe, archs: Sequence[str], held_out: Sequence[str], common: Sequence[str],
           saliency_protocol: str, budgets: Sequence[Budget]) -> None:
    if recipe.auxiliary_tasks:
        raise RecipeError(f"recipe {recipe.name!r} has auxiliary tasks {list(recipe.auxiliary_tasks)}; the UFL protocol "
                          "needs single-task references and trunks for every task: use a recipe without them")
    unknown = [t for t in held_out if t not in recipe.tasks]
    if unknown:
        raise RecipeError(f"held-out task(s) {unknown} are not among recipe {recipe.name!r}'s tasks {list(recipe.tasks)}")
    for arch in archs:
        if arch not in recipe.architectures or ARCHITECTURES.get(arch).head == "stl":
            raise RecipeError(f"{arch!r} is not a multi-task architecture of recipe {recipe.name!r}")
    for design in common:
        if design not in HEADS.names() or not HEADS.get(design).independent or HEADS.get(design).max_tasks:
            raise RecipeError(f"common head {design!r} must be a per-task head type: one of "
                              f"{[h for h in HEADS.names() if HEADS.get(h).independent and not HEADS.get(h).max_tasks]}")
    if saliency_protocol not in SALIENCY_PROTOCOLS:
        raise RecipeError(f"unknown saliency protocol {saliency_protocol!r}; choose one of {sorted(SALIENCY_PROTOCOLS)}")
    if not budgets or len({b.seed for b in budgets}) != len(budgets):
        raise RecipeError("the UFL protocol needs at least one budget and distinct seeds")


def _arch_with_head(recipe: Recipe, head: str) -> str:
    for arch in recipe.architectures:
        if ARCHITECTURES.get(arch).head == head:
            return arch
    raise RecipeError(f"recipe {recipe.name!r} has no {head!r} architecture; the UFL score needs one")
