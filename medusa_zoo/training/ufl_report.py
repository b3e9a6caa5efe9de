"""Reading and summarising UFL results documents (written by ``python -m medusa_zoo ufl``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import IncompatibleConfigError
from .ufl import UFL_FORMAT

PAPER_CLAIM = ("+13.18% in UFL for Medusa (the paper's figure, from its abstract; its datasets, backbone and exact "
               "reference are not reproduced here)")


def read_ufl(path: str | Path) -> dict[str, Any]:
    """A results document written by this command."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as bad:
        raise IncompatibleConfigError(f"cannot read UFL results {path}: {bad}") from None
    if not isinstance(document, dict) or document.get("protocol") != UFL_FORMAT:
        raise IncompatibleConfigError(f"{path} is not a UFL results file (protocol {UFL_FORMAT!r})")
    return document


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean over seeds of every architecture's UFL score (overall and per task) and trunk Δm."""
    summary: dict[str, Any] = {}
    for arch in runs[0]["architectures"]:
        rows = [run["architectures"][arch] for run in runs]
        tasks = list(rows[0]["ufl_per_task"])
        summary[arch] = {
            "ufl": _mean([r["ufl"] for r in rows]),
            "ufl_seeds": [r["ufl"] for r in rows],
            "ufl_per_task": {t: _mean([r["ufl_per_task"][t] for r in rows]) for t in tasks},
            "held_out_values": {t: _mean_values([r["cells"][t]["head"]["values"] for r in rows]) for t in tasks},
            "trunk_delta_m": _mean([r["trunk_delta_m"] for r in rows]),
            "head_parameters": {t: rows[0]["cells"][t]["head"]["trainable_parameters"] for t in tasks},
        }
    return summary


def markdown(document: dict[str, Any]) -> str:
    """The results table (one row per architecture, one column per held-out task)."""
    run = document["runs"][0]
    held = run["held_out"]
    primary = run["primary"]
    names = {"medusa": "Medusa", "mtl": "MTL", "mtinet": "MTI-Net", "padnet": "PAD-Net"}
    head = "| trunk | " + " | ".join(f"{t} ({primary[t][0]}) held out" for t in held) + " | UFL score | trunk Δm on its own tasks |"
    lines = [head, "|---" * (len(held) + 3) + "|"]
    stl = " | ".join(f"{run['stl'][t]['values'][primary[t][0]]:.3g}" for t in held)
    lines.append(f"| STL (reference, same budget) | {stl} | 0 | 0 |")
    for arch, row in document["summary"].items():
        cells = " | ".join(
            f"{row['held_out_values'][t][primary[t][0]]:.3g} ({row['ufl_per_task'][t]:+.2f}%)" for t in held
        )
        label = names.get(arch.split("_")[0], arch)
        lines.append(f"| {label} | {cells} | **{row['ufl']:+.2f}%** | {row['trunk_delta_m']:+.2f}% |")
    seeds = ", ".join(str(s) for s in document["seeds"])
    lines.append("")
    lines.append(
        f"{document['recipe']}: trunks and STL {run['steps']} steps, heads {run['head_steps']} steps, "
        f"{run['dataset']} {run['split']} ({run['images']} images), seed(s) {seeds} ({len(document['seeds'])} per cell). "
        f"Each held-out cell: the head's metric (UFL term vs STL). Paper, for comparison: {PAPER_CLAIM}."
    )
    return "\n".join(lines)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _mean_values(values: Sequence[dict[str, float]]) -> dict[str, float]:
    return {k: _mean([v[k] for v in values]) for k in values[0]}
