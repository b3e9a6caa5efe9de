"""Statistics of a UFL document over seeds: means, spreads and paired comparisons of trunks.

Every cell holds one UFL term per seed. A trunk's UFL score for one head design is, per
seed, the mean of its held-out cells; over seeds it is reported as mean ± sample standard
deviation. Two trunks are compared with the same head design, paired by seed (the same seed
gives both trunks the same sample order and the same single-task reference): the mean
difference, its 95% confidence interval (Student's t with n - 1 degrees of freedom) and the
two-sided p value of the paired t test. With three seeds only large, consistent differences
reach significance; the interval says how large a difference the seed noise allows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats

OWN = "own"


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def paired(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """``a - b`` paired by position: mean, std, 95% interval and the paired t test's p value."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    mean, std = mean_std(diff)
    n = len(diff)
    if n < 2:
        return {"mean": mean, "std": std, "low": math.nan, "high": math.nan, "p": math.nan, "n": n}
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    p = float(stats.ttest_rel(a, b).pvalue) if std > 0 else (0.0 if mean != 0 else 1.0)
    return {"mean": mean, "std": std, "low": mean - half, "high": mean + half, "p": p, "n": n}


def rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (trunk, head design): per held-out task and overall, the scores per seed."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for cell in document["cells"]:
        key = (cell["trunk"], cell["head"])
        row = out.setdefault(key, {"trunk": cell["trunk"], "head": cell["head"], "own_head": cell["own_head"],
                                   "head_parameters": {}, "backbone_parameters": cell["backbone_parameters"],
                                   "scores": {}})
        row["scores"][cell["held_out"]] = cell["scores"]
        row["head_parameters"][cell["held_out"]] = cell["head_parameters"]
    for row in out.values():
        per_seed = np.asarray([row["scores"][t] for t in document["held_out"] if t in row["scores"]], dtype=float)
        row["ufl_seeds"] = per_seed.mean(axis=0).tolist()
        row["ufl"] = mean_std(row["ufl_seeds"])
        row["per_task"] = {t: mean_std(scores) for t, scores in row["scores"].items()}
    return list(out.values())


def comparisons(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Paired differences between trunks with the same head: each common design and each trunk's own.

    ``head`` is a common design's name, or ``"own"`` (each trunk with its own head, the
    protocol as the paper ran it). ``held_out`` is a task, or ``"mean"`` for the UFL score.
    """
    table = rows(document)
    trunks = list(dict.fromkeys(r["trunk"] for r in table))
    designs = [OWN, *document["common_heads"]]
    out = []
    for design in designs:
        chosen = {r["trunk"]: r for r in table if (r["own_head"] if design == OWN else r["head"] == design)}
        for a, b in combinations([t for t in trunks if t in chosen], 2):
            for task in [*document["held_out"], "mean"]:
                sa = chosen[a]["ufl_seeds"] if task == "mean" else chosen[a]["scores"][task]
                sb = chosen[b]["ufl_seeds"] if task == "mean" else chosen[b]["scores"][task]
                out.append({"head": design, "a": a, "b": b, "held_out": task, **paired(sa, sb)})
    return out


def stl_summary(document: dict[str, Any]) -> dict[str, dict[str, tuple[float, float]]]:
    """Mean and std over seeds of every metric of each single-task reference."""
    return {t: {k: mean_std([v[k] for v in ref["values"]]) for k in ref["values"][0]}
            for t, ref in document["stl"].items()}


def compute_minutes(document: dict[str, Any]) -> dict[str, float]:
    """Wall minutes of every run the document used: trunks, heads and single-task references."""
    trunks = {(c["trunk"], c["held_out"], i): s for c in document["cells"] for i, s in enumerate(c["trunk_wall_s"])}
    seconds = {
        "trunks": sum(s or 0 for s in trunks.values()),
        "heads": sum(s for c in document["cells"] for s in c["head_wall_s"]),
        "stl": sum(s or 0 for t in document["stl"].values() for s in t["wall_s"]),
    }
    return {k: v / 60 for k, v in seconds.items()}


def summarise(document: dict[str, Any]) -> dict[str, Any]:
    """What the tables show, computed from the cells, to store beside them."""
    trivial = document["trivial"]["scores"]
    return {"rows": rows(document), "comparisons": comparisons(document), "stl_summary": stl_summary(document),
            "trivial_score": sum(trivial.values()) / len(trivial), "compute_minutes": compute_minutes(document)}
