"""Resource budgets: how large an input, a file we read or a download may be before we refuse it.

Every budget has a default that fits a desktop machine and can be changed for the whole process
or for a block of code::

    import medusa_zoo
    medusa_zoo.limits.set_limits(max_image_pixels=100_000_000)      # from now on
    with medusa_zoo.limits.limits(download_timeout_s=30):           # only inside the block
        model = medusa_zoo.load("hf-hub:org/name")

Exceeding a budget raises :class:`~medusa_zoo.errors.ResourceLimitError` (or a subclass such as
:class:`~medusa_zoo.errors.ImageTooLargeError`) before the memory or time is spent; its message
names the budget and how to raise it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import ResourceLimitError

__all__ = ["Limits", "get_limits", "set_limits", "limits"]


@dataclass(frozen=True)
class Limits:
    """The budgets (all positive).

    - ``max_image_pixels``: width × height of one input image, checked from the file header before
      decoding (PIL's own decompression-bomb limit is raised to match) and from a tensor's shape.
      ``predict`` returns maps at the input size, so this also bounds its memory: about 3.3 GiB for the
      default model at the default budget (``python -m medusa_zoo benchmark predict-memory``).
    - ``max_json_bytes`` / ``max_json_depth``: size and nesting of every JSON file medusa_zoo reads
      (``config.json``, ``head.json``, recipes, manifests, run state).
    - ``download_timeout_s``: wall-clock budget for one file download from the Hub.
    - ``stale_download_s``: an ``.incomplete`` download in the cache older than this is removed.
    """

    max_image_pixels: int = 24_000_000
    max_json_bytes: int = 16 * 1024 * 1024
    max_json_depth: int = 32
    download_timeout_s: float = 600.0
    stale_download_s: float = 3600.0

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or value != value:
                raise ResourceLimitError(
                    f"limit {item.name} must be a positive number, got {value!r}", item.name, 0, 0
                )


_current = Limits()


def get_limits() -> Limits:
    """The budgets in force now."""
    return _current


def set_limits(**changes: float) -> Limits:
    """Change some budgets for the whole process; returns the previous :class:`Limits`."""
    global _current
    previous = _current
    try:
        _current = dataclasses.replace(_current, **changes)
    except TypeError:
        known = [f.name for f in dataclasses.fields(Limits)]
        unknown = sorted(set(changes) - set(known))
        raise ResourceLimitError(f"unknown limits {unknown}; the budgets are {known}", ",".join(unknown)) from None
    return previous


@contextmanager
def limits(**changes: float) -> Iterator[Limits]:
    """Change some budgets inside a ``with`` block only."""
    global _current
    previous = set_limits(**changes)
    try:
        yield _current
    finally:
        _current = previous
