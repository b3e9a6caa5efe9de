"""Fetching checkpoint files: bundled copies or the Hub's, verified before use.

Every weights file is hashed (sha256) *before* it is deserialised. Hub files come through
:func:`medusa_zoo.fetch.hub_file` (pinned revision, sha256 checked, a corrupt cache entry evicted
and fetched once more, huggingface_hub's errors translated into typed medusa_zoo errors).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointNotFoundError, IntegrityError
from ..fetch import hub_file, offline
from ..files import sha256_of
from ..models.checkpoints import CheckpointEntry

__all__ = ["entry_weights", "hub_file", "offline", "sha256_of"]


def entry_weights(entry: CheckpointEntry, cache_dir: str | Path | None = None) -> Path:
    """The verified weights file of a manifest entry: the bundled copy, else the Hub's."""
    if entry.bundled and entry.bundled_path.is_file():
        try:
            actual = sha256_of(entry.bundled_path)
        except OSError as bad:
            actual = f"unreadable ({bad.strerror or bad})"
        if actual == entry.sha256:
            return entry.bundled_path
        if entry.hub is None:
            raise IntegrityError(
                f"the bundled file {entry.bundled_path} has sha256 {actual}, but the manifest pins {entry.sha256}; "
                "the installation is damaged: reinstall medusa-zoo (pip install --force-reinstall medusa-zoo)",
                str(entry.bundled_path), entry.sha256, actual,
            )  # fmt: skip
    if entry.hub is None:
        raise CheckpointNotFoundError(
            f"{entry.name} is marked as bundled but {entry.bundled_path} is missing and it is not published on the Hub; "
            "reinstall medusa-zoo"
        )
    return hub_file(entry.hub.repo_id, entry.filename, entry.hub.revision, expected_sha256=entry.sha256, cache_dir=cache_dir)


