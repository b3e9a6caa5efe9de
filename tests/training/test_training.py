"""The training engine: recipes, the resumable sample stream, exact resume after a real kill, DDP on CPU.

Every run here trains a tiny recipe (64x96 SynthRooms images, a handful of steps) with one CPU
thread, so the whole file takes about a minute. The kill test SIGKILLs a real
``python -m medusa_zoo.train`` process mid-run and checks that running the same command again
ends with weights bitwise equal to an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from medusa_zoo.errors import RecipeError, TrainingError
from medusa_zoo.losses import task_losses
from medusa_zoo.models.zoo import ARCHITECTURES
from medusa_zoo.train import main as train_main
from medusa_zoo.training import build_for_recipe, load_recipe, packaged_recipes, recipe_from_dict, train
from medusa_zoo.training.checkpoint import list_checkpoints
from medusa_zoo.training.data import StreamBatches, dataset_tasks
from medusa_zoo.training.loop import schedule_of

TINY = {
    "format": "medusa_zoo.recipe/1",
    "name": "tiny",
    "dataset": "synthrooms",
    "architectures": ["medusa_regnetx002", "stl_regnetx002"],
    "tasks": ["semseg", "depth", "normals", "edge", "saliency", "parts"],
    "data": {"seed": 0, "resolution": [64, 96], "sizes": {"train": 32}},
    "train_size": [64, 96],
    "crop": [64, 64],
    "eval_size": [64, 96],
    "eval_images": 4,
    "lr": 0.001,
    "warmup": 2,
    "batch_size": 4,
    "steps": 6,
    "checkpoint_every": 2,
    "log_every": 1,
    "num_workers": 0,
}
ARCH = "medusa_regnetx002"


def write_recipe(folder: Path, **changes: object) -> Path:
    path = folder / f"recipe-{len(list(folder.glob('recipe-*.json')))}.json"
    path.write_text(json.dumps({**TINY, **changes}))
    return path


def child_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def cli(recipe: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "medusa_zoo.train", "--recipe", str(recipe), "--arch", ARCH, "--out", str(out),
            "--threads", "1", "--no-progress", *extra]  # fmt: skip


def run_cli(command: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"rc {done.returncode}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    return done


def newest_step(run: Path) -> int:
    found = list_checkpoints(run)
    return int(found[-1].name.removeprefix("step_")) if found else 0


def training_steps(run: Path) -> list[int]:
    """Steps of the training entries in ``log.jsonl`` (not the evaluation entries), in file order."""
    entries = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [e["step"] for e in entries if "loss" in e]


def assert_same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if a[k].dtype != b[k].dtype or not torch.equal(a[k], b[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


# -- 1. kill -9 mid-run, run the same command again: bitwise the uninterrupted result --------------


@pytest.mark.slow
def test_a_killed_run_resumes_to_bitwise_the_uninterrupted_weights(tmp_path: Path) -> None:
    STEPS = 14  # the kill comes at step 4 or 5 (~0.5 s a step): 9+ steps and the evaluation of margin
    # one DataLoader worker, so the resumed stream is also rebuilt across processes
    recipe = write_recipe(tmp_path, steps=STEPS, batch_size=2, num_workers=1)
    killed, whole = tmp_path / "killed", tmp_path / "whole"

    proc = subprocess.Popen(cli(recipe, killed), cwd=tmp_path, env=child_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while newest_step(killed) < 4:
            assert proc.poll() is None, f"training exited early (rc {proc.returncode}): {proc.stderr.read()[-3000:]}"
            assert time.monotonic() < deadline, "no checkpoint of step >= 4 within 180 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the trainer and its DataLoader worker, no chance to clean up
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    reached = newest_step(killed)
    assert 4 <= reached < STEPS
    finished = (killed / "model").exists() or (killed / "metrics.json").exists()
    assert not finished, "the run had finished before the kill"
    # a kill can also cut the log's last line short
    with (killed / "log.jsonl").open("a") as handle:
        handle.write('{"step": 13, "loss": 1.')

    again = run_cli(cli(recipe, killed), tmp_path)
    assert f"resuming {killed} from step {reached}" in again.stdout
    # the uninterrupted run in this process (same code, one thread) saves a second interpreter start
    train(load_recipe(recipe), ARCH, out=whole, threads=1, progress=False)

    assert_same_tensors(load_file(killed / "model" / "model.safetensors"),
                        load_file(whole / "model" / "model.safetensors"))
    # the resume state too: the RNG state saved at the end matches the uninterrupted run's
    last = Path("checkpoints", f"step_{STEPS:07d}", "state.pt")
    states = [torch.load(run / last, weights_only=True) for run in (killed, whole)]
    assert torch.equal(states[0]["rng"], states[1]["rng"])
    metrics = [json.loads((run / "metrics.json").read_text())["values"] for run in (killed, whole)]
    assert metrics[0] == metrics[1]
    # exactly one training entry per step, in order, no leftovers from the killed process, one final evaluation
    assert training_steps(killed) == list(range(1, STEPS + 1)) == training_steps(whole)
    finals = [json.loads(line) for line in (killed / "log.jsonl").read_text().splitlines() if '"final"' in line]
    assert len(finals) == 1 and finals[0]["step"] == STEPS
    assert [p.name for p in list_checkpoints(killed)] == [f"step_{STEPS - 2:07d}", f"step_{STEPS:07d}"]


# -- 2. two processes on CPU with gloo ----------------------------------------------------------------


@pytest.mark.slow
def test_torchrun_two_cpu_processes_train_resume_and_only_rank0_writes(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, steps=4)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "medusa_zoo", "train", "--recipe", str(recipe), "--arch", ARCH, "--out", str(out),
               "--threads", "1", "--no-progress"]  # fmt: skip

    first = run_cli([*command, "--stop-after", "2"], tmp_path)
    assert newest_step(out) == 2 and not (out / "model").exists()
    assert first.stdout.count("stopped at step 2") >= 1
    second = run_cli(command, tmp_path)
    assert second.stdout.count(f"resuming {out} from step 2") == 1  # rank 0 only
    assert second.stdout.count("trained medusa_regnetx002 for 4 steps") == 1

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([recipe.name, "run"])  # no stray run folders
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "log.jsonl", "metrics.json", "model"]
    assert [p.name for p in list_checkpoints(out)] == ["step_0000002", "step_0000004"]
    assert training_steps(out) == [1, 2, 3, 4]  # one line per step: rank 1 does not log
    config = json.loads((out / "model" / "config.json").read_text())
    assert [t["name"] for t in config["tasks"]] == TINY["tasks"]

    final = load_file(out / "model" / "model.safetensors")
    initial = build_for_recipe(load_recipe(recipe), ARCH).state_dict()
    assert final.keys() == initial.keys()
    changed = [k for k in final if final[k].is_floating_point() and not torch.equal(final[k], initial[k])]
    assert len(changed) > len(final) // 2, "training under torchrun left the weights (almost) untouched"
    assert_same_tensors(final, load_file(out / "checkpoints" / "step_0000004" / "model.safetensors"))


@pytest.mark.parametrize("start", [0, 3])
def test_two_ranks_together_read_exactly_the_single_process_batches(start: int) -> None:
    size, batch = 10, 4
    single = islice(StreamBatches(size, batch, seed=5, start_step=start), 8)
    ranks = [islice(StreamBatches(size, batch, seed=5, start_step=start, rank=r, world=2), 8) for r in (0, 1)]
    for whole, first, second in zip(single, *ranks, strict=True):
        assert len(first) == len(second) == batch // 2
        assert first + second == whole


# -- 3. the sample stream ---------------------------------------------------------------------------


def test_stream_batches_are_deterministic_and_depend_on_the_seed() -> None:
    a = list(islice(StreamBatches(13, 4, seed=1), 10))
    assert a == list(islice(StreamBatches(13, 4, seed=1), 10))
    assert a != list(islice(StreamBatches(13, 4, seed=2), 10))
    numbers = [n for step in a for n, _ in step]
    assert numbers == list(range(40))  # step s holds sample numbers [4s, 4s + 4)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_stream_started_at_step_k_continues_the_uninterrupted_stream(k: int) -> None:
    uninterrupted = list(islice(StreamBatches(7, 3, seed=0), k + 6))
    assert list(islice(StreamBatches(7, 3, seed=0, start_step=k), 6)) == uninterrupted[k:]


def test_each_epoch_is_a_fresh_permutation_of_the_dataset() -> None:
    size = 7  # not a multiple of the batch: epochs straddle batches
    keys = [key for step in islice(StreamBatches(size, 3, seed=0), 7) for key in step]  # 21 samples, 3 epochs
    epochs = [[index for n, index in keys if n // size == e] for e in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(size))
    assert len({tuple(order) for order in epochs}) == 3


def test_a_batch_not_divisible_by_the_processes_is_refused() -> None:
    with pytest.raises(RecipeError, match="batch_size 5 must be divisible by the 2 processes"):
        StreamBatches(10, 5, seed=0, world=2)


# -- 4. recipes -------------------------------------------------------------------------------------


def test_every_packaged_recipe_loads_and_names_real_architectures_and_tasks() -> None:
    names = packaged_recipes()
    assert "synthrooms_regnetx002" in names
    for name in names:
        recipe = load_recipe(name)
        assert recipe.name == name
        assert all(arch in ARCHITECTURES for arch in recipe.architectures), recipe.architectures
        assert [t.name for t in dataset_tasks(recipe.dataset, recipe.tasks)] == list(recipe.tasks)
        assert recipe_from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe  # what a checkpoint compares


def _without(key: str) -> dict:
    return {k: v for k, v in TINY.items() if k != key}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**TINY, "lr_rate": 0.1}, r"unknown field\(s\) \['lr_rate'\]"),
        (_without("steps"), r"missing required field\(s\) \['steps'\]"),
        (_without("format"), "format must be 'medusa_zoo.recipe/1'"),
        ({**TINY, "dataset": "imagenet"}, r"dataset must be a registered dataset \(nyud, pascal_context, synthrooms\), got 'imagenet'"),
        ({**TINY, "crop": [64]}, r"crop must be \[height, width\] in pixels, got \[64\]"),
        ({**TINY, "train_size": [0, 64]}, r"train_size must be \[height, width\]"),
        ({**TINY, "steps": 0}, "steps must be a positive integer, got 0"),
        ({**TINY, "batch_size": 2.5}, "batch_size must be a positive integer"),
        ({**TINY, "optimizer": "lamb"}, "optimizer must be 'adam', 'adamw' or 'sgd'"),
        ({**TINY, "amp": "fp8"}, "amp must be one of"),
        ({**TINY, "tasks": "depth"}, "tasks must be a list of names"),
        (
            {**TINY, "loss_weights": {"depth": 1.0, "albedo": 2.0}},
            r"loss_weights name task\(s\) \['albedo'\] that are not in tasks",
        ),
    ],
)
def test_bad_recipes_are_refused_with_the_reason(raw: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        recipe_from_dict(raw, source="tiny.json")


def test_recipe_files_unknown_names_bad_json_and_bad_overrides(tmp_path: Path) -> None:
    packaged = r"no packaged recipe of that name; packaged recipes: .*synthrooms_regnetx002"
    with pytest.raises(RecipeError, match=packaged):
        load_recipe("synthrooms_regnetx003")
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": ')
    with pytest.raises(RecipeError, match="is not valid JSON"):
        load_recipe(broken)
    recipe = load_recipe(write_recipe(tmp_path))
    assert recipe.with_overrides(steps=9).steps == 9
    with pytest.raises(RecipeError, match="warmup must be a non-negative integer"):
        recipe.with_overrides(warmup=-1)


# -- 5. refusing to resume the wrong thing ----------------------------------------------------------


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(recipe file, run folder) of the tiny recipe stopped after 2 of its 6 steps."""
    folder = tmp_path_factory.mktemp("stopped")
    recipe = write_recipe(folder)
    result = train(load_recipe(recipe), ARCH, out=folder / "run", threads=1, progress=False, stop_after=2)
    assert result.steps == 2 and not result.metrics
    assert [p.name for p in list_checkpoints(folder / "run")] == ["step_0000002"]
    return recipe, folder / "run"


