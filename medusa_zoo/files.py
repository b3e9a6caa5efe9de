"""Writing files whole or not at all, hashing them, and reading files we did not write within budgets."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .limits import get_limits


def atomic_write(path: Path, write: Callable[[str], object]) -> None:
    """Call ``write(temporary_path)`` and rename the result to ``path``; no half file is ever left.

    The file gets the mode a plain ``open()`` would give it (0666 less the umask), not the
    owner-only mode of temporary files (which safetensors also uses).
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def require_regular_file(path: str | Path, error: type[Exception], what: str = "file") -> Path:
    """``path`` as a :class:`Path` if it is a regular file (following links); else raise ``error``.

    Refusing FIFOs, devices, sockets and folders before opening means reading never blocks
    forever (a FIFO) or runs without end (``/dev/zero``).
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{what} {str(path)!r} does not exist") from None
    except OSError as bad:
        raise error(f"cannot read {what} {str(path)!r}: {bad.strerror or bad}") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe, device or socket)"
        raise error(f"{what} {str(path)!r} is {kind}; give the path of a regular file")
    return path


def read_json(path: str | Path, error: type[Exception], what: str = "JSON file") -> Any:
    """Parse a JSON file we did not necessarily write, within the budgets of :mod:`medusa_zoo.limits`.

    The file must be a regular file of at most ``max_json_bytes``, valid UTF-8 JSON without
    ``NaN`` / ``Infinity``, nested at most ``max_json_depth`` deep; anything else raises ``error``
    (the caller's typed error class) with a message naming the file.
    """
    budget = get_limits()
    path = require_regular_file(path, error, what)
    size = path.stat().st_size
    if size > budget.max_json_bytes:
        raise error(
            f"{what} {str(path)!r} is {size} bytes, over the {budget.max_json_bytes}-byte limit for JSON files; "
            "if it is genuine, raise it with medusa_zoo.limits.set_limits(max_json_bytes=...)"
        )
    try:
        with open(path, "rb") as handle:
            text = handle.read(budget.max_json_bytes + 1).decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        value = None
        depth = budget.max_json_depth + 1
    except (UnicodeDecodeError, ValueError) as bad:
        raise error(f"{what} {str(path)!r} is not valid JSON: {bad}") from None
    except OSError as bad:
        raise error(f"cannot read {what} {str(path)!r}: {bad.strerror or bad}") from None
    else:
        depth = json_depth(value)
    if depth > budget.max_json_depth:
        raise error(
            f"{what} {str(path)!r} is nested more than {budget.max_json_depth} levels deep; no file of ours is, "
            "so it is damaged or hostile"
        )
    return value


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0, ``[]`` and ``{}`` are 1), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
