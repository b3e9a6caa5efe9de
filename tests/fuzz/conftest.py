"""Print the fuzz outcome table after a run that collected tests/fuzz; with ``MEDUSA_ZOO_FUZZ_TABLE=PATH``
also write it to PATH (the command behind the table in issue 15's note)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz.harness import RECORD, table


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RECORD:
        return
    text = table()
    terminalreporter.write_sep("-", "fuzz outcomes by family (tests/fuzz)")
    terminalreporter.write_line(text)
    if os.environ.get("MEDUSA_ZOO_FUZZ_TABLE"):
        Path(os.environ["MEDUSA_ZOO_FUZZ_TABLE"]).write_text(text + "\n")
