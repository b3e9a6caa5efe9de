"""Bad command-line values end in argparse's ``error: argument ...`` and exit status 2, never a traceback;
errors raised by the library or the operating system print one ``error: ...`` line."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from medusa_zoo.cli import main

# placeholders: FILE is an existing regular file, DIR an existing folder, MISSING a path that does not exist
BAD = {
    "train --threads -1": (["train", "--recipe", "r", "--threads", "-1"], "--threads: expected a positive integer, got -1"),
    "train --threads 0": (["train", "--recipe", "r", "--threads", "0"], "--threads: expected a positive integer, got 0"),
    "train --threads huge": (["train", "--recipe", "r", "--threads", "100000"], "--threads: expected a positive integer of at most"),
    "train --threads 1.5": (["train", "--recipe", "r", "--threads", "1.5"], "--threads: expected a positive integer, got '1.5'"),
    "train --steps -5": (["train", "--recipe", "r", "--steps", "-5"], "--steps: expected a positive integer, got -5"),
    "train --stop-after 0": (["train", "--recipe", "r", "--stop-after", "0"], "--stop-after: expected a positive integer"),
    "train --out FILE": (["train", "--recipe", "r", "--out", "FILE"], "--out: 'FILE' is an existing file, not a folder"),
    "train --out FILE/sub": (["train", "--recipe", "r", "--out", "FILE/run"], "--out: cannot write 'FILE/run': "),
    "train --data-root MISSING": (["train", "--recipe", "r", "--data-root", "MISSING"], "--data-root: folder 'MISSING' does not exist"),
    "evaluate --batch-size 0": (["evaluate", "--model", "m", "--data", "synthrooms:val", "--batch-size", "0"], "--batch-size: expected a positive integer"),
    "evaluate --workers -1": (["evaluate", "--model", "m", "--data", "synthrooms:val", "--workers", "-1"], "--workers: expected a non-negative integer"),
    "evaluate --data nosplit": (["evaluate", "--model", "m", "--data", "synthrooms"], "--data: expected dataset:split"),
    "evaluate --out DIR": (["evaluate", "--model", "m", "--data", "synthrooms:val", "--out", "DIR"], "--out: 'DIR' is a folder"),
    "evaluate --size 0 4": (["evaluate", "--model", "m", "--data", "synthrooms:val", "--size", "0", "4"], "--size: expected a positive integer"),
    "embed --out DIR": (["embed", "--model", "m", "--images", "DIR", "--out", "DIR"], "--out: 'DIR' is a folder"),
    "embed --batch-size -2": (["embed", "--model", "m", "--images", "DIR", "--out", "e", "--batch-size", "-2"], "--batch-size: expected a positive integer"),
    "export --out DIR": (["export", "--model", "m", "--out", "DIR"], "--out: 'DIR' is a folder"),
    "results --stl MISSING": (["results", "--stl", "MISSING", "--out", "o.json"], "--stl: file 'MISSING' does not exist"),
    "results --stl DIR": (["results", "--stl", "DIR", "--out", "o.json"], "--stl: 'DIR' is not a regular file"),
    "ufl --report MISSING": (["ufl", "--report", "MISSING"], "--report: file 'MISSING' does not exist"),
    "ufl --seeds -1": (["ufl", "--seeds", "0", "-1"], "--seeds: expected a non-negative integer"),
    "ufl --runs FILE": (["ufl", "--runs", "FILE"], "--runs: 'FILE' is an existing file"),
    "ufl --head-steps 0": (["ufl", "--head-steps", "0"], "--head-steps: expected a positive integer"),
    "register --model-dir MISSING": (["register", "--repo-root", "DIR", "--name", "a.b", "--model-dir", "MISSING", "--recipe", "r"], "--model-dir: folder 'MISSING' does not exist"),
    "register --precision float8": (["register", "--repo-root", "DIR", "--name", "a.b", "--model-dir", "DIR", "--recipe", "r", "--precision", "float8"], "--precision: invalid choice: 'float8'"),
    "register --check-images 0": (["register", "--repo-root", "DIR", "--name", "a.b", "--model-dir", "DIR", "--recipe", "r", "--check-images", "0"], "--check-images: expected a positive integer"),
    "benchmark --threads 0": (["benchmark", "latency", "--threads", "1", "0"], "--threads: expected a positive integer, got 0"),
    "benchmark --out DIR": (["benchmark", "efficiency", "--out", "DIR"], "--out: 'DIR' is a folder"),
    "benchmark --baseline MISSING": (["benchmark", "training", "--baseline", "MISSING"], "--baseline: folder 'MISSING' does not exist"),
    "trivial --fit-images 0": (["trivial", "--recipe", "r", "--fit-images", "0"], "--fit-images: expected a positive integer"),
    "trivial --out DIR": (["trivial", "--recipe", "r", "--out", "DIR"], "--out: 'DIR' is a folder"),
}  # fmt: skip


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "DIR").mkdir()
    return tmp_path


@pytest.mark.parametrize("argv, message", BAD.values(), ids=list(BAD))
def test_bad_values_exit_2_with_an_argparse_error(places: Path, argv: list[str], message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {message}" in err, err
    assert "Traceback" not in err and err.startswith("usage: ")
    assert sorted(p.name for p in places.iterdir()) == ["DIR", "FILE"]  # nothing was written


def test_good_paths_pass_the_checks(places: Path) -> None:
    from medusa_zoo.cli import build_parser

    args = build_parser().parse_args(["train", "--recipe", "r", "--out", "DIR/new/run", "--threads", "2"])
    assert args.out == Path("DIR/new/run") and args.threads == 2
    args = build_parser().parse_args(["evaluate", "--model", "m", "--data", "nyud:val", "--out", "FILE"])
    assert args.data == ("nyud", "val") and args.out == Path("FILE")  # an existing file is replaced


def test_an_unknown_report_family_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--family", "no_such_family"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no shipped results for family 'no_such_family'; families: [")
    assert "synthrooms_regnetx002" in err and "Traceback" not in err


def test_an_os_error_inside_a_command_is_a_one_line_error(
    places: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from medusa_zoo.training import results

    part = places / "part.json"
    part.write_text('{"format": "medusa_zoo.results/1", "dataset": "synthrooms", "split": "val", "images": 3, '
                    '"values": {"depth": {"rmse": 1.0}}}')

    def full(path: object, document: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(results, "write_results", full)
    assert main(["results", "--stl", str(part), "--out", "out.json"]) == 1
    assert capsys.readouterr().err == "error: No space left on device (out.json)\n"


def test_a_damaged_run_folder_is_a_one_line_error(places: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from tests.training.test_training import ARCH, TINY

    (places / "recipe.json").write_text(json.dumps(TINY))
    (places / "run" / "checkpoints").mkdir(parents=True)
    (places / "run" / "checkpoints" / "step_0000002").write_text("x")
    argv = ["train", "--recipe", "recipe.json", "--arch", ARCH, "--out", "run", "--threads", "1", "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: run/checkpoints/step_0000002 is a file where a checkpoint folder should be; delete")
