"""Where a network's weights came from: its checkpoint name, recipe, licence and measured metrics.

A network loaded from a published checkpoint knows these facts from the manifest; saving it
(``save_pretrained``) writes them into the model card and, as one JSON string, into the
safetensors header of ``model.safetensors`` (key ``medusa_zoo.provenance``), so a folder saved,
loaded and saved again keeps them. The header is read without loading any tensor and validated
strictly: bounded in size and depth, known fields only, metrics only for the network's tasks.
A damaged record raises :class:`~medusa_zoo.errors.CheckpointError` naming the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import CheckpointError, IncompatibleConfigError, ManifestError
from .checkpoints import CheckpointEntry
from .checkpoints import _check_metrics as check_metrics  # the manifest's metrics schema, shared

PROVENANCE_KEY = "medusa_zoo.provenance"
MAX_PROVENANCE_BYTES = 64 * 1024  # a header record, not a data file
MAX_TEXT = 500  # characters in a name, recipe or licence
_FIELDS = ("name", "recipe", "license", "metrics")


@dataclass(frozen=True)
class Provenance:
    """The published name (``"arch.tag"``), recipe, licence and metrics of a network's weights.

    ``metrics`` is ``{}`` or ``{"dataset", "split", "values": {task: {metric: number}}, ...}``,
    the form of the manifest's ``metrics`` field. Every field is optional.
    """

    name: str | None = None
    recipe: str | None = None
    license: str | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_entry(cls, entry: CheckpointEntry) -> Provenance:
        """The facts a manifest entry records."""
        return cls(entry.name, entry.recipe or None, entry.license or None, dict(entry.metrics))

    def updated(self, **changes: Any) -> Provenance:
        """A copy with the fields given (not None) replaced; metrics are normalised (see :meth:`for_tasks`)."""
        unknown = sorted(set(changes) - set(_FIELDS))
        if unknown:
            raise IncompatibleConfigError(f"unknown card field(s) {unknown}; known: {', '.join(_FIELDS)}")
        for key in ("name", "recipe", "license"):
            value = changes.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
                raise IncompatibleConfigError(f"{key} must be a string of at most {MAX_TEXT} characters, got {value!r}")
        given = {k: v for k, v in changes.items() if v is not None}
        if "metrics" in given:
            given["metrics"] = _normalised_metrics(given["metrics"])
        return replace(self, **given)

    def for_tasks(self, tasks: Iterable[str]) -> Provenance:
        """A copy whose metrics cover only ``tasks`` (a task removed since measuring drops out)."""
        if not self.metrics:
            return self
        keep = set(tasks)
        values = {t: v for t, v in self.metrics["values"].items() if t in keep}
        check = self.metrics.get("check")
        metrics = {**self.metrics, "values": values}
        if isinstance(check, Mapping):
            metrics["check"] = {**check, "values": {t: v for t, v in check["values"].items() if t in keep}}
        return replace(self, metrics=metrics)

    def to_json(self) -> str:
        """The header record (fields that are known only)."""
        record = {k: getattr(self, k) for k in _FIELDS if getattr(self, k)}
        return json.dumps(record, sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str, tasks: Iterable[str], where: str) -> Provenance:
        """Parse and validate a header record written by :meth:`to_json`; ``where`` names the file."""
        if not isinstance(text, str) or len(text.encode()) > MAX_PROVENANCE_BYTES:
            raise CheckpointError(f"{where}: the {PROVENANCE_KEY} record exceeds {MAX_PROVENANCE_BYTES} bytes; re-save the model")
        try:
            raw = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as bad:
            raise CheckpointError(f"{where}: the {PROVENANCE_KEY} record is not valid JSON ({bad}); re-save the model") from None
        if not isinstance(raw, dict) or set(raw) - set(_FIELDS):
            raise CheckpointError(f"{where}: the {PROVENANCE_KEY} record must be an object with {', '.join(_FIELDS)}")
        try:
            record = cls().updated(**raw)
            if record.metrics:
                check_metrics(_fail(where), dict(record.metrics), set(tasks))
        except (IncompatibleConfigError, ManifestError) as bad:
            raise CheckpointError(f"{where}: the {PROVENANCE_KEY} record is malformed: {bad}") from None
        return record


def _normalised_metrics(metrics: Any) -> dict[str, Any]:
    """Metrics as plain JSON data: numbers finite (others dropped), the required keys present."""
    if not isinstance(metrics, Mapping) or not metrics:
        if isinstance(metrics, Mapping):
            return {}
        raise IncompatibleConfigError(f"metrics must be {{'dataset', 'split', 'values'}}, got {type(metrics).__name__}")
    if not {"dataset", "split", "values"} <= set(metrics) or not isinstance(metrics["values"], Mapping):
        raise IncompatibleConfigError("metrics must hold 'dataset', 'split' and 'values' ({task: {metric: number}})")
    out = json.loads(json.dumps(dict(metrics), default=str))  # plain data, no shared mutable state
    for section in (out, out.get("check")):
        if isinstance(section, dict) and isinstance(section.get("values"), dict):
            section["values"] = {
                str(task): {str(k): v for k, v in values.items() if _finite(v)}
                for task, values in section["values"].items() if isinstance(values, dict)
            }  # fmt: skip
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _fail(where: str) -> Any:
    def fail(field_name: str, problem: str) -> CheckpointError:
        return CheckpointError(f"{where}: the {PROVENANCE_KEY} field {field_name!r} {problem}")

    return fail
