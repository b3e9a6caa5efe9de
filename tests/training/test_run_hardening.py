"""Training runs under attack: a second trainer on one folder, damaged resume state, a full disk, bad values.

Every run trains the tiny recipe of ``test_training.py`` (64x96 SynthRooms, batch 2, 4 steps, one
thread). One run stopped after 2 steps is made once per module; each test damages a copy of it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from medusa_zoo.embeddings import extract_embeddings
from medusa_zoo.errors import EmbeddingsError, RunLockedError, TrainingError
from medusa_zoo.training import build_for_recipe, checkpoint, recipe_from_dict, train
from medusa_zoo.training.checkpoint import list_checkpoints, save_checkpoint
from medusa_zoo.training.finetune import finetune
from medusa_zoo.training.run_lock import LOCK_FILE, RunLock
from tests.training.test_training import ARCH, TINY, assert_same_tensors, child_env

RECIPE = recipe_from_dict({**TINY, "steps": 4, "batch_size": 2})
STEP2 = Path("checkpoints") / "step_0000002"


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def run(out: Path, **kw: object):
    return train(RECIPE, ARCH, out=out, **{"threads": 1, "progress": False, **kw})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of RECIPE stopped after 2 of its 4 steps."""
    folder = tmp_path_factory.mktemp("stopped") / "run"
    assert run(folder, stop_after=2).steps == 2
    return folder


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """The final weights of RECIPE trained without interruption."""
    folder = tmp_path_factory.mktemp("whole") / "run"
    run(folder)
    return load_file(folder / "model" / "model.safetensors")


@pytest.fixture
def copy(stopped: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(stopped, target)
    return target


# -- 1. one trainer per run folder ------------------------------------------------------------------


def test_a_second_trainer_on_a_locked_folder_gets_run_locked_error_naming_the_holder(copy: Path) -> None:
    with RunLock(copy):
        with pytest.raises(RunLockedError, match=rf"in use by pid {os.getpid()} on host .* since .*use another --out"):
            run(copy)
        record = json.loads((copy / LOCK_FILE).read_text())
        assert record["pid"] == os.getpid() and record["host"] and record["since"]
        assert list_checkpoints(copy) == [copy / STEP2]  # the refused trainer touched nothing
    assert run(copy, stop_after=1).steps == 3  # released: the folder is usable again
    assert not (copy / LOCK_FILE).exists()  # a clean exit leaves nothing behind


def test_run_locked_error_is_a_training_error_with_the_holder() -> None:
    error = RunLockedError("x", holder="pid 1 on host h since t")
    assert isinstance(error, TrainingError) and error.holder == "pid 1 on host h since t"


def test_the_lock_is_released_when_training_fails(copy: Path) -> None:
    (copy / STEP2 / "trainer.json").write_text("{")
    with pytest.raises(TrainingError, match="not valid JSON"):
        run(copy)
    with RunLock(copy):  # no stale lock left behind by the failed trainer
        pass


@pytest.mark.slow
def test_a_trainer_killed_with_sigkill_leaves_no_stale_lock(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; from medusa_zoo.training.run_lock import RunLock\n"
            "lock = RunLock(Path(sys.argv[1])).__enter__(); print('locked', flush=True); time.sleep(120)")
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=child_env(), stdout=subprocess.PIPE,
                             text=True, cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=rf"in use by pid {child.pid} on host") as refused:
            RunLock(tmp_path).__enter__()
        assert f"pid {child.pid}" in refused.value.holder
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()  # type: ignore[union-attr]
    assert (tmp_path / LOCK_FILE).exists()  # the killed holder's file is left, but not locked
    with RunLock(tmp_path):  # the OS dropped the dead process's lock
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()


@pytest.mark.skipif(os.name == "nt", reason="FIFOs and links as POSIX makes them")
@pytest.mark.parametrize("make, message", [
    (lambda p: p.mkdir(), "cannot open the run lock .*run.lock"),
    (lambda p: os.mkfifo(p), "is not a regular file; delete it"),
    (lambda p: p.symlink_to(p.parent / "elsewhere"), "cannot open the run lock"),
])  # fmt: skip
def test_a_lock_path_that_is_not_a_plain_file_is_refused(tmp_path: Path, make: Callable[[Path], None],
                                                         message: str) -> None:
    make(tmp_path / LOCK_FILE)
    with pytest.raises(TrainingError, match=message):
        RunLock(tmp_path).__enter__()
    assert not (tmp_path / "elsewhere").exists()  # a link is never followed


# -- 2. damaged resume state ------------------------------------------------------------------------


def _edit_json(**changes: object) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        path = run_dir / STEP2 / "trainer.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return damage


