"""Fetching one file from the Hugging Face Hub at a pinned revision, verified before use.

The one place medusa_zoo calls ``hf_hub_download``: for published checkpoints
(:mod:`medusa_zoo.hub`) and for a backbone's initial weights (:mod:`medusa_zoo.backbones.weights`).

- Repository ids and revisions are checked before anything touches the network or the cache
  (:func:`check_repo_id`, :func:`check_revision`): huggingface_hub builds cache paths from them, so
  ``"org/name@../../x"`` would otherwise write outside the cache.
- A file is verified before use: against ``expected_sha256``, else against the hash the Hub advertised
  (the name of its cache blob: the sha256 of an LFS file, the git blob sha1 of a small file such as
  ``config.json``). A wrong, unreadable or non-file cache entry is evicted and downloaded once more;
  if it is still wrong an :class:`~medusa_zoo.errors.IntegrityError` names the file and both hashes.
- Each download has a wall-clock deadline (``limits.download_timeout_s``), and ``.incomplete``
  leftovers of killed downloads older than ``limits.stale_download_s`` are removed.
- huggingface_hub's and its HTTP client's errors become typed medusa_zoo errors that say what to do.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .errors import (
    CheckpointError,
    CheckpointFileNotFoundError,
    DownloadTimeoutError,
    IntegrityError,
    NotCachedError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from .files import sha256_of
from .limits import get_limits

__all__ = ["check_repo_id", "check_revision", "http_errors", "hub_file", "offline", "remove_stale_downloads"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REPO_PART = r"[A-Za-z0-9_](?:[\w.\-]*\w)?"
_REPO_ID = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$", re.ASCII)
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|//|@\{")
_MAX_REPO_ID = 96  # the Hub's own limit
_MAX_REF = 255  # one file name: huggingface_hub writes refs/<revision> into the cache
_STOP_GRACE_S = 2.0  # how long a timed-out download may take to stop and remove its partial file
_TRUE = {"1", "on", "yes", "true"}


def offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set now (read at call time, not only at import)."""
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_OFFLINE", "").lower() in _TRUE or bool(getattr(constants, "HF_HUB_OFFLINE", False))


def check_repo_id(repo_id: object) -> str:
    """``repo_id`` if it is a Hub model id ``org/name``; else :class:`~medusa_zoo.errors.CheckpointError`."""
    if (
        not isinstance(repo_id, str)
        or len(repo_id) > _MAX_REPO_ID
        or not _REPO_ID.match(repo_id)
        or ".." in repo_id
        or "--" in repo_id
        or repo_id.endswith(".git")
    ):
        raise CheckpointError(
            f"{repo_id!r} is not a Hub repository id: it must look like 'org/name' (letters, digits, '_', '-' and "
            f"'.', at most {_MAX_REPO_ID} characters, no '..' or '--'), e.g. 'hf-hub:org/name@revision'"
        )
    return repo_id


def check_revision(revision: object) -> str:
    """``revision`` if it is a 40-hex commit or a well-formed git ref name (``git check-ref-format``).

    Anything else (``..``, a leading ``/`` or ``-``, spaces, control characters, ``~^:?*[\\``, ``@{``,
    a trailing ``/``, ``.`` or ``.lock``) raises :class:`~medusa_zoo.errors.CheckpointError`: the
    revision becomes a path in the cache, so it is never passed on unchecked.
    """
    if isinstance(revision, str) and _COMMIT.match(revision):
        return revision
    problem = _ref_problem(revision)
    if problem:
        raise CheckpointError(
            f"{revision!r} is not a valid git revision ({problem}); use a branch or tag name such as 'main', "
            "or a 40-hex commit"
        )
    return revision  # type: ignore[return-value]


