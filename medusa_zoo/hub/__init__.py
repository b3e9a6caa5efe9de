"""Checkpoint distribution: the manifest of published checkpoints and verified downloads.

Publishing (a Hub-ready folder, the upload, the pinned manifest entry) lives with the network
in :mod:`medusa_zoo.models.publish` and is re-exported here under its old names.
"""

from ..files import sha256_of
from ..models.checkpoints import CheckpointEntry, HubLocation, parse_entry
from ..models.publish import manifest_entry, push_to_hub, write_hub_folder
from .download import entry_weights, hub_file
from .manifest import MANIFEST_FORMAT, Manifest, load_manifest, manifest_path, write_entry

__all__ = [
    "MANIFEST_FORMAT",
    "CheckpointEntry",
    "HubLocation",
    "Manifest",
    "entry_weights",
    "hub_file",
    "load_manifest",
    "manifest_entry",
    "manifest_path",
    "parse_entry",
    "push_to_hub",
    "sha256_of",
    "write_entry",
    "write_hub_folder",
]