def _edit_state(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        path = run_dir / STEP2 / "state.pt"
        state = torch.load(path, weights_only=True)
        torch.save(edit(state), path)
    return damage


def _drop_tensor(run_dir: Path) -> None:
    path = run_dir / STEP2 / "model.safetensors"
    weights = load_file(path)
    weights.pop(min(weights))
    save_file(weights, path)


def _truncate(name: str) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        path = run_dir / STEP2 / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return damage


def _replace_with_folder(name: str) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        (run_dir / STEP2 / name).unlink()
        (run_dir / STEP2 / name).mkdir()
    return damage


def _file_for_folder(relative: Path) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        shutil.rmtree(run_dir / relative)
        (run_dir / relative).write_text("not a folder")
    return damage


def _reshape_moment(state: dict) -> dict:
    moments = state["optimizer"]["state"]
    first = moments[min(moments)]
    first["exp_avg"] = torch.zeros(1)
    return state


def _pop(key: str) -> Callable[[dict], dict]:
    return lambda state: {k: v for k, v in state.items() if k != key}


DAMAGE = {
    "step is a string": (_edit_json(step="four"), r"trainer.json says step 'four'"),
    "step differs from the folder": (_edit_json(step=3), r"says step 3, but its folder is step_0000002"),
    "trainer.json is garbage": (lambda r: (r / STEP2 / "trainer.json").write_bytes(b"\x00\xff{"), "not valid JSON"),
    "trainer.json is a list": (lambda r: (r / STEP2 / "trainer.json").write_text("[1]"), "holds list, not an object"),
    "trainer.json is missing": (lambda r: (r / STEP2 / "trainer.json").unlink(), r"trainer.json' does not exist"),
    "trainer.json is a folder": (_replace_with_folder("trainer.json"), r"trainer.json' is a folder"),
    "another format": (_edit_json(format="medusa_zoo.train_state/9"), "written by another version"),
    "rng is missing": (_edit_state(_pop("rng")), r"state.pt lacks \['rng'\]"),
    "rng is not a generator state": (_edit_state(lambda s: {**s, "rng": torch.zeros(3)}), "not a CPU random-generator"),
    "state is not a dict": (_edit_state(lambda s: torch.zeros(2)), "holds Tensor, not a state dict"),
    "schedule step tampered": (_edit_state(lambda s: {**s, "scheduler": {**s["scheduler"], "last_epoch": 9}}),
                               "LR schedule is at step 9, the checkpoint at step 2"),
    "optimiser groups removed": (_edit_state(lambda s: {**s, "optimizer": {**s["optimizer"], "param_groups": []}}),
                                 "optimiser state that does not fit"),
    "optimiser moment reshaped": (_edit_state(_reshape_moment), r"optimiser state that does not fit .*has shape \(1,\)"),
    "a tensor is missing": (_drop_tensor, r"(?s)model.safetensors does not fit medusa_regnetx002 .*Missing"),
    "truncated safetensors": (_truncate("model.safetensors"), r"model.safetensors cannot be read"),
    "truncated state.pt": (_truncate("state.pt"), r"state.pt cannot be read"),
    "state.pt is a folder": (_replace_with_folder("state.pt"), r"state.pt' is a folder"),
    "a file where the step folder should be": (_file_for_folder(STEP2), "is a file where a checkpoint folder should be"),
    "a file where checkpoints/ should be": (_file_for_folder(Path("checkpoints")), "is a file where the run's checkpoint"),
    "the log is a folder": (lambda r: ((r / "log.jsonl").unlink(), (r / "log.jsonl").mkdir()), "the training log"),
}


@pytest.mark.parametrize("damage, message", DAMAGE.values(), ids=list(DAMAGE))
def test_damaged_resume_state_is_a_training_error_naming_the_file_and_what_to_do(
    copy: Path, damage: Callable[[Path], None], message: str
) -> None:
    damage(copy)
    with pytest.raises(TrainingError, match=message) as refused:
        run(copy)
    assert str(copy) in str(refused.value)
    assert any(hint in str(refused.value) for hint in ("delete", "choose another --out", "fix the path"))
    assert not (copy / "model").exists()  # the damaged run was not "finished"


def test_a_step_count_tampered_beyond_the_recipe_is_refused_not_finished(copy: Path) -> None:
    tampered = copy / "checkpoints" / "step_0000099"
    (copy / STEP2).rename(tampered)
    info = json.loads((tampered / "trainer.json").read_text())
    (tampered / "trainer.json").write_text(json.dumps({**info, "step": 99}))
    state = torch.load(tampered / "state.pt", weights_only=True)
    torch.save({**state, "scheduler": {**state["scheduler"], "last_epoch": 99}}, tampered / "state.pt")
    with pytest.raises(TrainingError, match="at step 99, past the recipe's 4 steps.*delete it"):
        run(copy)
    assert not (copy / "model").exists() and not (copy / "metrics.json").exists()


def test_log_lines_that_are_not_ours_are_dropped_on_resume(copy: Path) -> None:
    with (copy / "log.jsonl").open("a") as log:
        log.write('{"step": "four"}\n[1, 2]\n{"step": 1e9}\n')
    assert run(copy, stop_after=1).steps == 3
    steps = [json.loads(line)["step"] for line in (copy / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]


def test_out_naming_a_file_is_a_training_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(TrainingError, match="is a file, not a run folder; choose another --out"):
        run(tmp_path / "taken")


# -- 3. a full disk ----------------------------------------------------------------------------------


def _fails_at(step: int, target: str, error: Exception, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make checkpoint writer ``target`` write a few bytes, then raise ``error``, for the checkpoint of ``step``."""
    real = getattr(checkpoint, target)

    def writer(value: object, path: Path) -> None:
        if path.parent.name.startswith(f".step_{step:07d}"):
            path.write_bytes(b"half")  # something was written before the disk filled
            raise error
        real(value, path)

    monkeypatch.setattr(checkpoint, target, writer)


ENOSPC = OSError(errno.ENOSPC, "No space left on device")
FULL_DISK = {
    "ENOSPC in torch.save": ("_write_state", ENOSPC),
    "SafetensorError": ("_write_weights", SafetensorError("Error while serializing: IoError(Os { code: 28, "
                                                          "kind: StorageFull, message: \"No space left on device\" })")),
    "torch zip writer": ("_write_state", RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos "
                                                      "2304 vs 2198")),
    "ENOSPC in trainer.json": ("_write_info", ENOSPC),
    "ENOSPC on flush": ("_sync", ENOSPC),
}
INTACT = r"free space and resume with the same command: the last good checkpoint .*step_0000002 \(step 2\) is intact"


@pytest.mark.parametrize("target, error", FULL_DISK.values(), ids=list(FULL_DISK))
def test_a_full_disk_is_a_training_error_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, target: str, error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights, state = {"w": torch.ones(2)}, {"rng": torch.get_rng_state(), "scheduler": {"last_epoch": 2}}
    good = save_checkpoint(tmp_path, 2, weights, state, {})
    before = {p.name: p.read_bytes() for p in good.iterdir()}
    if target == "_sync":
        monkeypatch.setattr(checkpoint, "_sync", lambda folder: (_ for _ in ()).throw(error))
    else:
        _fails_at(4, target, error, monkeypatch)
    with pytest.raises(TrainingError, match=r"no space left on device while writing checkpoint .*step_0000004; " + INTACT):
        save_checkpoint(tmp_path, 4, weights, state, {})
    assert list_checkpoints(tmp_path) == [good]
    assert not list((tmp_path / "checkpoints").glob(".step_*")), "a staging folder was left behind"
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before


def test_a_run_stopped_by_a_full_disk_resumes_with_the_same_command(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {p.name: p.read_bytes() for p in (copy / STEP2).iterdir()}
    with monkeypatch.context() as patch:
        _fails_at(3, "_write_state", ENOSPC, patch)
        with pytest.raises(TrainingError, match="no space left on device .*step_0000003; " + INTACT):
            run(copy, stop_after=1)
    assert list_checkpoints(copy) == [copy / STEP2]
    assert {p.name: p.read_bytes() for p in (copy / STEP2).iterdir()} == before
    assert run(copy, stop_after=1).steps == 3
    assert [p.name for p in list_checkpoints(copy)] == ["step_0000002", "step_0000003"]


@pytest.mark.slow
def test_the_resumed_run_after_a_full_disk_ends_bitwise_as_the_uninterrupted_one(
    copy: Path, whole: dict[str, torch.Tensor], monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        _fails_at(4, "_write_state", ENOSPC, patch)
        with pytest.raises(TrainingError, match="no space left"):
            run(copy)
    run(copy)
    assert_same_tensors(load_file(copy / "model" / "model.safetensors"), whole)


REAL_WRITERS = """
import resource, signal, sys, torch
from pathlib import Path
from medusa_zoo.errors import TrainingError
from medusa_zoo.training.checkpoint import save_checkpoint
run, big = Path(sys.argv[1]), torch.zeros(200_000)
state = {"rng": torch.get_rng_state(), "scheduler": {"last_epoch": 2}}
save_checkpoint(run, 2, {"w": torch.ones(4)}, state, {})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit now fail (EFBIG) as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
for weights, extra in (({"w": big}, {}), ({"w": torch.ones(4)}, {"x": big})):
    try:
        save_checkpoint(run, 4, weights, {**state, **extra}, {})
    except TrainingError as error:
        print(str(error).replace(chr(10), " "))
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_the_real_writers_failing_mid_write_leave_the_last_checkpoint_intact(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", REAL_WRITERS, str(tmp_path)], env=child_env(), capture_output=True,
                          text=True, timeout=120, check=False, cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout  # safetensors, then torch.save: both typed
    assert "SafetensorError" in lines[0] and "File too large" in lines[0]
    assert lines[1].startswith("no space left on device while writing")  # torch's zip writer: "unexpected pos"
    assert all("step_0000002 (step 2) is intact" in line for line in lines)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step_0000002"]


def test_another_write_failure_says_what_failed_and_that_the_checkpoint_is_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights, state = {"w": torch.ones(2)}, {"rng": torch.get_rng_state()}
    first = save_checkpoint(tmp_path, 2, weights, state, {})
    saved = (first / "model.safetensors").read_bytes()

    def refuse(value: object, path: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(checkpoint, "_write_state", refuse)
    for step in (2, 4):  # rewriting the same step, or writing a new one
        with pytest.raises(TrainingError, match=r"could not write checkpoint .*PermissionError.*step 2\) is intact"):
            save_checkpoint(tmp_path, step, {"w": torch.zeros(2)}, state, {})
        assert list_checkpoints(tmp_path) == [first] and (first / "model.safetensors").read_bytes() == saved


def test_rewriting_a_step_swaps_the_folder_whole(tmp_path: Path) -> None:
    state = {"rng": torch.get_rng_state()}
    save_checkpoint(tmp_path, 2, {"w": torch.ones(2)}, state, {})
    path = save_checkpoint(tmp_path, 2, {"w": torch.zeros(2)}, state, {})
    assert torch.equal(load_file(path / "model.safetensors")["w"], torch.zeros(2))
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step_0000002"]


# -- 4. typed values for train, finetune and extract_embeddings --------------------------------------


@pytest.mark.parametrize("kw, message", [
    ({"threads": 0}, "threads must be a positive integer or None, got 0"),
    ({"threads": True}, "threads must be a positive integer or None, got True"),
    ({"stop_after": -5}, "stop_after must be a positive integer or None, got -5"),
    ({"stop_after": 1.5}, "stop_after must be a positive integer or None, got 1.5"),
])  # fmt: skip
def test_train_refuses_bad_counts_before_touching_the_folder(tmp_path: Path, kw: dict, message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        run(tmp_path / "run", **kw)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def tiny_model():
    return build_for_recipe(recipe_from_dict({**TINY, "tasks": ["depth"]}), ARCH)


@pytest.mark.parametrize("kw, message", [
    ({"steps": 0}, "steps must be a positive integer, got 0"),
    ({"steps": -5}, "steps must be a positive integer, got -5"),
    ({"steps": True}, "steps must be a positive integer, got True"),
    ({"steps": 2.0}, "steps must be a positive integer, got 2.0"),
    ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
    ({"batch_size": False}, "batch_size must be a positive integer, got False"),
    ({"lr": 0}, r"lr must be a finite number > 0, got 0"),
    ({"lr": -1e-3}, r"lr must be a finite number > 0, got -0.001"),
    ({"lr": float("nan")}, r"lr must be a finite number > 0, got nan"),
    ({"lr": True}, r"lr must be a finite number > 0, got True"),
    ({"warmup": -1}, r"warmup must be an integer >= 0, got -1"),
    ({"eval_every": 1.5}, r"eval_every must be an integer >= 0, got 1.5"),
    ({"num_workers": -1}, r"num_workers must be an integer >= 0, got -1"),
    ({"threads": 0}, r"threads must be a positive integer, got 0"),
    ({"amp": "fp8"}, r"amp must be None or one of \('bf16', 'fp16'\), got 'fp8'"),
    ({"optimizer": "lion"}, r"unknown optimizer 'lion'"),
])  # fmt: skip
def test_finetune_refuses_bad_values_before_freezing(tiny_model, kw: dict, message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        finetune(tiny_model, "depth", [], progress=False, **kw)  # type: ignore[arg-type]
    assert all(p.requires_grad for p in tiny_model.parameters()), "the model was frozen before the check"


@pytest.mark.parametrize("batch_size", [0, -1, True, 2.0])
def test_extract_embeddings_refuses_bad_batch_sizes(tiny_model, batch_size: object) -> None:
    with pytest.raises(EmbeddingsError, match=rf"batch_size must be a positive int, got {batch_size!r}"):
        extract_embeddings(tiny_model, [torch.rand(3, 64, 64)], batch_size=batch_size, progress=False)  # type: ignore[arg-type]

