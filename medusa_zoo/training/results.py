"""Measured results that ship with the package (``medusa_zoo/results/*.json``).

Files are named ``<dataset>_<backbone>.<kind>.json``: ``stl`` holds the single-task results
of a family (what Δm compares against), ``trivial`` the trivial predictors', and each
architecture's file (``medusa``, ``mtinet``, ``mtl``) its evaluation. Every file records the
command that measured it; none is typed by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import IncompatibleConfigError
from ..metrics import delta_m

RESULTS_FORMAT = "medusa_zoo.results/1"
RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


def results_path(dataset: str, backbone: str, kind: str) -> Path:
    """Where the shipped ``kind`` results of a (dataset, backbone) family live."""
    return RESULTS_DIR / f"{dataset}_{backbone}.{kind}.json"


def read_results(path: str | Path) -> dict[str, Any]:
    """A results JSON file, checked for its format."""
    raw = json.loads(Path(path).read_text())
    if not isinstance(raw, dict) or raw.get("format") != RESULTS_FORMAT or not isinstance(raw.get("values"), dict):
        raise IncompatibleConfigError(f"{path} is not a medusa_zoo results file ({RESULTS_FORMAT})")
    return raw


def write_results(path: str | Path, results: Mapping[str, Any]) -> Path:
    """Write ``results`` (with the format tag) as indented JSON; NaN becomes null."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"format": RESULTS_FORMAT, **results}
    path.write_text(json.dumps(_json_safe(body), indent=2) + "\n")
    return path


def merge_single_task(files: Sequence[str | Path]) -> dict[str, Any]:
    """One STL results document from per-task evaluation files of single-task models.

    Every file must be on the same dataset, split and number of images, and hold one task.
    """
    parts = [read_results(f) for f in files]
    keys = {(p["dataset"], p["split"], p["images"]) for p in parts}
    if len(keys) != 1:
        raise IncompatibleConfigError(f"STL results must share dataset, split and images; got {sorted(keys)}")
    values: dict[str, Any] = {}
    runs = {}
    for part, path in zip(parts, files):
        if len(part["values"]) != 1:
            raise IncompatibleConfigError(f"{path} holds {len(part['values'])} tasks; an STL result holds one")
        (task, metrics), = part["values"].items()
        values[task] = metrics
        runs[task] = {"model": part.get("model"), "command": part.get("command")}
    dataset, split, images = keys.pop()
    merged = {"kind": "stl", "dataset": dataset, "split": split, "images": images, "values": values, "runs": runs}
    if all("parameters" in part for part in parts):  # one network per task: their sizes add up
        merged["parameters"] = {k: sum(part["parameters"][k] for part in parts) for k in ("total", "backbone")}
    return merged


def delta_m_against(
    values: Mapping[str, Mapping[str, float]],
    reference: Mapping[str, Any],
    primary: Mapping[str, tuple[str, bool]],
    dataset: str,
    split: str,
    images: int,
) -> tuple[float | None, str]:
    """(Δm, explanation) of ``values`` against a shipped STL ``reference``, or (None, why not)."""
    where = (reference.get("dataset"), reference.get("split"), reference.get("images"))
    if where != (dataset, split, images):
        return None, (f"the STL reference was measured on {where}, this evaluation on {(dataset, split, images)}; "
                      f"evaluate {where[0]}:{where[1]} with --images {where[2]} to compare")
    missing = [t for t in primary if t not in reference["values"]]
    if missing:
        return None, f"the STL reference has no result for {missing}"
    return delta_m(values, reference["values"], primary), f"vs STL ({dataset} {split}, {images} images)"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


if __name__ == "__main__":  # the older entry point of ``python -m medusa_zoo results``
    import sys

    from ..cli import main

    sys.exit(main(["results", *sys.argv[1:]], legacy="medusa_zoo.training.results"))
