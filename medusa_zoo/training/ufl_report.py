"""Reading UFL results documents (written by ``python -m medusa_zoo ufl``) and their tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import IncompatibleConfigError
from .ufl import UFL_FORMAT
from .ufl_stats import OWN, comparisons, compute_minutes, mean_std, rows, stl_summary

PAPER_CLAIM = ("+13.18% in UFL for Medusa (the paper's figure, from its abstract; its datasets, backbone and exact "
               "reference are not reproduced here)")
NAMES = {"medusa": "Medusa", "mtl": "MTL", "mtinet": "MTI-Net", "padnet": "PAD-Net", "stl": "STL"}
HEAD_NAMES = {"medusa": "Medusa head", "mtl": "HRNet head", "mtinet": "MTI-Net modules", "padnet": "PAD-Net modules"}


def read_ufl(path: str | Path) -> dict[str, Any]:
    """A results document written by the ``ufl`` command."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as bad:
        raise IncompatibleConfigError(f"cannot read UFL results {path}: {bad}") from None
    if not isinstance(document, dict) or document.get("protocol") != UFL_FORMAT:
        raise IncompatibleConfigError(f"{path} is not a UFL results file (protocol {UFL_FORMAT!r})")
    return document


def trunk_name(arch: str) -> str:
    """``medusa_efficientnet_lite0`` -> ``Medusa``."""
    return NAMES.get(arch.split("_")[0], arch)


def _pm(values: list[float], digits: int = 1, sign: bool = True) -> str:
    mean, std = mean_std(values)
    return f"{mean:+.{digits}f} ± {std:.{digits}f}" if sign else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _params(count: int) -> str:
    return f"{count / 1e6:.2f}M" if count >= 1e5 else f"{count / 1e3:.0f}k"


def markdown(document: dict[str, Any]) -> str:
    """The UFL table (one row per trunk and head design) and the paired comparisons."""
    held, primary = document["held_out"], document["primary"]
    metric = {t: primary[t][0] for t in held}
    head = ("| trunk | head fitted | backbone params | head params | "
            + " | ".join(f"{t} ({metric[t]}) held out" for t in held) + " | UFL score |")
    lines = [head, "|---" * (len(held) + 5) + "|"]
    single = stl_summary(document)
    stl = " | ".join(f"{single[t][metric[t]][0]:.1f} ± {single[t][metric[t]][1]:.1f}" for t in held)
    lines.append(f"| STL reference ({document['stl_steps']} steps) | HRNet head | | | {stl} | 0 |")
    trivial = document["trivial"]["scores"]
    cells = " | ".join(f"{document['trivial']['values'][t][metric[t]]:.3g} ({trivial[t]:+.1f}%)" for t in held)
    lines.append(f"| best constant (trivial) | — | 0 | 0 | {cells} | {sum(trivial.values()) / len(trivial):+.1f}% |")
    for row in sorted(rows(document), key=lambda r: (r["trunk"], not r["own_head"], r["head"])):
        label = HEAD_NAMES.get(row["head"], row["head"]) + (" (own)" if row["own_head"] else " (common)")
        params = _params(max(row["head_parameters"].values()))
        cells = " | ".join(f"{_pm(row['scores'][t])}%" for t in held)  # the same mean_std as row["per_task"]
        lines.append(f"| {trunk_name(row['trunk'])} | {label} | {_params(row['backbone_parameters'])} | {params} | "
                     f"{cells} | **{_pm(row['ufl_seeds'])}%** |")
    lines += ["", _footer(document), "", *_comparison_table(document)]
    return "\n".join(lines)


def _comparison_table(document: dict[str, Any]) -> list[str]:
    """One row per pair of trunks and head: the paired difference per held-out task and for the score."""
    columns = [*document["held_out"], "mean"]
    lines = ["| paired over seeds | head | " + " | ".join(c if c != "mean" else "UFL score" for c in columns) + " |",
             "|---" * (len(columns) + 2) + "|"]
    grouped: dict[tuple[str, str, str], dict[str, dict]] = {}
    for c in comparisons(document):
        grouped.setdefault((c["head"], c["a"], c["b"]), {})[c["held_out"]] = c
    for (design, a, b), by_task in grouped.items():
        head_label = "each its own" if design == OWN else HEAD_NAMES.get(design, design)
        cells = " | ".join(f"{by_task[t]['mean']:+.1f} [{by_task[t]['low']:+.1f}, {by_task[t]['high']:+.1f}] "
                           f"p={by_task[t]['p']:.2f}" for t in columns)
        lines.append(f"| {trunk_name(a)} − {trunk_name(b)} | {head_label} | {cells} |")
    note = ("Each cell: mean difference of the UFL terms in points, its 95% interval (t, n − 1 degrees of freedom) "
            "and the paired t test's p value.")
    lines += ["", note]
    return lines


def _footer(document: dict[str, Any]) -> str:
    seeds = ", ".join(str(s) for s in document["seeds"])
    minutes = compute_minutes(document)
    return (
        f"{document['recipe']}: trunks {document['steps']} steps, heads {document['head_steps']} steps, single-task "
        f"references {document['stl_steps']} steps (trunk + head); {document['dataset']} {document['split']} "
        f"({document['images']} images); seeds {seeds}; mean ± standard deviation over seeds of the UFL term (%, the "
        f"held-out metric relative to the STL reference of the same seed; STL row: the metric itself). Saliency "
        f"protocol: {document['saliency_protocol']} ({document['saliency_protocol_description']}). "
        f"Wall time of the runs (one thread each, on a shared machine): trunks {minutes['trunks']:.0f} min, "
        f"heads {minutes['heads']:.0f} min, single-task references {minutes['stl']:.0f} min. "
        f"Paper, for comparison: {PAPER_CLAIM}."
    )