def _ref_problem(ref: object) -> str | None:
    if not isinstance(ref, str) or not ref:
        return "a revision is a non-empty string"
    if len(ref) > _MAX_REF:
        return f"it is longer than {_MAX_REF} characters"
    if ref == "@" or ref.startswith(("/", "-")) or ref.endswith(("/", ".", ".lock")):
        return "it may not be '@', start with '/' or '-', or end with '/', '.' or '.lock'"
    if _REF_FORBIDDEN.search(ref):
        return "it holds '..', '//', '@{', a space, a control character or one of ~ ^ : ? * [ \\"
    if any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return "a part of it starts with '.' or ends with '.lock'"
    return None


def _check_filename(filename: object) -> str:
    parts = filename.split("/") if isinstance(filename, str) else [""]
    if not all(parts) or any(p in (".", "..") or "\\" in p or "\0" in p for p in parts):
        raise CheckpointError(f"{filename!r} is not a file name inside a repository (no '..', no leading '/')")
    return filename  # type: ignore[return-value]


def hub_file(
    repo_id: str,
    filename: str,
    revision: str,
    *,
    expected_sha256: str | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Download (or find in the cache) one file at ``revision`` and verify it before it is used.

    Without ``expected_sha256`` the hash the Hub advertised is checked (the cache blob's name: the
    sha256 of an LFS file, the git blob sha1 of a small file such as ``config.json``), so an edited or
    truncated cached file is noticed, evicted and fetched again (or refused when offline).
    """
    check_repo_id(repo_id)
    check_revision(revision)
    _check_filename(filename)
    repo = _cache_repo(repo_id, cache_dir)
    remove_stale_downloads(repo)
    path = _download(repo_id, filename, revision, cache_dir, force=False)
    advertised = lambda: _advertised_etag(repo_id, filename, revision)  # noqa: E731 - asked only when needed
    problem = _mismatch(path, expected_sha256, advertised)
    if problem is None:
        return path
    expected, actual, algorithm = problem
    _evict(path, repo)  # a corrupt cache entry: fetch it once more
    try:
        path = _download(repo_id, filename, revision, cache_dir, force=True)
    except NotCachedError:
        raise IntegrityError(
            f"the cached {filename} of {repo_id}@{revision} was damaged ({algorithm} {actual}, expected {expected}) and was "
            "removed; offline mode is on, so it cannot be downloaded again: unset HF_HUB_OFFLINE and retry",
            filename, expected, actual,
        ) from None  # fmt: skip
    problem = _mismatch(path, expected_sha256, advertised)
    if problem is not None:
        _evict(path, repo)
        expected, actual, algorithm = problem
        raise IntegrityError(
            f"{filename} from {repo_id}@{revision} has {algorithm} {actual}, expected {expected}, after downloading it "
            "twice; the copy on the server (or a proxy) is corrupt. The file was removed from the cache; report it "
            "to the repository owner or use another mirror (HF_ENDPOINT)",
            filename, expected, actual,
        )  # fmt: skip
    return path


def _cache_repo(repo_id: str, cache_dir: str | Path | None) -> Path:
    """The cache folder huggingface_hub keeps this model repo in (``models--org--name``)."""
    from huggingface_hub import constants

    return Path(cache_dir or constants.HF_HUB_CACHE) / ("models--" + repo_id.replace("/", "--"))


def remove_stale_downloads(repo: Path, older_than_s: float | None = None) -> list[Path]:
    """Remove ``blobs/*.incomplete`` files of ``repo`` untouched for ``limits.stale_download_s`` seconds.

    A running download writes its (process-unique) ``.incomplete`` file continually, so only files
    left by killed downloads are that old; fresh ones, perhaps another process's, are kept.
    """
    cutoff = time.time() - (get_limits().stale_download_s if older_than_s is None else older_than_s)
    removed = []
    try:
        candidates = list((repo / "blobs").glob("*.incomplete"))
    except OSError:
        return removed
    for item in candidates:
        try:
            info = item.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                item.unlink()
                removed.append(item)
        except OSError:
            pass  # gone already, or not ours to remove
    return removed


def _download(repo_id: str, filename: str, revision: str, cache_dir: str | Path | None, force: bool) -> Path:
    from huggingface_hub import constants
    from huggingface_hub import errors as hf

    where = f"{filename} in {repo_id}@{revision}"
    not_cached = NotCachedError(
        f"{where} is not in the local cache ({cache_dir or constants.HF_HUB_CACHE}) and offline mode is on "
        "(HF_HUB_OFFLINE=1). Load it once with network access and the same HF_HOME / cache_dir, "
        f"or copy a cache that holds it; e.g. `hf download {repo_id} {filename} --revision {revision}`"
    )
    if force and offline():
        raise not_cached
    local_only = offline()

    def fetch() -> str:
        from huggingface_hub import hf_hub_download

        return hf_hub_download(
            repo_id, filename, revision=revision, cache_dir=cache_dir, force_download=force, local_files_only=local_only
        )

    try:
        return Path(_within_deadline(fetch, where))
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
    except CheckpointError:
        raise
    except Exception as bad:
        _raise_transport_error(bad, where, constants.ENDPOINT)
        raise


def _raise_transport_error(bad: Exception, where: str, endpoint: str) -> None:
    """Raise the typed error for an HTTP client or file-system failure; return for anything else."""
    timeouts, transport = _http_errors()
    if isinstance(bad, (*timeouts, TimeoutError)):
        raise DownloadTimeoutError(
            f"the Hub at {endpoint} stopped answering while sending {where} ({type(bad).__name__}); check the "
            "network and retry, or use a mirror (HF_ENDPOINT); HF_HUB_DOWNLOAD_TIMEOUT sets how long one read may wait"
        ) from None
    if isinstance(bad, (*transport, OSError, ValueError)):
        raise CheckpointError(
            f"could not download {where} from {endpoint} ({type(bad).__name__}: {bad}); check the network and "
            "HF_ENDPOINT and retry, or set HF_HUB_OFFLINE=1 to use only files already in the cache"
        ) from None


def http_errors() -> tuple[type[BaseException], ...]:
    """Every error class of the HTTP clients huggingface_hub may raise through (for ``except`` clauses)."""
    timeouts, transport = _http_errors()
    return timeouts + transport


def _http_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeout errors, other transport errors) of the HTTP clients huggingface_hub may use."""
    timeouts: list[type[BaseException]] = []
    transport: list[type[BaseException]] = []
    for module, timeout_names, names in (
        ("httpx2", ("TimeoutException",), ("HTTPError", "StreamError", "InvalidURL")),
        ("httpx", ("TimeoutException",), ("HTTPError", "StreamError", "InvalidURL")),
        ("requests", ("Timeout",), ("RequestException",)),
    ):
        try:
            client = __import__(module)
        except ImportError:
            continue
        timeouts += [getattr(client, n) for n in timeout_names if hasattr(client, n)]
        transport += [getattr(client, n) for n in names if hasattr(client, n)]
    return tuple(timeouts), tuple(transport)


def _within_deadline(fetch: Callable[[], str], where: str) -> str:
    """Run ``fetch()`` in a worker thread and give up after ``limits.download_timeout_s`` seconds.

    huggingface_hub's own timeouts bound each read, so a server trickling bytes could hold a download
    for ever; the wall-clock wait here cannot be extended by the server. The response bodies the
    worker reads raise once the deadline passes (:func:`_guard_body`), so a timed-out transfer stops
    at its next read and huggingface_hub removes its partial file.
    """
    seconds = get_limits().download_timeout_s
    cancel = threading.Event()
    late = DownloadTimeoutError(
        f"downloading {where} took longer than {seconds:g} s (limits.download_timeout_s); the server is slow or "
        "stalled. Retry, use a mirror (HF_ENDPOINT), or raise the budget with "
        "medusa_zoo.limits.set_limits(download_timeout_s=...)"
    )
    guard = (time.monotonic() + seconds, cancel, late)
    outcome: dict[str, object] = {}

    def work() -> None:
        _running.guard = guard
        try:
            _guard_responses()
            outcome["path"] = fetch()
        except BaseException as bad:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = bad

    worker = threading.Thread(target=work, name=f"medusa_zoo download of {where}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        cancel.set()
        worker.join(_STOP_GRACE_S)
        raise late
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["path"]  # type: ignore[return-value]


_running = threading.local()  # the deadline of the download this thread runs, read by the response hook


def _guard_responses() -> None:
    """Make huggingface_hub's shared HTTP client pass every response body through :func:`_guard_body`.

    The hook does nothing in threads that run no medusa_zoo download, so other users of the client
    are not affected; it is added once per client (a replaced client gets it on the next download).
    """
    from huggingface_hub.utils import get_session

    hooks = get_session().event_hooks["response"]
    if _guard_body not in hooks:
        hooks.append(_guard_body)


def _guard_body(response: object) -> None:
    guard = getattr(_running, "guard", None)
    if guard is not None:
        response.stream = _guarded_stream_class()(response.stream, *guard)  # type: ignore[attr-defined]


@functools.cache
def _guarded_stream_class() -> type:
    """A response body that raises the download's timeout error between two reads once it is late."""
    import httpx2

    class GuardedStream(httpx2.SyncByteStream):
        def __init__(self, inner: httpx2.SyncByteStream, deadline: float, cancel: threading.Event, late: Exception):
            self.inner, self.deadline, self.cancel, self.late = inner, deadline, cancel, late

        def __iter__(self):  # type: ignore[no-untyped-def]
            for block in self.inner:
                if self.cancel.is_set() or time.monotonic() > self.deadline:
                    raise self.late
                yield block

        def close(self) -> None:
            self.inner.close()

    return GuardedStream


def _mismatch(
    path: Path, expected_sha256: str | None, advertised: Callable[[], str | None] = lambda: None
) -> tuple[str, str, str] | None:
    """None if the file at ``path`` is intact; else (expected hash, what was found, hash algorithm).

    The expected hash is ``expected_sha256``, else the name of the cache blob the entry links to (the
    ETag the Hub sent), else, for an entry that is a plain file (a cache on a file system without
    links, or one edited by hand), the ETag the Hub advertises now (``advertised``; None offline).
    """
    blob = Path(os.path.realpath(path)).name  # cache blobs are named by the ETag the Hub sent
    if not (expected_sha256 or _SHA256.match(blob) or _COMMIT.match(blob)):
        blob = advertised() or blob
    algorithm = "sha256" if expected_sha256 or not _COMMIT.match(blob) else "git blob sha1"
    expected = expected_sha256 or blob
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return expected, "not a regular file", algorithm
        if expected_sha256 or _SHA256.match(blob):
            actual = sha256_of(path)
        elif _COMMIT.match(blob):  # a regular (non-LFS) file: its ETag is the git blob sha1
            actual = _git_blob_sha1(path)
        else:
            return None  # a mirror's ETag we cannot check; config.json is still parse-validated when read
    except OSError as bad:
        return expected, f"unreadable ({bad.strerror or bad})", algorithm
    return None if actual == expected else (expected, actual, algorithm)


def _advertised_etag(repo_id: str, filename: str, revision: str) -> str | None:
    """The ETag the Hub advertises for a file now (one HEAD request), or None offline or when it cannot say."""
    if offline():
        return None
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    try:
        return get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=revision)).etag
    except Exception:  # noqa: BLE001 - any failure only means the copy is parse-validated, as offline
        return None


def _git_blob_sha1(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _evict(path: Path, repo: Path) -> None:
    """Remove a cached file: the snapshot entry and the blob it points to (only inside the cache)."""
    blob = Path(os.path.realpath(path))
    inside = os.path.realpath(repo) + os.sep
    for item in (path, blob):
        if item is blob and not str(blob).startswith(inside):
            continue  # a link out of the cache: never delete what is not the cache's
        try:
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            else:
                item.unlink(missing_ok=True)
        except OSError as bad:
            raise CheckpointError(
                f"the cached {item} is damaged and could not be removed ({bad.strerror or bad}); delete it by hand "
                "(or the whole cache folder) and retry"
            ) from None
