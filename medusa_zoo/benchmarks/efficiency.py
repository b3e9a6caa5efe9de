"""Parameters and FLOPs of Medusa versus MTI-Net (and the baselines) at the paper's settings.

    python -m medusa_zoo benchmark efficiency [--backbone hrnet18]

Counts come from PyTorch's flop counter on the meta device (see ``medusa_zoo.models.flops``):
multiply-adds of convolutions and matrix products, batch 1. The paper claims Medusa is 25%
more efficient than previous approaches; ``ratio`` is Medusa / MTI-Net.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import ARCHITECTURES
from ..models.flops import Cost, measure_cost
from ..tasks import PASCAL_LABELS, get_task

HEADS = ("stl", "mtl", "padnet", "mtinet", "medusa")


@dataclass(frozen=True)
class Setting:
    """A dataset's task set and input size, as in the MTI-Net reference code."""

    name: str
    tasks: tuple
    input_size: tuple[int, int]


SETTINGS = (
    Setting("NYUD-v2 (4 tasks)", ("semseg", "depth", "normals", "edge"), (480, 640)),
    Setting(
        "PASCAL-Context (5 tasks)",
        (get_task("semseg", labels=PASCAL_LABELS), "human_parts", "saliency", "edge", "normals"),
        (512, 512),
    ),
)


def setting_costs(setting: Setting, backbone: str = "hrnet18") -> dict[str, Cost]:
    """Cost of each head type on ``setting``; STL is summed over one network per task."""
    costs: dict[str, Cost] = {}
    for head in HEADS:
        arch = ARCHITECTURES.get(f"{head}_{backbone}")
        if head == "stl":
            parts = [measure_cost(arch.config([task]), setting.input_size) for task in setting.tasks]
            costs[head] = Cost(sum(p.params for p in parts), sum(p.flops for p in parts), setting.input_size)
        else:
            costs[head] = measure_cost(arch.config(list(setting.tasks)), setting.input_size)
    return costs


def run(backbone: str = "hrnet18") -> dict:
    """The counts as a results document: one row per setting and head type."""
    rows = []
    for setting in SETTINGS:
        costs = setting_costs(setting, backbone)
        ref = costs["mtinet"]
        for head, cost in costs.items():
            rows.append({
                "setting": setting.name, "input": list(setting.input_size), "model": f"{head}_{backbone}",
                "params": cost.params, "params_m": cost.params / 1e6, "gmacs": cost.gmacs,
                "params_vs_mtinet": cost.params / ref.params, "macs_vs_mtinet": cost.flops / ref.flops,
            })
    return {"kind": "efficiency", "backbone": backbone, "rows": rows}


def markdown_table(backbone: str = "hrnet18", document: dict | None = None) -> str:
    """The efficiency table as Markdown, one row per setting and head type (of ``document`` when given)."""
    lines = [
        "| setting | input | model | params (M) | GMACs | vs MTI-Net (params / MACs) |",
        "|---|---|---|---|---|---|",
    ]
    for row in (document or run(backbone))["rows"]:
        ratio = f"{row['params_vs_mtinet']:.2f} / {row['macs_vs_mtinet']:.2f}"
        size = "x".join(map(str, row["input"]))
        lines.append(f"| {row['setting']} | {size} | {row['model']} | {row['params_m']:.2f} | {row['gmacs']:.1f} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":  # the older entry point of ``python -m medusa_zoo benchmark efficiency``
    import sys

    from ..cli import main

    sys.exit(main(["benchmark", "efficiency", *sys.argv[1:]], legacy="medusa_zoo.benchmarks.efficiency"))
