"""Typed exceptions raised by medusa_zoo.

Every error a user can trigger with bad input derives from :class:`MedusaZooError`, so
``except medusa_zoo.MedusaZooError`` catches all of them.  Each one also derives from the
built-in exception a Python user would expect (``ValueError``, ``LookupError``,
``FileNotFoundError``), and each message says what was wrong and what to do next.
"""

from __future__ import annotations

__all__ = [
    "MedusaZooError",
    "InvalidImageError",
    "ImageNotFoundError",
    "UnknownNameError",
    "UnknownModelError",
    "UnknownBackboneError",
    "UnknownTaskError",
    "DuplicateNameError",
    "IncompatibleConfigError",
    "BackboneWeightsError",
    "StateDictMismatchError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "RepositoryNotFoundError",
    "RevisionNotFoundError",
    "CheckpointFileNotFoundError",
    "NotCachedError",
    "IntegrityError",
    "ManifestError",
    "DatasetError",
    "DatasetNotFoundError",
    "ExportError",
    "ResourceLimitError",
    "ImageTooLargeError",
    "DownloadTimeoutError",
    "RunLockedError",
]


class MedusaZooError(Exception):
    """Base class of every error raised on purpose by medusa_zoo."""


class InvalidImageError(MedusaZooError, ValueError):
    """An input given to ``predict`` / ``features`` is not a usable image."""


class ResourceLimitError(MedusaZooError, ValueError):
    """An input or file exceeds one of the budgets in :mod:`medusa_zoo.limits`.

    ``limit`` names the budget (a field of :class:`medusa_zoo.limits.Limits`), ``value`` is what was
    asked for and ``allowed`` the budget; the message says how to raise it.
    """

    def __init__(self, message: str, limit: str = "", value: float = 0, allowed: float = 0) -> None:
        super().__init__(message)
        self.limit, self.value, self.allowed = limit, value, allowed


class ImageTooLargeError(InvalidImageError, ResourceLimitError):
    """An image has more pixels than ``limits.max_image_pixels`` (checked before it is decoded)."""


class ImageNotFoundError(InvalidImageError, FileNotFoundError):
    """An image path does not exist."""


class UnknownNameError(MedusaZooError, LookupError):
    """A name was looked up in a registry that does not hold it.

    ``suggestions`` lists the closest registered names (possibly empty).
    """

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.suggestions = list(suggestions or [])

    def __str__(self) -> str:  # LookupError/KeyError would otherwise quote the message
        return str(self.args[0])


class UnknownModelError(UnknownNameError):
    """No architecture is registered under the requested name."""


class UnknownBackboneError(UnknownNameError):
    """The backbone name is neither one of ours nor a timm model."""


class UnknownTaskError(UnknownNameError):
    """The task kind or task name is not known."""


class DuplicateNameError(MedusaZooError, ValueError):
    """Something was registered twice under the same name."""


class IncompatibleConfigError(MedusaZooError, ValueError):
    """A model configuration (``config.json`` or keyword arguments) cannot be built."""


class BackboneWeightsError(MedusaZooError, LookupError):
    """A backbone's initial weights (``backbone_weights=``) are unknown or cannot be found."""


class HeadMismatchError(IncompatibleConfigError):
    """A head-only file does not fit this model: another head type, backbone or trunk."""


class StateDictMismatchError(MedusaZooError, ValueError):
    """Weights do not fit the architecture: missing, unexpected or mis-shaped tensors."""

    def __init__(
        self,
        message: str,
        missing: list[str] | None = None,
        unexpected: list[str] | None = None,
        mismatched: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.missing = list(missing or [])
        self.unexpected = list(unexpected or [])
        self.mismatched = list(mismatched or [])


class CheckpointError(MedusaZooError, OSError):
    """A weights file or checkpoint folder is missing, unreadable or not ours."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint (repository, revision or file) does not exist where it was looked for."""


class RepositoryNotFoundError(CheckpointNotFoundError):
    """The Hub has no repository of that id (or it is private and no token was given)."""


class RevisionNotFoundError(CheckpointNotFoundError):
    """The repository exists but has no such branch, tag or commit."""


class CheckpointFileNotFoundError(CheckpointNotFoundError):
    """The repository and revision exist but do not hold the requested file."""


class DownloadTimeoutError(CheckpointError, TimeoutError):
    """A download did not finish within ``limits.download_timeout_s`` seconds (or the server stalled)."""


class NotCachedError(CheckpointError):
    """Offline mode (``HF_HUB_OFFLINE=1``) is on and the checkpoint is not in the local cache."""


class IntegrityError(CheckpointError):
    """A downloaded or bundled file's sha256 differs from the one the manifest pins.

    ``path``, ``expected`` and ``actual`` name the file and both hashes.
    """

    def __init__(self, message: str, path: str = "", expected: str = "", actual: str = "") -> None:
        super().__init__(message)
        self.path, self.expected, self.actual = path, expected, actual

    def __str__(self) -> str:
        return str(self.args[0])


class ManifestError(MedusaZooError, ValueError):
    """``checkpoints.json`` (or a manifest entry) does not match its schema."""


class DatasetError(MedusaZooError, ValueError):
    """A dataset was asked for something it cannot give (bad split, size, task or argument)."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A dataset folder, or a file that a split lists, is missing on disk."""


class RecipeError(MedusaZooError, ValueError):
    """A training recipe is missing, malformed, or asks for something that does not exist."""


class TrainingError(MedusaZooError, RuntimeError):
    """Training cannot start or continue (bad output folder, unusable resume state, ...)."""


class RunLockedError(TrainingError):
    """Another process is training in the same run folder; ``holder`` describes it (pid, host, start)."""

    def __init__(self, message: str, holder: str = "") -> None:
        super().__init__(message)
        self.holder = holder


class EmbeddingsError(MedusaZooError, ValueError):
    """An embeddings file is missing or not ours, or ``extract_embeddings`` / ``Embeddings.dataset``
    got an unusable argument (size, batch size, output path, targets)."""


class ExportError(MedusaZooError, RuntimeError):
    """A network could not be exported (``torch.export`` / ONNX), or an exporter is not installed."""
