"""The harness itself can tell each outcome apart (else the fuzz table could not fail)."""

from __future__ import annotations

import time

import pytest

from medusa_zoo import InvalidImageError
from tests.fuzz import harness


def _hog() -> bytearray:
    return bytearray(64 << 30)  # 64 GiB: beyond any budget


@pytest.mark.parametrize(
    ("call", "expect", "check", "outcome"),
    [
        (lambda: (_ for _ in ()).throw(InvalidImageError("bad")), "typed", None, "typed"),
        (lambda: {}[1], "typed", None, "raw"),
        (lambda: 3, "typed", None, "silent wrong"),
        (lambda: 3, "correct", lambda r: r == 3, "correct"),
        (lambda: 3, "either", lambda r: r == 4, "silent wrong"),
        (lambda: time.sleep(5), "typed", None, "hang"),
        (_hog, "typed", None, "raw"),
    ],
    ids=["typed", "raw", "accepted-bad-input", "correct", "failed-check", "hang", "memory"],
)
def test_attempt_classifies_each_outcome(call, expect, check, outcome) -> None:
    found, _ = harness.attempt("harness self-test", call, expect, check, seconds=0.5)
    harness.RECORD.pop("harness self-test", None)
    assert found == outcome
