"""What a model is: parameters, tasks and their labels, input size, licence and published metrics.

    medusa-zoo info medusa_efficientnet_lite0                 # the architecture's default checkpoint
    medusa-zoo info medusa_efficientnet_lite0.synthrooms-no-normals
    medusa-zoo info local-dir:runs/x/model

Reads the model's ``pretrained_cfg``. An architecture without published weights is described
as built with random weights (no licence, no metrics).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import CheckpointNotFoundError

HELP = "describe a model: parameters, tasks with labels, input size, licence, metrics"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="arch, arch.tag, hf-hub:org/name or local-dir:PATH")


def run(args: argparse.Namespace) -> int:
    from ..api import list_models, load

    try:
        model, weights = load(args.name, device="cpu"), None
    except CheckpointNotFoundError:
        if args.name not in list_models():
            raise
        model, weights = load(args.name, pretrained=False, device="cpu"), "none published (random weights)"
    params = sum(p.numel() for p in model.parameters())
    print(describe(args.name, model.pretrained_cfg, params, weights))
    return 0


def describe(name: str, cfg: dict[str, Any], params: int, weights: str | None = None) -> str:
    """The text ``info`` prints for a ``pretrained_cfg``."""
    _, height, width = cfg["input_size"]
    lines = [
        f"{name} (architecture {cfg['arch']})",
        f"  weights:     {weights or cfg.get('name') or cfg.get('source') or 'unknown'}",
        f"  parameters:  {params:,}",
        f"  input size:  {height} x {width} (H x W); mean {_floats(cfg['mean'])}, std {_floats(cfg['std'])}",
        f"  licence:     {cfg.get('license') or 'not stated'}",
    ]
    if cfg.get("recipe"):
        lines.append(f"  recipe:      {cfg['recipe']}")
    lines.append("  tasks:")
    for task, facts in cfg["tasks"].items():
        labels = facts.get("labels") or ()
        shape = f"{len(labels)} classes: {', '.join(labels)}" if labels else f"{facts['out_channels']} channel(s)"
        lines.append(f"    {task} ({facts['kind']}, {shape})")
    lines.extend(_metrics(cfg.get("metrics") or {}))
    return "\n".join(lines)


def _metrics(metrics: dict[str, Any]) -> list[str]:
    values = metrics.get("values")
    if not values:
        return ["  metrics:     none published"]
    lines = [
        f"  metrics ({metrics.get('dataset', '?')} {metrics.get('split', '?')}, {metrics.get('images', '?')} images):"
    ]
    for task, scores in values.items():
        lines.append(f"    {task}: " + ", ".join(f"{k} {v:.4g}" for k, v in scores.items()))
    if metrics.get("delta_m") is not None:
        lines.append(f"    Δm (vs single-task networks): {metrics['delta_m']:+.2f}%")
    return lines


def _floats(values: Any) -> str:
    return "(" + ", ".join(f"{float(v):g}" for v in values) + ")"
