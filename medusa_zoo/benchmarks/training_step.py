"""CPU training-step time per architecture, with and without the engine's CPU speed-ups, side by side.

    python -m medusa_zoo benchmark training [--recipe synthrooms_regnetx002] [--steps 8]

Each architecture of the recipe (single-task ones on their first task) takes optimiser steps
on one fixed batch drawn from the recipe's training pipeline (batch size and crop as in the
recipe; data loading is not timed). Two copies with the same initial weights alternate step by
step: ``before`` with channels_last off and logits resized by ``F.interpolate`` (the engine's
CPU path up to a7dfa47), ``now`` as the engine trains today (channels_last on CPU, logits
resized by matrix products while autograd records). The loss masking rewrite (multiplication
instead of boolean indexing) is in both, so the speed-up measured here slightly understates the
change since a7dfa47. ``--baseline PATH`` compares with the package of another checkout instead
(e.g. ``git worktree add /tmp/before a7dfa47``): ``before`` is then that version's engine, whole.
Medians of s/step and images/s, the ratio, and both loss curves.
"""

from __future__ import annotations

import importlib
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from ..data import train_transforms
from ..models import ARCHITECTURES
from ..resize import matrix_resize
from ..training import build_for_recipe, load_recipe
from ..training.data import build_dataset, collate
from ..training.loop import schedule_of
from ..training.optimization import Optimization


def baseline_package(checkout: str | Path) -> ModuleType:
    """The ``medusa_zoo`` package of another checkout, imported as ``medusa_zoo_baseline`` (a copy in a
    temporary folder with its absolute imports renamed), so two versions train side by side."""
    source = Path(checkout).expanduser().resolve() / "medusa_zoo"
    if not (source / "training").is_dir():
        raise FileNotFoundError(f"{source} is not a medusa_zoo package folder")
    root = Path(tempfile.mkdtemp(prefix="medusa_zoo_baseline_"))
    target = root / "medusa_zoo_baseline"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("bundled", "__pycache__"))
    for path in target.rglob("*.py"):
        path.write_text(re.sub(r"^(\s*)(from|import) medusa_zoo\b", r"\1\2 medusa_zoo_baseline", path.read_text(), flags=re.M))
    sys.path.insert(0, str(root))
    return importlib.import_module("medusa_zoo_baseline")


def _setup(recipe: Any, arch: str, channels_last: bool, package: ModuleType | None = None) -> tuple[Any, Any, Any]:
    tasks = [recipe.tasks[0]] if ARCHITECTURES.get(arch).head == "stl" else None
    if package is not None:  # another version's engine, as it trained
        training = importlib.import_module(f"{package.__name__}.training")
        loop = importlib.import_module(f"{package.__name__}.training.loop")
        optimization_module = importlib.import_module(f"{package.__name__}.training.optimization")
        old_recipe = training.load_recipe(recipe.name)
        model = training.build_for_recipe(old_recipe, arch, tasks)
        optimization = optimization_module.Optimization(model, loop.schedule_of(old_recipe), torch.device("cpu"))
        if optimization.channels_last:
            model.to(memory_format=torch.channels_last)
        model.train()
        return model, optimization, tasks
    model = build_for_recipe(recipe, arch, tasks)
    schedule = schedule_of(recipe.with_overrides(channels_last=channels_last))
    optimization = Optimization(model, schedule, torch.device("cpu"))
    if optimization.channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    return model, optimization, tasks


def measure(recipe_name: str = "synthrooms_regnetx002", archs: Sequence[str] | None = None, steps: int = 8,
            threads: int = 2, baseline: str | Path | None = None) -> dict[str, Any]:
    """The results document: one row per architecture."""
    torch.set_num_threads(threads)
    recipe = load_recipe(recipe_name)
    package = baseline_package(baseline) if baseline is not None else None
    rows = []
    for arch in archs or recipe.architectures:
        runs = {"before": _setup(recipe, arch, False, package), "now": _setup(recipe, arch, True)}
        model = runs["now"][0]
        data = build_dataset(recipe.dataset, "train", list(model.tasks), dict(recipe.data), images=recipe.batch_size)
        transform = train_transforms(recipe.dataset, recipe.train_size, crop=recipe.crop,
                                     preprocessing=model.config.preprocessing)
        torch.manual_seed(recipe.seed)
        batch = collate([transform(data[i]) for i in range(len(data))])  # type: ignore[arg-type]
        times: dict[str, list[float]] = {k: [] for k in runs}
        losses: dict[str, list[float]] = {k: [] for k in runs}
        for step in range(steps):
            for name, (net, optimization, _) in runs.items():
                with matrix_resize(False) if name == "before" and package is None else nullcontext():
                    start = time.perf_counter()
                    values, _ = optimization.step(net, batch, net.tasks, step)
                    times[name].append(time.perf_counter() - start)
                losses[name].append(round(float(sum(v.detach() for v in values.values())), 5))
        median = {k: statistics.median(v[2:] if len(v) > 3 else v) for k, v in times.items()}
        rows.append({
            "arch": arch, "s_per_step": {k: round(v, 3) for k, v in median.items()},
            "images_per_s": {k: round(recipe.batch_size / v, 2) for k, v in median.items()},
            "speedup": round(median["before"] / median["now"], 3), "loss": losses,
        })
        print(f"{arch}: {median['before']:.3f} -> {median['now']:.3f} s/step ({rows[-1]['speedup']:.2f}x)", flush=True)
    before = f"the package at {Path(baseline).resolve()}" if baseline is not None else "channels_last off, F.interpolate resize"
    return {"kind": "training_step", "recipe": recipe.name, "batch": recipe.batch_size, "crop": list(recipe.crop_size),
            "threads": threads, "steps": steps, "torch": torch.__version__, "before": before, "rows": rows}


def markdown(document: dict[str, Any]) -> str:
    """The table README pastes."""
    lines = ["| architecture | s/step before | s/step now | images/s now | speed-up | max loss difference |",
             "|---|---|---|---|---|---|"]
    for row in document["rows"]:
        gap = max(abs(a - b) / max(abs(a), 1e-9) for a, b in zip(row["loss"]["before"], row["loss"]["now"]))
        lines.append(f"| {row['arch']} | {row['s_per_step']['before']:.3f} | {row['s_per_step']['now']:.3f} | "
                     f"{row['images_per_s']['now']:.1f} | {row['speedup']:.2f}x | {gap:.1e} (relative) |")
    return "\n".join(lines)
