"""Markdown table of a family's shipped results: ``python -m medusa_zoo report``.

    python -m medusa_zoo report --family synthrooms_regnetx002

Reads ``medusa_zoo/results/<family>.{trivial,stl,mtl,padnet,mtinet,medusa}.json`` (and the ablations
``medusa-scratch``, ``medusa-photos`` where they exist) and the bundled
checkpoints' manifest entries; prints one row per model with its parameters (as evaluated; STL
summed over its networks), each task's headline metrics and Δm against the family's STL results. MODEL_CARD.md and README.md paste its output.
"""

from __future__ import annotations

from typing import Any

from ..data import dataset_spec
from ..hub.manifest import load_manifest
from .results import RESULTS_DIR, read_results

COLUMNS = (
    ("semseg", "mIoU", "semseg mIoU ↑"),
    ("parts", "mIoU", "parts mIoU ↑"),
    ("depth", "rmse", "depth RMSE ↓"),
    ("normals", "mean", "normals mean° ↓"),
    ("edge", "odsF", "edge odsF ↑"),
    ("saliency", "maxF", "saliency maxF ↑"),
    ("saliency", "max_mIoU", "saliency IoU ↑"),
)
ROWS = (("trivial", "trivial predictors"), ("stl", "STL (one network per task)"), ("mtl", "MTL"),
        ("padnet", "PAD-Net"), ("mtinet", "MTI-Net"), ("medusa", "Medusa"),
        ("medusa-scratch", "Medusa, backbone from random weights"),
        ("medusa-photos", "Medusa, photo textures on half the materials"))  # fmt: skip


def _cell(values: dict[str, Any], task: str, metric: str) -> str:
    value = values.get(task, {}).get(metric)
    return "–" if value is None else f"{value:.3f}" if metric == "rmse" else f"{value:.1f}"


def _params(result: dict[str, Any], kind: str) -> str:
    """Total parameters in millions (STL: its networks summed; trivial: none), as evaluated."""
    if kind == "trivial":
        return "0"
    count = result.get("parameters", {}).get("total")
    return "–" if count is None else f"{count / 1e6:.2f}M"


def table(family: str) -> str:
    """The markdown table for ``family`` (``<dataset>_<backbone>``)."""
    header = "| model | params | " + " | ".join(c[2] for c in COLUMNS) + " | Δm vs STL |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 3)]
    images, datasets = set(), set()
    for kind, label in ROWS:
        path = RESULTS_DIR / f"{family}.{kind}.json"
        if not path.is_file():
            continue
        result = read_results(path)
        images.add((result["split"], result["images"]))
        datasets.add(result["dataset"])
        delta = result.get("delta_m")
        delta_text = "0 (reference)" if kind == "stl" else "–" if delta is None else f"{delta:+.2f}%"
        params = _params(result, kind)
        lines.append(f"| {label} | {params} | " + " | ".join(_cell(result["values"], t, m) for t, m, _ in COLUMNS)
                     + f" | {delta_text} |")
    manifest = load_manifest()
    for name in manifest.names():
        entry = manifest.get(name)
        if entry.bundled and entry.recipe == family:
            metrics = entry.metrics
            images.add((metrics["split"], metrics["images"]))
            datasets.add(metrics["dataset"])
            delta = metrics.get("delta_m")
            label = f"`{name}` as shipped ({metrics.get('precision', '?')})"
            lines.append(f"| {label} | – | " + " | ".join(_cell(metrics["values"], t, m) for t, m, _ in COLUMNS)
                         + f" | {'–' if delta is None else f'{delta:+.2f}%'} |")
    sets = ", ".join(f"{split} ({n} images)" for split, n in sorted(images))
    titles = " / ".join(dataset_spec(d).title for d in sorted(datasets))
    return "\n".join(lines) + f"\n\nAll rows measured on {titles} {sets}."


if __name__ == "__main__":  # the older entry point of ``python -m medusa_zoo report``
    import sys

    from ..cli import main

    sys.exit(main(["report", *sys.argv[1:]], legacy="medusa_zoo.training.report"))
