"""Checking numbers and lists that come from data we did not write (configs, recipes, head files).

Each helper returns the value when it is of the right type and inside its bounds, and otherwise
raises the caller's typed error naming the field, the allowed range and (shortened) what was given.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

from .errors import IncompatibleConfigError


def show(value: Any) -> str:
    """A short repr for error messages (a hostile value may be huge)."""
    return _SHORT.repr(value)


_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict = 60, 60, 8, 8


def number_list(value: Any, field: str, length: int, error: type[Exception] = IncompatibleConfigError) -> list[Any]:
    """``value`` as a list after checking it is a JSON list of exactly ``length`` items."""
    if not isinstance(value, (list, tuple)) or len(value) != length:
        raise error(f"{field} must be a list of {length} numbers, got {show(value)}")
    return list(value)


def bounded_int(value: Any, field: str, low: int, high: int, error: type[Exception] = IncompatibleConfigError) -> int:
    """``value`` if it is an integer (not a bool) in ``[low, high]``; else ``error`` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise error(f"{field} must be an integer in [{low}, {high}], got {show(value)}")
    return int(value)


def bounded_float(
    value: Any,
    field: str,
    low: float,
    high: float,
    error: type[Exception] = IncompatibleConfigError,
    *,
    below_high: bool = False,
) -> float:
    """``value`` as a float if it is a finite number (not a bool) in ``[low, high]`` (``[low, high)``
    with ``below_high``); else ``error`` naming ``field`` and the range."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    inside = number and low <= value and (value < high if below_high else value <= high)
    if not inside:
        bracket = ")" if below_high else "]"
        raise error(f"{field} must be a finite number in [{low:g}, {high:g}{bracket}, got {show(value)}")
    return float(value)
