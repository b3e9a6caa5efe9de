"""Training runs and the command line: damaged resume state, a second trainer, bad values, a full disk.

A resumed run whose state was tampered with must either be refused (TrainingError) or end with
bitwise the weights of the uninterrupted run; anything else is a silent wrong result.
"""

from __future__ import annotations

import copy as copying
import errno
import json
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from medusa_zoo.training.run_lock import RunLock
from tests.fuzz.harness import assert_cli_refuses, assert_ok
from tests.fuzz.test_fuzz_configs import HOSTILE, paths
from tests.training.test_run_hardening import STEP2, run, stopped, whole  # noqa: F401 - fixtures
from tests.training.test_training import ARCH


def _same(weights: dict[str, torch.Tensor]):
    def check(result) -> bool:
        final = load_file(result.run_dir / "model" / "model.safetensors")
        return final.keys() == weights.keys() and all(torch.equal(final[k], weights[k]) for k in weights)

    return check


@st.composite
def tampered(draw, info: dict) -> dict:
    info = copying.deepcopy(info)
    where = draw(st.sampled_from(list(paths(info))[1:]))
    parent = info
    for key in where[:-1]:
        parent = parent[key]
    if draw(st.booleans()) or not isinstance(parent, dict):
        parent[where[-1]] = draw(HOSTILE)
    else:
        del parent[where[-1]]
    return info


@given(data=st.data())
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_tampered_trainer_json_is_refused_or_resumes_exactly(stopped, whole, tmp_path_factory, data) -> None:
    folder = tmp_path_factory.mktemp("tampered") / "run"
    shutil.copytree(stopped, folder)
    info_path = folder / STEP2 / "trainer.json"
    info = data.draw(tampered(json.loads(info_path.read_text())))
    info_path.write_text(json.dumps(info))
    assert_ok("training: tampered trainer.json", lambda: run(folder), "either", _same(whole), seconds=120)


def _break(name: str):
    def damage(folder: Path) -> None:
        target = folder / STEP2 / name
        if name == "state.pt":
            target.write_bytes(target.read_bytes()[:100])
        elif name == "model.safetensors":
            target.write_bytes(b"\x00" * 16)
        else:
            shutil.rmtree(folder / STEP2)
            (folder / STEP2).write_text("not a folder")

    return damage


@pytest.mark.parametrize("name", ["state.pt", "model.safetensors", "folder"])
def test_damaged_state_files_are_training_errors(stopped, tmp_path, name) -> None:
    folder = tmp_path / "run"
    shutil.copytree(stopped, folder)
    _break(name)(folder)
    assert_ok("training: damaged state files", lambda: run(folder), "typed", match=str(STEP2.name))


def test_a_second_trainer_on_a_locked_folder_is_refused(stopped, tmp_path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(stopped, folder)
    with RunLock(folder):
        assert_ok("training: concurrent trainers", lambda: run(folder), "typed", match="in use by pid")


@pytest.mark.parametrize("writer", ["torch.save", "safetensors.torch.save_file"])
def test_a_full_disk_keeps_the_last_good_checkpoint(stopped, tmp_path, monkeypatch, writer) -> None:
    folder = tmp_path / "run"
    shutil.copytree(stopped, folder)
    before = (folder / STEP2 / "model.safetensors").read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer, full)  # both are looked up when a checkpoint is written
    assert_ok("training: full disk", lambda: run(folder), "typed", match="no space left")
    assert (folder / STEP2 / "model.safetensors").read_bytes() == before


CLI = [
    ["train", "--recipe", "synthrooms_regnetx002", "--arch", ARCH, "--out", "{tmp}/x", "--threads", "-1"],
    ["train", "--recipe", "synthrooms_regnetx002", "--arch", ARCH, "--out", "{tmp}/x", "--threads", "0"],
    ["train", "--recipe", "{tmp}/missing.json", "--arch", ARCH, "--out", "{tmp}/x"],
    ["train", "--recipe", "synthrooms_regnetx002", "--arch", ARCH, "--out", "{tmp}/file"],
    ["train", "--recipe", "synthrooms_regnetx002", "--arch", "no_such_arch", "--out", "{tmp}/x"],
    ["train", "--recipe", "../../etc/passwd", "--arch", ARCH, "--out", "{tmp}/x"],
    ["embed", "--images", "{tmp}/missing", "--out", "{tmp}/e.safetensors"],
    ["export", "medusa_efficientnet_lite0", "--out", "{tmp}/file/x.onnx"],
    ["report", "--family", "no_such_family"],
    ["evaluate", "{tmp}/missing-run"],
    ["ufl", "--recipe", "synthrooms_regnetx002", "--out", "{tmp}/file/ufl.json"],
    ["benchmark", "latency", "--repeats", "0"],
    ["benchmark", "training", "--steps", "-3"],
]


@pytest.mark.parametrize("argv", CLI, ids=[" ".join(a[:1] + a[-2:]) for a in CLI])
def test_bad_command_lines_are_one_line_errors(tmp_path, argv) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    assert_cli_refuses("command line: bad values", [a.format(tmp=tmp_path) for a in argv])
