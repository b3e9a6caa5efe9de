"""``medusa-zoo examples DIR``: the example scripts copied with how to run each; every script ships in the wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from medusa_zoo.cli import examples, main

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p.name for p in (ROOT / "examples").glob("*.py"))


def test_examples_copies_every_script_and_says_how_to_run_it(tmp_path: Path, capsys) -> None:
    target = tmp_path / "new" / "examples"
    assert main(["examples", str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == SCRIPTS and "quickstart.py" in SCRIPTS
    assert (target / "quickstart.py").read_bytes() == (ROOT / "examples" / "quickstart.py").read_bytes()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"copied {len(SCRIPTS)} example scripts to {target.resolve()}:"
    assert f"  python {target / 'quickstart.py'}    # The main job on the embedded default" in "\n".join(lines)
    assert len(lines) == 1 + len(SCRIPTS) and all("    # " in line and not line.endswith("# ") for line in lines[1:])


def test_examples_refuses_to_overwrite_and_copies_nothing(tmp_path: Path, capsys) -> None:
    (tmp_path / "quickstart.py").write_text("mine\n")
    assert main(["examples", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path} already holds quickstart.py; remove them") and len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quickstart.py"]
    assert (tmp_path / "quickstart.py").read_text() == "mine\n"


def test_examples_into_a_file_exits_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(SystemExit) as done:
        main(["examples", str(tmp_path / "f")])
    assert done.value.code == 2 and "is an existing file, not a folder" in capsys.readouterr().err


def test_an_installed_package_reads_its_own_copy_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site" / "medusa_zoo"
    (package / "examples").mkdir(parents=True)
    (package / "examples" / "only.py").write_text('"""Installed copy."""\n')
    monkeypatch.setattr(examples, "PACKAGE", package)
    assert examples.example_scripts() == [package / "examples" / "only.py"]
    (package / "examples" / "only.py").unlink()
    with pytest.raises(examples.CheckpointError, match="no example scripts in .*reinstall medusa-zoo"):
        examples.example_scripts()


def test_every_example_script_is_force_included_in_the_wheel() -> None:
    text = (ROOT / "pyproject.toml").read_text()  # tomllib is 3.11+; the lines are plain enough to read as text
    forced = text[text.index("[tool.hatch.build.targets.wheel.force-include]") :].split("\n[", 1)[0]
    missing = [name for name in SCRIPTS if f'"examples/{name}" = "medusa_zoo/examples/{name}"' not in forced]
    assert not missing, f"add these example scripts to the wheel's force-include in pyproject.toml: {missing}"
    assert '"examples" =' not in forced  # a folder would ship its pictures too
