"""The command line: one parser with every command, typed errors as exit status 2, the old entry points."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from medusa_zoo.cli import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert f"python -m medusa_zoo {command}" in capsys.readouterr().out


def test_the_parser_lists_the_commands() -> None:
    text = build_parser().format_help()
    assert all(command in text for command in COMMANDS)


@pytest.mark.parametrize("argv", [
    ["train", "--recipe", "synthrooms_regnetx002", "--threads", "-1"],
    ["train", "--recipe", "synthrooms_regnetx002", "--steps", "0"],
    ["evaluate", "--model", "x", "--data", "synthrooms:val", "--batch-size", "two"],
    ["benchmark", "speed"],
    ["no-such-command"],
])  # fmt: skip
def test_bad_arguments_exit_with_status_2_and_say_why(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and ("positive integer" in err or "invalid choice" in err)


def test_library_errors_print_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trivial", "--recipe", "no_such_recipe"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no recipe file 'no_such_recipe'") and "Traceback" not in err
    assert main(["register", "--repo-root", str(ROOT / "tests"), "--name", "medusa_regnetx002.x",
                 "--model-dir", ".", "--recipe", "synthrooms_regnetx002"]) == 2  # fmt: skip
    assert "is not a medusa_zoo source checkout" in capsys.readouterr().err


def test_commands_record_how_they_were_called(tmp_path: Path) -> None:
    part = tmp_path / "part.json"
    part.write_text(json.dumps({"format": "medusa_zoo.results/1", "dataset": "synthrooms", "split": "val",
                                "images": 3, "values": {"depth": {"rmse": 1.0}}}))  # fmt: skip
    argv = ["--stl", str(part), "--out", str(tmp_path / "new.json")]
    assert main(["results", *argv]) == 0
    assert json.loads((tmp_path / "new.json").read_text())["command"].startswith("python -m medusa_zoo results --stl ")
    assert main(["results", *argv], legacy="medusa_zoo.training.results") == 0
    recorded = json.loads((tmp_path / "new.json").read_text())["command"]
    assert recorded.startswith("python -m medusa_zoo.training.results --stl ")


def test_report_prints_the_shipped_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--family", "synthrooms_regnetx002"]) == 0
    out = capsys.readouterr().out
    assert "| Medusa |" in out and "All rows measured on SynthRooms val (300 images)." in out


@pytest.mark.slow
@pytest.mark.parametrize("entry", [
    ["-m", "medusa_zoo", "report"],
    ["-m", "medusa_zoo.training.report"],
    ["-m", "medusa_zoo.train", "--help"],
    ["-m", "medusa_zoo.evaluate", "--help"],
    ["-m", "medusa_zoo.ufl", "--help"],
    ["-m", "medusa_zoo.embeddings", "--help"],
    ["-m", "medusa_zoo.training.trivial", "--help"],
    ["-m", "medusa_zoo.training.results", "--help"],
    ["-m", "medusa_zoo.hub.register", "--help"],
    ["-m", "medusa_zoo.benchmarks.efficiency", "--help"],
    ["-m", "medusa_zoo.benchmarks.synthrooms_speed", "--help"],
])  # fmt: skip
def test_every_entry_point_still_runs(entry: list[str]) -> None:
    done = subprocess.run([sys.executable, *entry], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    legacy = entry[1] if entry[1] != "medusa_zoo" else None
    assert ("usage: python -m " + (legacy or "")) in done.stdout or "| Medusa |" in done.stdout


@pytest.mark.slow
def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "medusa-zoo"
    assert script.is_file(), "pip install -e . creates the medusa-zoo console script beside python"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "usage: medusa-zoo" in done.stdout


@pytest.mark.slow
def test_predict_memory_benchmark_measures_each_size_in_its_own_process(tmp_path: Path) -> None:
    out = tmp_path / "memory.json"
    command = [sys.executable, "-m", "medusa_zoo", "benchmark", "predict-memory", "--megapixels", "0.05", "0.01",
               "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert [row["megapixels"] for row in document["rows"]] == [0.01, 0.05]  # sorted
    assert all(row["peak_gib"] >= row["loaded_gib"] > 0.1 for row in document["rows"])
    assert all(row["height"] * row["width"] <= row["megapixels"] * 1e6 for row in document["rows"])
    assert document["default_max_image_pixels"] == 24_000_000
    assert "predict-memory --megapixels 0.05 0.01" in document["command"]
    assert "GiB per megapixel" in done.stdout
