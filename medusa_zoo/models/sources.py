"""Where a checkpoint's files come from: a saved folder, a Hub repository or a published name.

:func:`resolve` turns what a user passes to ``MultiTaskNet.from_pretrained`` into a
:class:`Resolved` checkpoint (config, verified weights file, provenance), without building the
network, so the network class can call it. Published names are looked up in the manifest
(:mod:`.manifest`); Hub files come through :func:`medusa_zoo.fetch.hub_file` (validated repo id
and revision, sha256 checked where the manifest pins one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TypeVar

from ..errors import (
    CheckpointError,
    CheckpointNotFoundError,
    IncompatibleConfigError,
    IntegrityError,
    UnknownModelError,
)
from ..fetch import check_repo_id, check_revision, hub_file
from ..files import sha256_of
from .checkpoints import CheckpointEntry
from .config import ModelConfig
from .manifest import load_manifest
from .provenance import PROVENANCE_KEY, Provenance
from .serialization import CONFIG_NAME, WEIGHTS_NAME, read_config, read_weight_metadata
from .zoo import ARCHITECTURES

LOCAL_PREFIX = "local-dir:"
HUB_PREFIX = "hf-hub:"
T = TypeVar("T")


@dataclass(frozen=True)
class Resolved:
    """A checkpoint found and verified: what to build, the weights to load, and where they came from."""

    config: ModelConfig
    weights: Path
    source: str  # the name it was loaded from: a folder path, "hf-hub:org/name@revision" or "arch.tag"
    provenance: Provenance


def resolve(spec: str | PurePath, revision: str | None = None, cache_dir: str | Path | None = None) -> Resolved:
    """The checkpoint ``spec`` names: a folder (a path, or ``"local-dir:PATH"``), a Hub repo
    (``"org/name"`` or ``"hf-hub:org/name[@revision]"``) or a published ``"arch[.tag]"`` name."""
    if isinstance(spec, PurePath):
        return read_folder(_no_revision(Path(spec), revision, "a local folder"))
    if not isinstance(spec, str) or not spec:
        raise IncompatibleConfigError(
            f"from_pretrained() takes a folder path, a Hub repo id 'org/name' or a published name, got {spec!r}"
        )
    if spec.startswith(LOCAL_PREFIX):
        return read_folder(_no_revision(Path(spec[len(LOCAL_PREFIX) :]).expanduser(), revision, "a local folder"))
    if spec.startswith(HUB_PREFIX):
        repo_id, at, pinned = spec[len(HUB_PREFIX) :].partition("@")
        if at and revision is not None:
            raise IncompatibleConfigError(f"{spec!r} names a revision already; do not pass revision= too")
        return read_hub_repo(repo_id, pinned if at else revision, cache_dir)
    if Path(spec).expanduser().is_dir():
        return read_folder(_no_revision(Path(spec).expanduser(), revision, "a local folder"))
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise CheckpointError(f"{spec} is not a folder; pass a folder written by save_pretrained() or a Hub repo id 'org/name'")
    if "/" in spec:
        return read_hub_repo(spec, revision, cache_dir)
    entry = find_entry(_no_revision(spec, revision, "a published checkpoint, pinned by the manifest"))
    return Resolved(entry.config, entry_weights(entry, cache_dir), spec, Provenance.from_entry(entry))


def read_folder(directory: Path) -> Resolved:
    """The checkpoint saved in ``directory`` by ``save_pretrained`` (config validated, weights not yet read)."""
    if not directory.is_dir():
        raise CheckpointError(f"{directory} is not a folder; pass a folder written by save_pretrained()")
    config = read_config(directory)
    weights = directory / WEIGHTS_NAME
    return Resolved(config, weights, str(directory), read_provenance(weights, config))


def read_hub_repo(repo_id: str, revision: str | None, cache_dir: str | Path | None) -> Resolved:
    """``config.json`` and ``model.safetensors`` of a Hub repo at ``revision`` (default ``main``), downloaded."""
    try:
        check_repo_id(repo_id)
        revision = check_revision("main" if revision is None else revision)
    except CheckpointError as bad:
        raise CheckpointError(f"a Hub checkpoint is 'org/name' with an optional revision (branch, tag or commit): {bad}") from None
    hub_file(repo_id, CONFIG_NAME, revision, cache_dir=cache_dir)
    weights = hub_file(repo_id, WEIGHTS_NAME, revision, cache_dir=cache_dir)
    found = read_folder(weights.parent)
    return Resolved(found.config, found.weights, f"hf-hub:{repo_id}@{revision}", found.provenance)


def read_provenance(weights: Path, config: ModelConfig) -> Provenance:
    """The provenance record in the header of ``weights`` (empty when it has none or the file is missing)."""
    if not weights.exists():
        return Provenance()  # loading the weights will say what is missing
    text = read_weight_metadata(weights).get(PROVENANCE_KEY)
    return Provenance() if text is None else Provenance.from_json(text, [t.name for t in config.tasks], str(weights))


def find_entry(name: str) -> CheckpointEntry:
    """The manifest entry for ``"arch.tag"``, or the default checkpoint of ``"arch"``."""
    manifest = load_manifest()
    if "." in name:
        return manifest.get(name)
    entry = manifest.default_for(name)
    if entry is None:
        if name not in ARCHITECTURES:
            ARCHITECTURES.get(name)  # raises UnknownModelError with the closest names
        raise CheckpointNotFoundError(
            f"no pretrained checkpoint of {name!r} is marked default; pick one of {manifest.names(f'{name}.*')} "
            "or build it with medusa_zoo.load(name, pretrained=False)"
        )
    return entry


def provenance_of(name: str) -> Provenance:
    """The manifest's facts about the published checkpoint ``name``, or none if it is not one."""
    try:
        return Provenance.from_entry(find_entry(name))
    except (UnknownModelError, CheckpointNotFoundError):
        return Provenance()


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


def _no_revision(spec: T, revision: str | None, what: str) -> T:
    if revision is not None:
        raise IncompatibleConfigError(f"revision= applies to Hub repositories; {str(spec)!r} is {what}")
    return spec
