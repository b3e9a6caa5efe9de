"""Run one hostile or odd input and say what happened: a typed error, a correct result, a raw
exception, a hang or a silent wrong result.

Every case runs under a wall-clock alarm and an address-space limit (the soft ``RLIMIT_AS``
lowered for the duration of the call and restored after), so a regression that hangs or
allocates without bound fails its test instead of putting the machine at risk. Outcomes are
recorded per family; ``tests/fuzz/conftest.py`` prints them as the table of issue 15.
"""

from __future__ import annotations

import collections
import contextlib
import io
import resource
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

from medusa_zoo import MedusaZooError

OUTCOMES = ("typed", "correct", "raw", "hang", "silent wrong")
BUILT_INS = (ValueError, LookupError, OSError, RuntimeError, TimeoutError)
RECORD: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
MEMORY_BUDGET = 6 << 30  # bytes of address space a case may add to what the process already maps


class Hang(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` in the code swallows it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang()


@contextlib.contextmanager
def bounded(seconds: float, memory: int = MEMORY_BUDGET) -> Iterator[None]:
    """Alarm after ``seconds`` and cap the address space at what is mapped now plus ``memory``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _mapped_bytes() + memory
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _mapped_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def attempt(
    family: str,
    call: Callable[[], Any],
    expect: str = "typed",
    check: Callable[[Any], bool] | None = None,
    seconds: float = 30.0,
) -> tuple[str, Any]:
    """Run ``call`` and classify it; record the outcome under ``family``; return (outcome, detail).

    ``expect`` is ``"typed"`` (the input is wrong: a :class:`MedusaZooError` that is also a
    built-in error must come out), ``"correct"`` (the input is fine: ``check(result)`` must hold)
    or ``"either"`` (a typed error or a result that passes ``check``). A result that comes back
    when an error was expected, or fails ``check``, is a silent wrong result.
    """
    try:
        with bounded(seconds):
            result = call()
    except Hang:
        outcome, detail = "hang", f"no answer within {seconds} s"
    except MedusaZooError as error:
        typed = isinstance(error, BUILT_INS) and bool(str(error).strip())
        outcome, detail = ("typed" if typed else "raw"), error
    except Exception as error:  # noqa: BLE001 - classifying every escape is the point
        outcome, detail = "raw", error
    else:
        good = expect != "typed" and (check is None or bool(check(result)))
        outcome, detail = ("correct" if good else "silent wrong"), result
    RECORD[family][outcome] += 1
    return outcome, detail


def assert_ok(family: str, call: Callable[[], Any], expect: str = "typed",
              check: Callable[[Any], bool] | None = None, match: str | None = None,
              seconds: float = 30.0) -> Any:
    """:func:`attempt`, then fail the test unless the outcome is what ``expect`` allows; ``match`` is a
    phrase the typed error's message must contain (case-insensitive)."""
    outcome, detail = attempt(family, call, expect, check, seconds)
    allowed = {"typed": {"typed"}, "correct": {"correct"}, "either": {"typed", "correct"}}[expect]
    assert outcome in allowed, f"{family}: expected {sorted(allowed)}, got {outcome}: {detail!r}"
    if outcome == "typed" and match is not None:
        assert match.lower() in str(detail).lower(), f"{family}: message lacks {match!r}: {detail}"
    return detail


def assert_cli_refuses(family: str, argv: list[str], match: str | None = None, seconds: float = 60.0) -> str:
    """Run ``medusa_zoo.cli.main(argv)`` in-process: it must exit non-zero with a one-line ``error:`` and no
    traceback (the command line's typed error); exit 0 is a silent wrong result. Returns stderr."""
    from medusa_zoo.cli import main

    stderr = io.StringIO()
    try:
        with bounded(seconds), contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code if isinstance(exit_.code, int) else 2
    except Hang:
        code = None
    except Exception as error:  # noqa: BLE001
        RECORD[family]["raw"] += 1
        raise AssertionError(f"{family}: {argv} raised {error!r}") from error
    text = stderr.getvalue()
    outcome = ("hang" if code is None else "silent wrong" if code == 0
               else "typed" if "error:" in text and "Traceback" not in text else "raw")
    RECORD[family][outcome] += 1
    assert outcome == "typed", f"{family}: {argv} -> {outcome} (exit {code}): {text}"
    if match is not None:
        assert match.lower() in text.lower(), f"{family}: message lacks {match!r}: {text}"
    return text


def table() -> str:
    """The outcomes so far as a Markdown table: one row per family and a total."""
    rows = ["| family | tried | " + " | ".join(OUTCOMES) + " |", "|---" * (len(OUTCOMES) + 2) + "|"]
    total: collections.Counter = collections.Counter()
    for family in sorted(RECORD):
        counts = RECORD[family]
        total.update(counts)
        rows.append(f"| {family} | {sum(counts.values())} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + " |")
    rows.append(f"| **all** | {sum(total.values())} | " + " | ".join(str(total[o]) for o in OUTCOMES) + " |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover - a reminder of how the table is made
    sys.exit("run: MEDUSA_ZOO_FUZZ_TABLE=fuzz_table.md python -m pytest tests/fuzz -q")
