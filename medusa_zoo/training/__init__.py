"""Training and evaluation engine: recipes, the resumable training loop, dataset-level evaluation.

    python -m medusa_zoo.train --recipe synthrooms_regnetx002 --arch medusa_regnetx002
    python -m medusa_zoo.evaluate --model medusa_efficientnet_lite0.synthrooms --data synthrooms:val
"""

from .evaluation import Results, evaluate, primary_metrics, task_meters
from .loop import RunResult, build_for_recipe, eval_loader, train
from .recipe import Recipe, load_recipe, packaged_recipes, recipe_from_dict

__all__ = [
    "Recipe",
    "Results",
    "RunResult",
    "build_for_recipe",
    "eval_loader",
    "evaluate",
    "load_recipe",
    "packaged_recipes",
    "primary_metrics",
    "recipe_from_dict",
    "task_meters",
    "train",
]
