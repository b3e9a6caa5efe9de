"""``checkpoints.json``: reading and validating it lives in :mod:`medusa_zoo.models.manifest` (re-exported
here); this module adds :func:`write_entry`, which maintainers use to publish a checkpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..errors import ManifestError
from ..files import read_json
from ..models.checkpoints import CheckpointEntry
from ..models.manifest import (
    BUNDLED_DIR,
    MANIFEST_ENV,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    HubLocation,
    Manifest,
    load_manifest,
    manifest_path,
    parse_entry,
)

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
    "write_entry",
]  # fmt: skip


def write_entry(entry: CheckpointEntry, path: Path) -> None:
    """Add or replace ``entry`` in the manifest file at ``path`` (atomically, then re-validated)."""
    raw = read_json(path, ManifestError, "checkpoint manifest")
    Manifest.from_dict(raw, path)  # refuse to add to a malformed manifest
    if entry.default:
        for other in raw["checkpoints"].values():
            if other["architecture"] == entry.architecture:
                other["default"] = False
    raw["checkpoints"][entry.name] = entry.to_dict()
    raw["checkpoints"] = dict(sorted(raw["checkpoints"].items()))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        out.write(json.dumps(raw, indent=2) + "\n")
    os.replace(temporary, path)
    load_manifest(path)  # raises ManifestError if what we wrote does not validate