def test_a_run_folder_of_another_recipe_is_not_resumed(stopped_run: tuple[Path, Path]) -> None:
    recipe, run = stopped_run
    other = load_recipe(recipe).with_overrides(lr=0.002)
    with pytest.raises(TrainingError, match=r"different recipe; resume with the same recipe"):
        train(other, ARCH, out=run, threads=1, progress=False)
    with pytest.raises(TrainingError, match=r"different tasks"):
        train(load_recipe(recipe), ARCH, tasks=["depth"], out=run, threads=1, progress=False)
    assert [p.name for p in list_checkpoints(run)] == ["step_0000002"]  # nothing was touched


def test_no_resume_refuses_a_folder_with_checkpoints(
    stopped_run: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    recipe, run = stopped_run
    with pytest.raises(TrainingError, match="already holds checkpoints.*drop --no-resume"):
        train(load_recipe(recipe), ARCH, out=run, resume=False, threads=1, progress=False)
    capsys.readouterr()
    code = train_main(["--recipe", str(recipe), "--arch", ARCH, "--out", str(run), "--no-resume", "--threads", "1",
                       "--no-progress"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "already holds checkpoints" in err


def test_cli_reports_recipe_errors_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert train_main(["--recipe", "no_such_recipe", "--arch", ARCH, "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.startswith("error: no recipe file 'no_such_recipe'")
    assert train_main(["--recipe", str(write_recipe(tmp_path)), "--out", str(tmp_path / "run")]) == 2
    assert "choose one with --arch" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["state.pt", "model.safetensors", "trainer.json"])
def test_an_unreadable_checkpoint_is_a_training_error(
    stopped_run: tuple[Path, Path], tmp_path: Path, name: str
) -> None:
    import shutil

    recipe, run = stopped_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / "checkpoints" / "step_0000002" / name).write_bytes(b"not a checkpoint file")
    with pytest.raises(TrainingError, match=r"(?s)unreadable .*delete it to resume from an older one"):
        train(load_recipe(recipe), ARCH, out=copy, threads=1, progress=False)


# -- 6. single-task models --------------------------------------------------------------------------


def test_stl_needs_exactly_one_task(tmp_path: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path))
    with pytest.raises(RecipeError, match="stl_regnetx002 is single-task: choose one task with --task"):
        build_for_recipe(recipe, "stl_regnetx002")
    with pytest.raises(RecipeError, match="single-task"):
        build_for_recipe(recipe, "stl_regnetx002", tasks=["depth", "semseg"])
    with pytest.raises(RecipeError, match="trains .* not 'mtinet_regnetx002'"):
        build_for_recipe(recipe, "mtinet_regnetx002")


def test_the_task_flag_trains_a_single_task_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = write_recipe(tmp_path)
    monkeypatch.chdir(tmp_path)  # the default run folder is runs/<recipe>/<arch>-<task>
    code = train_main(["--recipe", str(recipe), "--arch", "stl_regnetx002", "--task", "depth", "--steps", "2",
                       "--threads", "1", "--no-progress"])  # fmt: skip
    assert code == 0
    run = tmp_path / "runs" / "tiny" / "stl_regnetx002-depth"
    config = json.loads((run / "model" / "config.json").read_text())
    assert config["arch"] == "stl_regnetx002"
    assert [t["name"] for t in config["tasks"]] == ["depth"]
    assert list(json.loads((run / "metrics.json").read_text())["values"]) == ["depth"]
    assert set(json.loads((run / "log.jsonl").read_text().splitlines()[0])["losses"]) == {"depth"}


# -- 7. schedule and losses -------------------------------------------------------------------------


def test_lr_schedule_is_linear_warmup_then_poly_decay() -> None:
    recipe = recipe_from_dict({**TINY, "steps": 10, "warmup": 4, "poly_power": 0.9})
    factor = schedule_of(recipe).factor
    assert factor(0) == pytest.approx(0.25 * 1.0)
    assert factor(1) == pytest.approx(0.5 * 0.9**0.9)
    assert factor(3) == pytest.approx(1.0 * 0.7**0.9)
    assert factor(5) == pytest.approx(0.5**0.9)
    assert factor(10) == 0.0
    assert schedule_of(recipe.with_overrides(warmup=0)).factor(0) == 1.0


def test_deep_supervision_false_counts_only_the_final_output() -> None:
    torch.manual_seed(0)
    recipe = recipe_from_dict({**TINY, "tasks": ["semseg", "depth"]})
    model = build_for_recipe(recipe, ARCH)
    x = torch.randn(2, 3, 64, 64)
    g = torch.Generator().manual_seed(0)
    targets = {
        "semseg": torch.randint(0, 12, (2, 64, 64), generator=g),
        "depth": torch.rand(2, 64, 64, generator=g) + 1,
    }
    with torch.no_grad():
        output = model(x)
    assert all(output.deep_supervision[name] for name in targets), "medusa should have deep-supervision outputs"
    weights = {"depth": 3.0}
    deep = task_losses(output, targets, model.tasks, weights, deep_supervision=True)
    final = task_losses(output, targets, model.tasks, weights, deep_supervision=False)
    for name, target in targets.items():
        only_final = model.tasks[name].loss(output.logits[name], target) * weights.get(name, 1.0)
        torch.testing.assert_close(final[name], only_final)
        assert deep[name] > final[name]


def test_periodic_evaluation_is_logged_and_matches_a_standalone_evaluation(tmp_path: Path) -> None:
    from medusa_zoo.training import eval_loader, evaluate

    recipe = load_recipe(write_recipe(tmp_path, eval_every=2, steps=4))
    result = train(recipe, ARCH, out=tmp_path / "run", threads=1, progress=False)
    lines = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    periodic = [line for line in lines if "eval" in line and not line.get("final")]
    assert [line["step"] for line in periodic] == [2]  # every eval_every steps, the last one is the final eval
    final = [line for line in lines if line.get("final")]
    assert len(final) == 1 and final[0]["eval"] == result.metrics
    again = evaluate(result.model, eval_loader(recipe, result.model, num_workers=0), recipe.dataset)
    assert again == result.metrics
