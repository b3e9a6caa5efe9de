"""The README.md model card written beside saved weights."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .network import MultiTaskNet


def model_card(model: MultiTaskNet) -> str:
    """A short Markdown card: architecture, tasks with their labels, preprocessing, usage."""
    config = model.config
    params = sum(p.numel() for p in model.parameters())
    rows = "\n".join(
        f"| {t.name} | {t.kind} | {t.out_channels} | {', '.join(t.labels) if t.labels else '-'} |"
        for t in config.tasks
    )
    pre = config.preprocessing
    return f"""---
library_name: medusa_zoo
tags: [multi-task-learning, dense-prediction, medusa_zoo]
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

```python
import medusa_zoo
model = medusa_zoo.load("local-dir:path/to/this/folder")
outputs = model.predict("image.jpg")
```
"""
