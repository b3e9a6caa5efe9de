"""Print the markdown table of a family's shipped results (what README.md and MODEL_CARD.md paste).

    python -m medusa_zoo report --family synthrooms_regnetx002
"""

from __future__ import annotations

import argparse

HELP = "print the results table of a checkpoint family"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--family", default="synthrooms_regnetx002", help="<dataset>_<backbone> (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    from ..training.report import table

    print(table(args.family))
    return 0
