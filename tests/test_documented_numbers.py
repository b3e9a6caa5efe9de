"""Every number in the tables of README.md and MODEL_CARD.md is in a results file that records its command.

A table cell's number matches a stored value when the value, rounded to the cell's decimals,
gives the cell (after one of the unit changes the tables use: fraction -> percent, count ->
thousands or millions, bytes -> MB, seconds -> ms). Definitions that are not measurements
in the tables of ``DEFINITIONS`` are skipped, and single definitions inside measured tables (a
channel count in a row label, a sum of stored rows) are listed in ``NOT_MEASURED`` with the reason; an
entry that no table uses any more fails too, so the list cannot rot. The check is one-sided:
a one-decimal number can also match an unrelated stored value by chance, so it catches numbers
that no results file holds, not every wrong one.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "MODEL_CARD.md")
RESULT_FILES = sorted((ROOT / "medusa_zoo" / "results").rglob("*.json"))
SCALES = (1.0, 100.0, 1e-3, 1e-6, 1e3)
DEFINITIONS = ("| head | what it is |", "| backbone | timm model |", "| task | outputs |", "| meter (task kind) |",
               "| to add | touch |", "| step | default | option |")
"""Header rows of tables that define things (architectures, tasks, meters, options): nothing in them is measured."""
NUMBER = re.compile(r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")

NOT_MEASURED = {
    ("README.md", "270"): "a channel count naming a stage of the batched-heads table",
    ("README.md", "102.1"): "the batched-heads table's 'all stages' row: the sum of the stored rows above it",
    ("README.md", "125.7"): "the batched-heads table's 'all stages' row: the sum of the stored rows above it",
    ("README.md", "1.23"): "the batched-heads table's 'all stages' row: the ratio of its two sums",
    ("README.md", "9.7e-05"): "the speed-up table's max loss difference, computed from the stored per-step losses",
    ("MODEL_CARD.md", "1,000"): "the training steps naming a model in a row label",
}


def _values() -> list[float]:
    out: list[float] = []

    def walk(node: object) -> None:
        if isinstance(node, bool):
            return
        if isinstance(node, (int, float)) and math.isfinite(node):
            out.append(abs(float(node)))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in [*RESULT_FILES, ROOT / "checkpoints.json"]:
        walk(json.loads(path.read_text()))
    return out


def _table_numbers(document: str) -> list[tuple[int, str, str]]:
    """(line, token, row) of every number in a table body (header and separator rows skipped)."""
    found = []
    header = None
    for number, line in enumerate((ROOT / document).read_text().splitlines(), 1):
        if not line.startswith("|"):
            header = None
        elif header is None:
            header = line
        elif not set(line) <= set("|-: ") and not header.startswith(DEFINITIONS):
            found.extend((number, token, line) for token in NUMBER.findall(line))
    return found


def _matches(token: str, values: list[float]) -> bool:
    text = token.replace("−", "-").replace(",", "").lstrip("+-")
    target = float(text)
    mantissa = text.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    tolerance = 0.5 * 10.0 ** -decimals * (10.0 ** int(text.split("e")[1]) if "e" in text else 1.0) + 1e-9
    return any(abs(v * s - target) <= tolerance for v in values for s in SCALES)


def test_every_results_file_records_its_command() -> None:
    missing = [p.relative_to(ROOT).as_posix() for p in RESULT_FILES if "command" not in json.loads(p.read_text())]
    assert not missing, f"results files without the command that wrote them: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_table_number_is_in_a_results_file(document: str) -> None:
    values = _values()
    unmatched = [
        f"{document}:{line}: {token} in {row[:90]!r}"
        for line, token, row in _table_numbers(document)
        if (document, token) not in NOT_MEASURED and not _matches(token, values)
    ]
    assert not unmatched, "numbers with no results file behind them:\n" + "\n".join(unmatched)


def test_the_exceptions_are_still_used() -> None:
    used = {(document, token) for document in DOCUMENTS for _, token, _ in _table_numbers(document)}
    stale = [key for key in NOT_MEASURED if key not in used]
    assert not stale, f"NOT_MEASURED entries no table uses any more: {stale}"


def test_the_check_can_fail() -> None:
    values = [72.94, 0.5954, 7_950_000.0]
    assert _matches("72.9", values) and _matches("59.5", values) and _matches("7.95", values)
    assert not _matches("72.8", values) and not _matches("61.0", values) and not _matches("8.1", values)
