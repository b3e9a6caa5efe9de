"""One trainer per run folder: an exclusive OS lock that dies with its process.

A second trainer on a locked folder gets :class:`~medusa_zoo.errors.RunLockedError` naming the
holder (pid, host, start time), so two runs never delete each other's checkpoints or interleave
their logs.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
import time
import warnings
from pathlib import Path

from ..errors import RunLockedError, TrainingError

LOCK_FILE = "run.lock"


class RunLock:
    """An exclusive OS lock on a run folder, held by the one process that trains into it.

    ``fcntl.flock`` (POSIX) or ``msvcrt.locking`` (Windows) on ``<run>/run.lock``, taken without
    waiting. The OS drops it when the process ends, even by ``kill -9``, so no stale lock
    survives (a killed holder leaves an unlocked file that the next trainer reuses). The file
    holds the holder's pid, host and start time, which a refused trainer names in its
    :class:`~medusa_zoo.errors.RunLockedError`. A clean exit deletes it while still holding it,
    and a new holder checks that the path still names the file it locked, so no two ever hold
    the lock at once. Where neither module exists, or the file system refuses locks, the run
    goes on unlocked with a warning.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir, self.path = run_dir, run_dir / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> RunLock:  # noqa: PYI034 - typing.Self needs Python 3.11
        for _ in range(100):
            fd = self._open()
            if not _lock(fd, self.path):
                holder = _holder(fd)
                os.close(fd)
                raise RunLockedError(f"run folder {self.run_dir} is in use by {holder}; wait for it or use another "
                                     "--out", holder=holder)
            if self._names(fd):
                break
            os.close(fd)  # its last holder deleted the file between our open and our lock: lock the new one
        else:
            raise TrainingError(f"cannot lock {self.path}: it keeps being replaced; is another program deleting it?")
        record = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(record).encode())
        except OSError as bad:
            os.close(fd)
            raise TrainingError(f"cannot write the run lock {self.path} ({bad.strerror or bad}); free space "
                                "and run the same command again") from None
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            if self._names(self._fd):  # deleted while still locked: a trainer that opened it re-opens (above)
                with contextlib.suppress(OSError):  # Windows cannot delete an open file: it stays, unlocked
                    os.unlink(self.path)
            os.close(self._fd)  # closing the last descriptor releases flock and msvcrt locks alike
            self._fd = None

    def _names(self, fd: int) -> bool:
        """Whether the lock path still names the file open as ``fd``."""
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.path, follow_symlinks=False))
        except OSError:
            return False

    def _open(self) -> int:
        """The lock file, opened read-write: never through a link, and only a regular file."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as bad:
            raise TrainingError(f"cannot open the run lock {self.path} ({bad.strerror or bad}); "
                                "delete whatever is at that path, or choose another --out") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise TrainingError(f"the run lock {self.path} is not a regular file; delete it, or choose another --out")
        return fd



_WINDOWS_LOCK_AT = 1 << 30  # msvcrt locks are mandatory: lock a byte far past the holder record, so it stays readable


def _lock(fd: int, path: Path) -> bool:
    """Lock ``fd`` without waiting: True when locked (or locking is unavailable), False when another holds it."""
    try:
        import fcntl
    except ImportError:
        fcntl = None  # type: ignore[assignment]
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_AT, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except (BlockingIOError, PermissionError):
        return False
    except OSError as bad:
        if bad.errno in (errno.EACCES, errno.EAGAIN, errno.EDEADLK):  # Windows: the byte is locked
            return False
        warnings.warn(f"cannot lock {path} ({bad.strerror or bad}); training unlocked: do not start a second "
                      "trainer on this folder", RuntimeWarning, stacklevel=3)
        return True
    except ImportError:
        warnings.warn(f"this platform has neither fcntl nor msvcrt, so {path} cannot be locked; training unlocked: "
                      "do not start a second trainer on this folder", RuntimeWarning, stacklevel=3)
        return True


def _holder(fd: int) -> str:
    """``pid N on host H since T`` from a lock file another process holds."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        record = json.loads(os.read(fd, 4096))
        return f"pid {record['pid']} on host {record['host']} since {record['since']}"
    except (OSError, ValueError, TypeError, KeyError):
        return "another process (it has not written its pid yet)"
