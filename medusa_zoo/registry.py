"""A small typed registry: one instance per kind of component.

Names are unique (registering a name twice is an error), lookups of unknown names raise an
error that suggests the closest registered names, and listing supports fnmatch patterns.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterator
from typing import Generic, TypeVar

from .errors import DuplicateNameError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps unique names to entries of one kind (architectures, backbones, task kinds...)."""

    def __init__(self, kind: str, error: type[UnknownNameError] = UnknownNameError) -> None:
        self.kind = kind
        self._error = error
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name``; raises :class:`DuplicateNameError` if taken."""
        if name in self._entries:
            raise DuplicateNameError(
                f"a {self.kind} named {name!r} is already registered; pick another name"
            )
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> T:
        """Remove and return the entry under ``name`` (for tests and plugins that clean up after themselves)."""
        try:
            return self._entries.pop(name)
        except KeyError:
            raise self.unknown(name) from None

    def get(self, name: str) -> T:
        """Return the entry for ``name`` or raise an error naming the closest matches."""
        try:
            return self._entries[name]
        except KeyError:
            raise self.unknown(name) from None

    def unknown(self, name: str) -> UnknownNameError:
        """The error for a missing ``name``, with suggestions."""
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        return self._error(
            f"unknown {self.kind} {name!r}.{hint} "
            f"Registered: {', '.join(sorted(self._entries)) or 'none'}.",
            suggestions=close,
        )

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted names matching the fnmatch ``pattern``."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
