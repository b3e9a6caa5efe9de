"""The README.md model card written beside saved weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import ModelConfig


def model_card(
    config: ModelConfig,
    params: int,
    *,
    metrics: Mapping[str, Any] | None = None,
    recipe: str | None = None,
    license: str | None = None,
    load_name: str | None = None,
) -> str:
    """A short Markdown card of a network with ``params`` parameters: architecture, tasks with their
    labels, preprocessing, usage.

    ``metrics`` (``{"dataset", "split", "values": {task: {metric: value}}}``, as measured by
    our evaluation), ``recipe`` and ``license`` are added when given; ``load_name`` is the
    name to show in the usage snippet (default: a ``local-dir:`` path).
    """
    rows = "\n".join(
        f"| {t.name} | {t.kind} | {t.out_channels} | {', '.join(t.labels) if t.labels else '-'} |"
        for t in config.tasks
    )
    pre = config.preprocessing
    licence_line = f"license: {license.lower()}\n" if license else ""
    extra = _metrics_section(metrics) + (f"\nTrained with the recipe `{recipe}`.\n" if recipe else "")
    return f"""---
library_name: medusa_zoo
{licence_line}tags: [multi-task-learning, dense-prediction, medusa_zoo]
---
# {config.arch or config.head + ' on ' + config.backbone.timm_name}

Multi-task dense prediction network saved by [medusa_zoo](https://pypi.org/project/medusa-zoo/).

- head: `{config.head}` {dict(config.head_options) or ''}
- backbone: timm `{config.backbone.timm_name}` (levels {list(config.backbone.out_indices or [])})
- parameters: {params:,}
- preprocessing: RGB in [0, 1], mean {list(pre.mean)}, std {list(pre.std)}; design input size {list(pre.input_size)} (H, W)

| task | kind | outputs | labels |
|---|---|---|---|
{rows}
{extra}
```python
import medusa_zoo
model = medusa_zoo.load("{load_name or 'local-dir:path/to/this/folder'}")
outputs = model.predict("image.jpg")
```
"""


def _metrics_section(metrics: Mapping[str, Any] | None) -> str:
    if not metrics or not metrics.get("values"):
        return ""
    lines = [f"\n## Metrics (measured on {metrics.get('dataset', '?')} {metrics.get('split', '')})\n",
             "| task | metric | value |", "|---|---|---|"]  # fmt: skip
    for task, values in metrics["values"].items():
        lines += [f"| {task} | {key} | {value:.4g} |" for key, value in values.items()]
    return "\n".join(lines) + "\n"
