"""``checkpoints.json``: the manifest of every published checkpoint, validated against a schema.

It lives with the checkpoint records (models, layer 6) so a network can resolve published names
itself (``MultiTaskNet.from_pretrained``); :mod:`medusa_zoo.hub.manifest` re-exports it and adds
:func:`~medusa_zoo.hub.manifest.write_entry`.

The manifest is data, shipped inside the wheel: a file of :class:`~medusa_zoo.models.checkpoints.CheckpointEntry`
records keyed ``"<architecture>.<tag>"``. A malformed entry raises
:class:`~medusa_zoo.errors.ManifestError` naming the entry and the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import ManifestError, UnknownModelError
from ..files import read_json
from ..registry import Registry
from .checkpoints import BUNDLED_DIR, CheckpointEntry, HubLocation, parse_entry

__all__ = [
    "BUNDLED_DIR",
    "MANIFEST_ENV",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "CheckpointEntry",
    "HubLocation",
    "Manifest",
    "load_manifest",
    "manifest_path",
    "parse_entry",
]  # fmt: skip

MANIFEST_FORMAT = "medusa_zoo.checkpoints/1"
MANIFEST_NAME = "checkpoints.json"
MANIFEST_ENV = "MEDUSA_ZOO_MANIFEST"  # path of another manifest (private zoos, tests)


class Manifest:
    """All checkpoint entries of one manifest file, looked up by ``arch.tag`` name."""

    def __init__(self, entries: Mapping[str, CheckpointEntry], path: Path | None = None) -> None:
        self.path = path
        self.entries: Registry[CheckpointEntry] = Registry("checkpoint", UnknownModelError)
        for name, entry in entries.items():
            self.entries.register(name, entry)

    @classmethod
    def from_dict(cls, raw: Any, path: Path | None = None) -> Manifest:
        """Validate the whole manifest (format, every entry, one default per architecture)."""
        if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT or not isinstance(raw.get("checkpoints"), dict):
            raise ManifestError(
                f"{path or 'manifest'}: expected {{'format': {MANIFEST_FORMAT!r}, 'checkpoints': {{name: entry}}}}"
            )
        entries = {name: _parse(name, entry) for name, entry in raw["checkpoints"].items()}
        defaults: dict[str, str] = {}
        for entry in entries.values():
            if entry.default and entry.architecture in defaults:
                raise ManifestError(
                    f"checkpoints.json entries {defaults[entry.architecture]!r} and {entry.name!r}, field 'default': "
                    "only one checkpoint per architecture may be the default"
                )
            if entry.default:
                defaults[entry.architecture] = entry.name
        return cls(entries, path)

    def get(self, name: str) -> CheckpointEntry:
        """The entry for ``arch.tag``; unknown names raise with the closest published names."""
        return self.entries.get(name)

    def default_for(self, architecture: str) -> CheckpointEntry | None:
        """The architecture's default checkpoint: the one marked default, else its only one."""
        candidates = [self.entries.get(n) for n in self.entries.names(f"{architecture}.*")]
        marked = [e for e in candidates if e.default]
        if marked:
            return marked[0]
        return candidates[0] if len(candidates) == 1 else None

    def names(self, pattern: str = "*") -> list[str]:
        return self.entries.names(pattern)


def _parse(name: str, raw: Any) -> CheckpointEntry:
    """:func:`parse_entry`, with any stray built-in error from a malformed value typed as :class:`ManifestError`."""
    try:
        return parse_entry(name, raw)
    except ManifestError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, LookupError) as bad:
        raise ManifestError(f"checkpoints.json entry {name!r} is malformed: {type(bad).__name__}: {bad}") from None


def manifest_path() -> Path:
    """The manifest in use: ``$MEDUSA_ZOO_MANIFEST``, else the packaged copy, else the source tree's."""
    override = os.environ.get(MANIFEST_ENV)
    if override:
        return Path(override).expanduser()
    packaged = Path(__file__).resolve().parents[1] / MANIFEST_NAME  # medusa_zoo/checkpoints.json
    return packaged if packaged.is_file() else Path(__file__).resolve().parents[2] / MANIFEST_NAME


def load_manifest(path: str | Path | None = None) -> Manifest:
    """Read and validate a manifest (default: :func:`manifest_path`); cached per file version."""
    path = Path(path) if path is not None else manifest_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ManifestError(f"the checkpoint manifest {path} does not exist; reinstall medusa-zoo") from None
    except OSError as bad:
        raise ManifestError(f"cannot read the checkpoint manifest {path}: {bad.strerror or bad}") from None
    return _load_cached(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load_cached(path: Path, mtime_ns: int, size: int) -> Manifest:
    return Manifest.from_dict(read_json(path, ManifestError, "checkpoint manifest"), path)
