"""The README.md model card written beside saved weights, through ``huggingface_hub.ModelCard``.

The card's metadata (the YAML block the Hub reads) is built with ``ModelCardData``: licence,
datasets, tags, ``library_name`` and a ``model-index`` of ``EvalResult`` rows, one per measured
metric, so ``ModelCard.load(path).data`` gives them back and the Hub shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import ModelConfig
from .provenance import Provenance

TAGS = ["multi-task-learning", "dense-prediction", "medusa_zoo"]
# the Hub's task types for our task kinds (anything else: image-to-image)
HUB_TASK_TYPES = {"depth": "depth-estimation", "segmentation": "image-segmentation", "parts": "image-segmentation",
                  "human_parts": "image-segmentation", "saliency": "image-segmentation", "edge": "image-segmentation",
                  "dense_classification": "image-segmentation"}  # fmt: skip


def model_card(config: ModelConfig, params: int, provenance: Provenance | None = None, load_name: str | None = None) -> str:
    """A Markdown card with Hub metadata for a network with ``params`` parameters: architecture,
    tasks with their labels, preprocessing, usage, and what ``provenance`` knows (name, licence,
    recipe, metrics). ``load_name`` is shown in the usage snippet (default: the checkpoint's name,
    else a ``local-dir:`` path)."""
    from huggingface_hub import ModelCard

    provenance = provenance or Provenance()
    data = card_data(config, provenance)
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n{_body(config, params, provenance, load_name)}"))


def card_data(config: ModelConfig, provenance: Provenance) -> Any:
    """The card's ``huggingface_hub.ModelCardData``."""
    from huggingface_hub import ModelCardData

    metrics = provenance.metrics
    return ModelCardData(
        model_name=provenance.name or config.arch or f"{config.head} on {config.backbone.timm_name}",
        license=provenance.license.lower() if provenance.license else None,
        library_name="medusa_zoo",
        tags=TAGS + ([config.arch] if config.arch else []),
        datasets=[str(metrics["dataset"])] if metrics else None,
        eval_results=eval_results(config, metrics) or None,
    )


def eval_results(config: ModelConfig, metrics: Mapping[str, Any]) -> list[Any]:
    """One ``huggingface_hub.EvalResult`` per measured ``(task, metric)`` of ``metrics``.

    The Hub groups results by task type and dataset, so several of our tasks share one group;
    ``metric_name`` (``"<task> <metric>"``) says which task each number belongs to.
    """
    from huggingface_hub import EvalResult

    if not metrics:
        return []
    kinds = {t.name: t.kind for t in config.tasks}
    dataset, split = str(metrics["dataset"]), str(metrics["split"])
    return [
        EvalResult(
            task_type=HUB_TASK_TYPES.get(kinds.get(task, ""), "image-to-image"), task_name=task,
            dataset_type=dataset, dataset_name=dataset, dataset_split=split,
            metric_type=metric, metric_name=f"{task} {metric}", metric_value=value,
        )
        for task, values in metrics["values"].items()
        for metric, value in values.items()
    ]


def _body(config: ModelConfig, params: int, provenance: Provenance, load_name: str | None) -> str:
    rows = "\n".join(
        f"| {t.name} | {t.kind} | {t.out_channels} | {', '.join(t.labels) if t.labels else '-'} |"
        for t in config.tasks
    )
    pre = config.preprocessing
    recipe = f"\nTrained with the recipe `{provenance.recipe}`.\n" if provenance.recipe else ""
    title = provenance.name or config.arch or f"{config.head} on {config.backbone.timm_name}"
    usage = load_name or provenance.name or "local-dir:path/to/this/folder"
    return f"""# {title}

Multi-task dense prediction network saved by [medusa_zoo](https://pypi.org/project/medusa-zoo/).

- head: `{config.head}` {dict(config.head_options) or ''}
- backbone: timm `{config.backbone.timm_name}` (levels {list(config.backbone.out_indices or [])})
- parameters: {params:,}
- preprocessing: RGB in [0, 1], mean {list(pre.mean)}, std {list(pre.std)}; design input size {list(pre.input_size)} (H, W)
{f"- licence: {provenance.license}" if provenance.license else ""}

| task | kind | outputs | labels |
|---|---|---|---|
{rows}
{_metrics_section(provenance.metrics)}{recipe}
```python
import medusa_zoo
model = medusa_zoo.load("{usage}")
outputs = model.predict("image.jpg")
```
"""


def _metrics_section(metrics: Mapping[str, Any]) -> str:
    if not metrics or not metrics.get("values"):
        return ""
    lines = [f"\n## Metrics (measured on {metrics.get('dataset', '?')} {metrics.get('split', '')})\n",
             "| task | metric | value |", "|---|---|---|"]  # fmt: skip
    for task, values in metrics["values"].items():
        lines += [f"| {task} | {key} | {value:.4g} |" for key, value in values.items()]
    return "\n".join(lines) + "\n"
