"""Checkpoint distribution: the manifest, verified downloads from the Hub, publishing."""

from .download import entry_weights, hub_file, sha256_of
from .manifest import (
    MANIFEST_FORMAT,
    CheckpointEntry,
    HubLocation,
    Manifest,
    load_manifest,
    manifest_path,
    parse_entry,
)
from .publish import manifest_entry, push_to_hub, write_hub_folder

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
    "write_hub_folder",
]
