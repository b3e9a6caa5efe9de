"""The head options a config may set, each with its type and range, checked before any module is built.

Head options come from ``config.json`` (data from anywhere) as well as from keyword arguments,
so each one is bounded: a ``refine_blocks`` or ``width`` of 10^9 would otherwise allocate for
minutes before failing. The bounds are generous for real designs and finite.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from ..bounds import bounded_int, show
from ..errors import IncompatibleConfigError
from .medusa import MASK_TYPES

MAX_REFINE_BLOCKS = 64
MAX_WIDTH = 4096
MAX_ATTACHED = 64


def _mask(value: Any) -> None:
    if not isinstance(value, str) or value not in MASK_TYPES:
        raise IncompatibleConfigError(f"head option: mask must be one of {list(MASK_TYPES)}, got {show(value)}")


def _flag(name: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not isinstance(value, bool):
            raise IncompatibleConfigError(f"head option {name!r} must be true or false, got {show(value)}")

    return check


def _attached(value: Any) -> None:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_ATTACHED or not all(isinstance(t, str) for t in value):
        raise IncompatibleConfigError(
            f"head option 'attached' must be a list of at most {MAX_ATTACHED} task names, got {show(value)}"
        )


OPTION_CHECKS: Mapping[str, Callable[[Any], Any]] = {
    "mask": _mask,
    "refine_blocks": lambda v: bounded_int(v, "head option 'refine_blocks'", 0, MAX_REFINE_BLOCKS),
    "scale_attention": _flag("scale_attention"),
    "width": lambda v: bounded_int(v, "head option 'width'", 1, MAX_WIDTH),
    "attached": _attached,
}
"""Every head option of every registered head type, by name (a head's options are a subset)."""


def check_head_options(head: str, accepted: list[str], options: Any) -> None:
    """Refuse options that ``head`` does not take (with the closest name) or whose value is out of range."""
    if not isinstance(options, Mapping):
        raise IncompatibleConfigError(f"head_options must be a JSON object, got {show(options)}")
    for name, value in options.items():
        if name not in accepted:
            close = difflib.get_close_matches(str(name), accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise IncompatibleConfigError(
                f"head {head!r} takes no option(s) {[name]}{hint}; accepted: {', '.join(accepted) or 'none'}"
            )
        check = OPTION_CHECKS.get(name)
        if check is None:  # a head type registered without a declared check: refuse rather than guess
            raise IncompatibleConfigError(f"head option {name!r} of {head!r} has no declared bounds; it cannot be set")
        try:
            check(value)
        except IncompatibleConfigError as bad:
            raise IncompatibleConfigError(
                f"head {head!r} cannot be built with options {show(dict(options))}: {bad}"
            ) from None
