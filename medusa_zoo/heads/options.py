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
MAX_AUXILIARY = 64
MAX_AUXILIARY_CHANNELS = 4096  # as a task's output channels (tasks.MAX_CLASSES; heads may not import tasks)


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


def check_auxiliary(value: Any) -> dict[str, int]:
    """``value`` as ``{task name: output channels}``: a JSON object of at most :data:`MAX_AUXILIARY`
    non-empty names, each with a bounded positive integer; else :class:`IncompatibleConfigError`."""
    if not isinstance(value, Mapping) or len(value) > MAX_AUXILIARY or not all(isinstance(t, str) and t for t in value):
        raise IncompatibleConfigError(
            f"head option 'auxiliary' must map at most {MAX_AUXILIARY} task names to their output channels "
            f'(e.g. {{"normals": 3, "edge": 1}}), got {show(value)}'
        )
    return {
        t: bounded_int(k, f"head option 'auxiliary': the output channels of {t!r}", 1, MAX_AUXILIARY_CHANNELS)
        for t, k in value.items()
    }


OPTION_CHECKS: Mapping[str, Callable[[Any], Any]] = {
    "mask": _mask,
    "refine_blocks": lambda v: bounded_int(v, "head option 'refine_blocks'", 0, MAX_REFINE_BLOCKS),
    "scale_attention": _flag("scale_attention"),
    "width": lambda v: bounded_int(v, "head option 'width'", 1, MAX_WIDTH),
    "attached": _attached,
    "auxiliary": check_auxiliary,
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
