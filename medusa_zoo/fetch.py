"""Fetching one file from the Hugging Face Hub at a pinned revision, verified before use.

The one place medusa_zoo calls ``hf_hub_download``: for published checkpoints
(:mod:`medusa_zoo.hub`) and for a backbone's initial weights (:mod:`medusa_zoo.backbones.weights`).
A file whose sha256 is wrong is evicted from the cache and downloaded once more; if it is still
wrong an :class:`~medusa_zoo.errors.IntegrityError` names the file and both hashes, and the bad
copy is removed so nothing corrupt stays in the cache. huggingface_hub's own errors are
translated into typed medusa_zoo errors that say what to do next.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import (
    CheckpointError,
    CheckpointFileNotFoundError,
    IntegrityError,
    NotCachedError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from .files import sha256_of

_LFS_BLOB = re.compile(r"^[0-9a-f]{64}$")
_TRUE = {"1", "on", "yes", "true"}


def offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set now (read at call time, not only at import)."""
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_OFFLINE", "").lower() in _TRUE or bool(getattr(constants, "HF_HUB_OFFLINE", False))


def hub_file(
    repo_id: str,
    filename: str,
    revision: str,
    *,
    expected_sha256: str | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Download (or find in the cache) one file at ``revision`` and check its sha256.

    Without ``expected_sha256`` the hash the Hub advertised for an LFS file (the name of its
    cache blob) is used; small non-LFS files such as ``config.json`` are checked only by size,
    as huggingface_hub does.
    """
    path = _download(repo_id, filename, revision, cache_dir, force=False)
    expected = expected_sha256 or _advertised_sha256(path)
    if expected is None or sha256_of(path) == expected:
        return path
    _evict(path)  # a corrupt cache entry: fetch it once more
    try:
        path = _download(repo_id, filename, revision, cache_dir, force=True)
    except NotCachedError:
        raise IntegrityError(
            f"the cached {filename} of {repo_id}@{revision} was corrupt (sha256 differs from {expected}) and was "
            "removed; offline mode is on, so it cannot be downloaded again: unset HF_HUB_OFFLINE and retry",
            filename, expected, "",
        ) from None  # fmt: skip
    actual = sha256_of(path)
    if actual != expected:
        _evict(path)
        raise IntegrityError(
            f"{filename} from {repo_id}@{revision} has sha256 {actual}, expected {expected}, after downloading it "
            "twice; the copy on the server (or a proxy) is corrupt. The file was removed from the cache; report it "
            "to the repository owner or use another mirror (HF_ENDPOINT)",
            filename, expected, actual,
        )  # fmt: skip
    return path


def _download(repo_id: str, filename: str, revision: str, cache_dir: str | Path | None, force: bool) -> Path:
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub import errors as hf

    where = f"{filename} in {repo_id}@{revision}"
    not_cached = NotCachedError(
        f"{where} is not in the local cache ({cache_dir or constants.HF_HUB_CACHE}) and offline mode is on "
        "(HF_HUB_OFFLINE=1). Load it once with network access and the same HF_HOME / cache_dir, "
        f"or copy a cache that holds it; e.g. `hf download {repo_id} {filename} --revision {revision}`"
    )
    if force and offline():
        raise not_cached
    try:
        return Path(
            hf_hub_download(
                repo_id,
                filename,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force,
                local_files_only=offline(),
            )
        )
    except hf.LocalEntryNotFoundError:  # first: it subclasses EntryNotFoundError in huggingface_hub 2.x
        if offline():
            raise not_cached from None
        raise CheckpointError(
            f"could not download {where} from {constants.ENDPOINT} and it is not cached: check the network, "
            "HF_ENDPOINT (for a mirror), or set HF_HUB_OFFLINE=1 to use only the cache"
        ) from None
    except hf.GatedRepoError:
        raise RepositoryNotFoundError(
            f"{repo_id} is gated: accept its conditions on the Hub and log in (`hf auth login`) or pass a token"
        ) from None
    except hf.RepositoryNotFoundError:
        raise RepositoryNotFoundError(
            f"no repository {repo_id!r} on {constants.ENDPOINT}: check the id, or log in if it is private"
        ) from None
    except hf.RevisionNotFoundError:
        raise RevisionNotFoundError(
            f"{repo_id} has no revision {revision!r}: use a branch, tag or commit that exists in the repository"
        ) from None
    except hf.EntryNotFoundError:
        raise CheckpointFileNotFoundError(
            f"{repo_id}@{revision} has no file {filename!r}; a medusa_zoo repo holds config.json and "
            "model.safetensors as written by save_pretrained()"
        ) from None
    except (OSError, ValueError) as bad:
        if isinstance(bad, CheckpointError):
            raise
        raise CheckpointError(f"could not fetch {where}: {bad}") from None


def _advertised_sha256(path: Path) -> str | None:
    blob = Path(os.path.realpath(path)).name  # cache blobs are named by ETag: the sha256 for LFS files
    return blob if _LFS_BLOB.match(blob) else None


def _evict(path: Path) -> None:
    """Remove a cached file: the snapshot link and the blob it points to."""
    blob = Path(os.path.realpath(path))
    for item in {path, blob}:
        try:
            os.unlink(item)
        except FileNotFoundError:
            pass
