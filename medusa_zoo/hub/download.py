"""Fetching checkpoint files: bundled copies or the Hub's, verified before use.

Every weights file is hashed (sha256) *before* it is deserialised. Hub files come through
:func:`medusa_zoo.fetch.hub_file` (pinned revision, sha256 checked, a corrupt cache entry evicted
and fetched once more, huggingface_hub's errors translated into typed medusa_zoo errors).
"""

from __future__ import annotations

from ..fetch import hub_file, offline
from ..files import sha256_of
from ..models.sources import entry_weights  # lives with the network, which resolves names itself

__all__ = ["entry_weights", "hub_file", "offline", "sha256_of"]
