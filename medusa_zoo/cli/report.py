"""Print the markdown table of a family's shipped results (what README.md and MODEL_CARD.md paste).

    python -m medusa_zoo report --family synthrooms_regnetx002
"""

from __future__ import annotations

import argparse

HELP = "print the results table of a checkpoint family"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--family", default="synthrooms_regnetx002", help="<dataset>_<backbone> (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    from ..errors import UnknownNameError
    from ..training.report import ROWS, table
    from ..training.results import RESULTS_DIR

    kinds = {f".{kind}.json" for kind, _ in ROWS}
    families = sorted({p.name.split(".")[0] for p in RESULTS_DIR.iterdir() if p.name[p.name.find("."):] in kinds})
    if args.family not in families:
        raise UnknownNameError(f"no shipped results for family {args.family!r}; families: {families}", families)
    print(table(args.family))
    return 0
