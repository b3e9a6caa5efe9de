"""Checkpoint records: one published weights file of a registered architecture, as data.

A :class:`CheckpointEntry` pins one weights file by sha256 and size, says where it lives
(bundled in the package and/or a Hub repo at a 40-hex commit), and carries the model config
(tasks with class counts and label names, preprocessing), the metrics our evaluation measured
with the split they were measured on, the recipe that produced the weights and the licence.
:func:`parse_entry` validates one entry of ``checkpoints.json`` (the manifest itself, a file of
entries, is read by :mod:`medusa_zoo.hub.manifest`); a malformed entry raises
:class:`~medusa_zoo.errors.ManifestError` naming the entry and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IncompatibleConfigError, ManifestError
from .config import ModelConfig
from .zoo import ARCHITECTURES

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "bundled"

_NAME = re.compile(r"^[a-z0-9_]+\.[a-z0-9][a-z0-9_\-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_FIELDS = {
    "architecture", "default", "filename", "sha256", "size", "bundled", "hub",
    "config", "metrics", "recipe", "license", "description",
}  # fmt: skip


@dataclass(frozen=True)
class HubLocation:
    """A Hub repository pinned at one commit."""

    repo_id: str
    revision: str


@dataclass(frozen=True)
class CheckpointEntry:
    """One validated manifest entry (see the module docstring for the fields)."""

    name: str
    architecture: str
    filename: str
    sha256: str
    size: int
    bundled: bool
    hub: HubLocation | None
    config: ModelConfig
    recipe: str
    license: str
    default: bool = False
    description: str = ""
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return self.name.partition(".")[2]

    @property
    def bundled_path(self) -> Path:
        """Where a bundled copy lives inside the installed package."""
        return BUNDLED_DIR / self.name / self.filename

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this entry, as it appears in ``checkpoints.json``."""
        return {
            "architecture": self.architecture,
            "default": self.default,
            "description": self.description,
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
            "bundled": self.bundled,
            "hub": None if self.hub is None else {"repo_id": self.hub.repo_id, "revision": self.hub.revision},
            "config": self.config.to_dict(),
            "metrics": dict(self.metrics),
            "recipe": self.recipe,
            "license": self.license,
        }


def parse_entry(name: str, raw: Any) -> CheckpointEntry:
    """Validate one entry; every problem raises :class:`ManifestError` naming ``name`` and the field."""

    def fail(field_name: str, problem: str) -> ManifestError:
        return ManifestError(f"checkpoints.json entry {name!r}, field {field_name!r}: {problem}")

    if not _NAME.match(name):
        raise fail("<name>", "names look like '<architecture>.<tag>' in lower case, e.g. 'medusa_hrnet18.synthrooms'")
    if not isinstance(raw, dict):
        raise fail("<entry>", f"must be a JSON object, got {type(raw).__name__}")
    for required in ("architecture", "filename", "sha256", "size", "bundled", "hub", "config", "recipe", "license"):
        if required not in raw:
            raise fail(required, "is required")
    if unknown := sorted(set(raw) - _FIELDS):
        raise fail(unknown[0], f"is not a manifest field (known: {', '.join(sorted(_FIELDS))})")
    arch = raw["architecture"]
    if arch != name.partition(".")[0]:
        raise fail("architecture", f"{arch!r} must equal the part of the name before the dot")
    if arch not in ARCHITECTURES:
        raise fail("architecture", f"{arch!r} is not a registered architecture")
    _expect(fail, raw, "filename", str, lambda v: v.endswith(".safetensors") and "/" not in v, "a .safetensors file name")
    _expect(fail, raw, "sha256", str, _SHA256.match, "64 lower-case hex digits")
    _expect(fail, raw, "size", int, lambda v: v > 0 and not isinstance(v, bool), "a positive byte count")
    _expect(fail, raw, "bundled", bool, lambda v: True, "true or false")
    _expect(fail, raw, "default", bool, lambda v: True, "true or false", optional=True)
    for text in ("recipe", "license", "description"):
        _expect(fail, raw, text, str, lambda v: True, "a string", optional=text == "description")
    hub = _parse_hub(fail, raw["hub"])
    if hub is None and not raw["bundled"]:
        raise fail("hub", "an entry that is neither bundled nor published on the Hub cannot be loaded")
    if not isinstance(raw["config"], dict):
        raise fail("config", "must be the model's config.json object")
    try:
        config = ModelConfig.from_dict(raw["config"])
    except IncompatibleConfigError as bad:
        raise fail("config", str(bad)) from None
    if config.arch != arch:
        raise fail("config", f"its 'arch' is {config.arch!r}, not {arch!r}")
    metrics = raw.get("metrics", {})
    _check_metrics(fail, metrics, {t.name for t in config.tasks})
    return CheckpointEntry(
        name=name,
        architecture=arch,
        filename=raw["filename"],
        sha256=raw["sha256"],
        size=raw["size"],
        bundled=raw["bundled"],
        hub=hub,
        config=config,
        recipe=raw["recipe"],
        license=raw["license"],
        default=raw.get("default", False),
        description=raw.get("description", ""),
        metrics=metrics,
    )


def _expect(fail: Any, raw: dict, key: str, kind: type, check: Any, wanted: str, optional: bool = False) -> None:
    if key not in raw and optional:
        return
    value = raw[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)) or not check(value):
        raise fail(key, f"must be {wanted}, got {value!r}")


def _parse_hub(fail: Any, hub: Any) -> HubLocation | None:
    if hub is None:
        return None  # not published on the Hub (yet): never a made-up revision
    if not isinstance(hub, dict) or set(hub) != {"repo_id", "revision"}:
        raise fail("hub", "must be null (unpublished) or {'repo_id': 'org/name', 'revision': '<40-hex commit>'}")
    if not isinstance(hub["repo_id"], str) or not _REPO_ID.match(hub["repo_id"]):
        raise fail("hub.repo_id", f"must look like 'org/name', got {hub['repo_id']!r}")
    if not isinstance(hub["revision"], str) or not _COMMIT.match(hub["revision"]):
        raise fail("hub.revision", f"must be a 40-hex commit sha (pinned, not a branch), got {hub['revision']!r}")
    return HubLocation(hub["repo_id"], hub["revision"])


def _check_metrics(fail: Any, metrics: Any, tasks: set[str]) -> None:
    """``{}`` or ``{dataset, split, values, ...}``; an optional ``check`` (``{split, images,
    values}``) records the same metrics on a small subset that tests re-measure."""
    if metrics == {}:
        return
    if not isinstance(metrics, dict) or not {"dataset", "split", "values"} <= set(metrics):
        raise fail("metrics", "must be {} or {'dataset': ..., 'split': ..., 'values': {task: {metric: number}}, ...}")
    _check_values(fail, "metrics.values", metrics["values"], tasks)
    if "check" in metrics:
        check = metrics["check"]
        if not isinstance(check, dict) or not {"split", "images", "values"} <= set(check):
            raise fail("metrics.check", "must be {'split': ..., 'images': N, 'values': {task: {metric: number}}}")
        _check_values(fail, "metrics.check.values", check["values"], tasks)


def _check_values(fail: Any, where: str, values: Any, tasks: set[str]) -> None:
    if not isinstance(values, dict):
        raise fail(where, "must map task names to {metric: number}")
    for task, metrics in values.items():
        if task not in tasks:
            raise fail(f"{where}.{task}", f"is not one of the checkpoint's tasks {sorted(tasks)}")
        if not isinstance(metrics, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in metrics.values()
        ):
            raise fail(f"{where}.{task}", "must map metric names to numbers")
