"""The training engine: one function that trains any registry architecture from a recipe.

Single process, or one process per GPU / CPU worker under ``torchrun`` (DDP; gloo on CPU,
NCCL on CUDA). Rank 0 logs, evaluates and writes checkpoints; every rank reads its share of
the same deterministic sample stream (:mod:`.data`), so a run resumes bit-exactly.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from safetensors import SafetensorError
from tqdm.auto import tqdm

from ..data import train_transforms
from ..devices import resolve_device
from ..errors import MedusaZooError, RecipeError, TrainingError
from ..heads import HEADS
from ..models.network import MultiTaskNet
from ..models.zoo import ARCHITECTURES
from .checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from .data import StreamBatches, StreamSamples, build_dataset, collate, dataset_tasks, evaluation_loader
from .evaluation import Results, evaluate
from .optimization import Optimization, Schedule
from .recipe import Recipe
from .run_lock import RunLock


@dataclass
class RunResult:
    """What :func:`train` leaves behind: the trained network and where its files are."""

    model: MultiTaskNet
    run_dir: Path
    steps: int
    metrics: Results
    wall_s: float


@dataclass(frozen=True)
class _Dist:
    rank: int = 0
    world: int = 1
    local: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def run_name(arch: str, tasks: list[str] | None, recipe: Recipe) -> str:
    """Default run folder name: the architecture, plus the tasks when they differ from the recipe's."""
    if tasks is None or list(tasks) == list(recipe.tasks):
        return arch
    return f"{arch}-{'-'.join(tasks)}"


def build_for_recipe(recipe: Recipe, arch: str, tasks: list[str] | None = None) -> MultiTaskNet:
    """The untrained network of ``arch`` for the recipe's dataset and tasks, seeded by the recipe.

    The recipe's ``auxiliary_tasks`` become the head's ``auxiliary`` option (MTI-Net only).
    """
    if arch not in recipe.architectures:
        raise RecipeError(f"recipe {recipe.name!r} trains {list(recipe.architectures)}, not {arch!r}")
    row = ARCHITECTURES.get(arch)
    names = list(tasks) if tasks is not None else list(recipe.tasks)
    options = _auxiliary_option(recipe, arch, names)
    single = row.head == "stl"
    if single and len(names) != 1:
        raise RecipeError(f"{arch} is single-task: choose one task with --task (one of {list(recipe.tasks)})")
    config = row.config(list(dataset_tasks(recipe.dataset, names)), **options)
    size = recipe.eval_size or recipe.train_size
    config = dataclasses.replace(config, preprocessing=dataclasses.replace(config.preprocessing, input_size=size))
    torch.manual_seed(recipe.seed)
    return MultiTaskNet(config, backbone_weights=recipe.backbone_weights)


def _auxiliary_option(recipe: Recipe, arch: str, names: list[str]) -> dict[str, Any]:
    """The head option that gives ``arch`` the recipe's auxiliary tasks (none without them)."""
    aux = list(recipe.auxiliary_tasks)
    if not aux:
        return {}
    head = ARCHITECTURES.get(arch).head
    if "auxiliary" not in HEADS.get(head).option_names():
        takers = [h for h in HEADS.names() if "auxiliary" in HEADS.get(h).option_names()]
        raise RecipeError(
            f"recipe {recipe.name!r} has auxiliary_tasks {aux}, which {arch} (head {head!r}) cannot take: only MTI-Net "
            f"supervises auxiliary tasks inside its decoder (head {', '.join(map(repr, takers))}); train an MTI-Net "
            "architecture with this recipe, or use a recipe without auxiliary_tasks"
        )
    overlap = [t for t in names if t in aux]
    if overlap:
        raise RecipeError(f"task(s) {overlap} are auxiliary tasks of recipe {recipe.name!r}; choose among its tasks "
                          f"{list(recipe.tasks)}")
    return {"auxiliary": {t.name: t.out_channels for t in dataset_tasks(recipe.dataset, aux)}}


def _init_distributed(device: str) -> tuple[_Dist, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return _Dist(), resolve_device(device)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device != "cpu"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local)
        return _Dist(rank, world, local), torch.device("cuda", local)
    return _Dist(rank, world, local), torch.device("cpu")


def schedule_of(recipe: Recipe) -> Schedule:
    """The optimisation settings a recipe names."""
    return Schedule(
        steps=recipe.steps, lr=recipe.lr, weight_decay=recipe.weight_decay, optimizer=recipe.optimizer,
        warmup=recipe.warmup, poly_power=recipe.poly_power, loss_weights=dict(recipe.loss_weights),
        deep_supervision=recipe.deep_supervision, amp=recipe.amp, channels_last=recipe.channels_last,
    )


def eval_loader(recipe: Recipe, model: MultiTaskNet, images: int | None = None, num_workers: int | None = None):
    """A loader over the recipe's evaluation split (first ``images`` samples, default the recipe's)."""
    return evaluation_loader(
        recipe.dataset, recipe.eval_split, list(model.tasks), dict(recipe.data), images or recipe.eval_images,
        recipe.eval_size, model.config.preprocessing, num_workers=recipe.num_workers if num_workers is None else num_workers,
    )


class _Log:
    """JSON lines in ``log.jsonl``; on resume, lines past the resumed step are dropped."""

    def __init__(self, path: Path, resumed_step: int, enabled: bool) -> None:
        self.path, self.enabled = path, enabled
        if enabled and (path.exists() or path.is_symlink()):
            try:
                text = path.read_text(errors="replace")
                kept = [line for line in text.splitlines() if _logged_step(line) <= resumed_step]
                path.write_text("".join(line + "\n" for line in kept))
            except OSError as bad:
                raise _file_error(path, bad, "the training log") from None

    def write(self, **entry: Any) -> None:
        if self.enabled:
            try:
                with self.path.open("a") as handle:
                    handle.write(json.dumps(entry) + "\n")
            except OSError as bad:
                raise _file_error(self.path, bad, "the training log") from None


def _file_error(path: Path, bad: Exception, what: str) -> TrainingError:
    """A TrainingError for a failed read or write of one of the run's files."""
    reason = getattr(bad, "strerror", None) or bad
    return TrainingError(
        f"cannot write or read {what} {path} ({reason}); free space or fix the path (a folder or an unwritable "
        "file where a file should be), then run the same command again: the checkpoints are intact"
    )


def _logged_step(line: str) -> float:
    """The step of one log line; a line cut short by a kill (or not ours) counts as past any step (dropped)."""
    try:
        step = json.loads(line).get("step", 0)
    except (ValueError, AttributeError):
        return float("inf")
    return step if isinstance(step, (int, float)) and not isinstance(step, bool) else float("inf")


def _resume(run_dir: Path, recipe: Recipe, arch: str, tasks: list[str], resume: bool):
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        return None
    if not resume:
        raise TrainingError(
            f"{run_dir} already holds checkpoints of a run; resume it (drop --no-resume) or choose another --out"
        )
    step, weights, state, info = load_checkpoint(checkpoints[-1])
    expected = {"recipe": recipe.to_dict(), "arch": arch, "tasks": tasks}
    changed = [k for k in expected if info.get(k) != expected[k]]
    if changed:
        raise TrainingError(
            f"{checkpoints[-1]} was written by a run with a different {', '.join(changed)}; "
            "resume with the same recipe, architecture and tasks, or choose another --out"
        )
    if step > recipe.steps:
        raise TrainingError(
            f"{checkpoints[-1]} is at step {step}, past the recipe's {recipe.steps} steps, so it was not written by "
            "this run; delete it to resume from an older checkpoint, or delete the run folder to start again"
        )
    return step, weights, state


def _check_count(name: str, value: object, allow_none: bool = True) -> None:
    """``value`` must be a positive int (or None): bools, floats, 0 and negatives are refused."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TrainingError(f"{name} must be a positive integer{' or None' if allow_none else ''}, got {value!r}")


def _prepare_folder(run_dir: Path) -> None:
    """Create the run folder; a file in its place, or a folder that cannot be made, is a TrainingError."""
    if run_dir.exists() and not run_dir.is_dir():
        raise TrainingError(f"--out {run_dir} is a file, not a run folder; choose another --out")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as bad:
        raise TrainingError(f"cannot create the run folder {run_dir} ({bad.strerror or bad}); "
                            "choose another --out") from None


class _Session:
    """The state of one training call: network, optimiser, schedule, AMP and where files go."""

    def __init__(self, recipe: Recipe, arch: str, tasks: list[str] | None, out: str | Path | None,
                 device: str, threads: int | None) -> None:
        _check_count("threads", threads)
        self.recipe, self.arch = recipe, arch
        self.ranks, self.device = _init_distributed(device)
        if self.device.type == "cpu":
            local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
            torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // local))
        self.model = build_for_recipe(recipe, arch, tasks)
        self.names = list(self.model.tasks)
        # supervised inside the decoder only: loaded and trained, never evaluated
        self.auxiliary = {t.name: t for t in dataset_tasks(recipe.dataset, recipe.auxiliary_tasks)}
        self.run_dir = Path(out) if out is not None else Path("runs") / recipe.name / run_name(arch, tasks, recipe)
        self.lock: AbstractContextManager = nullcontext()
        if self.ranks.main:  # every rank writes through rank 0: it alone holds the folder's lock
            _prepare_folder(self.run_dir)
            self.lock = RunLock(self.run_dir)
        self.optimization = Optimization(self.model, schedule_of(recipe), self.device)

    def restore(self, resume: bool) -> tuple[int, torch.Tensor | None]:
        """Load the newest checkpoint if any: (its step, its RNG state), else (0, None)."""
        resumed = _resume(self.run_dir, self.recipe, self.arch, self.names, resume)
        if resumed is None:
            return 0, None
        step, weights, state = resumed
        newest = list_checkpoints(self.run_dir)[-1]
        try:
            self.model.load_state_dict(weights)
        except (RuntimeError, ValueError, KeyError, MedusaZooError) as bad:
            raise TrainingError(f"checkpoint {newest / 'model.safetensors'} does not fit {self.arch} "
                                f"({str(bad)[:300]}); delete it to resume from an older one (or delete the run folder)") from None
        try:
            self.optimization.load_state_dict(state)
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError, MedusaZooError) as bad:
            raise TrainingError(f"checkpoint {newest / 'state.pt'} holds an optimiser state that does not fit "
                                f"({type(bad).__name__}: {str(bad)[:200]}); delete it to resume from an older one "
                                "(or delete the run folder)") from None
        return step, state["rng"]

    def place(self) -> torch.nn.Module:
        """Move everything to the device; the module to call (DDP-wrapped under torchrun)."""
        self.model.to(self.device)
        if self.optimization.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.optimization.move_state()
        if self.ranks.world == 1:
            return self.model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)

    def loader(self, start: int) -> torch.utils.data.DataLoader:
        """This rank's endless batches from step ``start`` on."""
        recipe = self.recipe
        data = build_dataset(recipe.dataset, "train", [*self.names, *self.auxiliary], dict(recipe.data))
        transform = train_transforms(recipe.dataset, recipe.train_size, crop=recipe.crop,
                                     preprocessing=self.model.config.preprocessing)
        batches = StreamBatches(len(data), recipe.batch_size, recipe.seed, start, self.ranks.rank, self.ranks.world)
        return torch.utils.data.DataLoader(
            StreamSamples(data, transform, recipe.seed), batch_sampler=batches, num_workers=recipe.num_workers,
            collate_fn=collate, pin_memory=self.device.type == "cuda",
        )

    def step(self, net: torch.nn.Module, batch: dict, number: int) -> tuple[dict[str, torch.Tensor], float]:
        """One optimiser step on ``batch``: (weighted loss per task, auxiliary ones included; the learning rate used)."""
        return self.optimization.step(net, batch, {**self.model.tasks, **self.auxiliary}, number)

    def save(self, step: int) -> None:
        """Checkpoint after ``step`` steps (rank 0 writes; every rank waits for it)."""
        if self.ranks.main:
            state = {**self.optimization.state_dict(), "rng": torch.get_rng_state()}
            info = {"recipe": self.recipe.to_dict(), "arch": self.arch, "tasks": self.names}
            save_checkpoint(self.run_dir, step, self.model.state_dict(), state, info)
        if self.ranks.world > 1:
            dist.barrier()

    def evaluate(self, progress: bool = False) -> Results:
        """Metrics on the recipe's evaluation split."""
        loader = eval_loader(self.recipe, self.model)
        return evaluate(self.model, loader, self.recipe.dataset, progress=progress, amp=self.optimization.amp)

    def finish(self, log: _Log, progress: bool, wall_s: float) -> Results:
        """Rank 0: final evaluation, ``model/`` and ``metrics.json``."""
        recipe = self.recipe
        metrics = self.evaluate(progress)
        summary = {"dataset": recipe.dataset, "split": recipe.eval_split, "images": recipe.eval_images, "values": metrics}
        record = {**summary, "arch": self.arch, "steps": recipe.steps, "wall_s": round(wall_s, 1)}
        try:
            self.model.save_pretrained(self.run_dir / "model", metrics=summary, recipe=recipe.name)
            (self.run_dir / "metrics.json").write_text(json.dumps(record, indent=2) + "\n")
        except (OSError, RuntimeError, SafetensorError) as bad:  # safetensors reports a full disk as its own error
            if isinstance(bad, MedusaZooError):
                raise
            raise _file_error(self.run_dir / "model", bad, "the trained model") from None
        log.write(step=recipe.steps, eval=metrics, final=True)
        return metrics


def train(
    recipe: Recipe,
    arch: str,
    *,
    tasks: list[str] | None = None,
    out: str | Path | None = None,
    resume: bool = True,
    device: str = "auto",
    threads: int | None = None,
    progress: bool = True,
    stop_after: int | None = None,
) -> RunResult:
    """Train ``arch`` with ``recipe`` into ``out`` (default ``runs/<recipe>/<arch>``).

    Checkpoints every ``recipe.checkpoint_every`` steps; when ``out`` already holds one of the
    same recipe, training continues from the newest (``resume=False`` refuses instead).
    ``stop_after`` ends this call after that many steps (with a checkpoint), as if killed.
    The run folder is locked for the whole call (:class:`~.run_lock.RunLock`): a second trainer
    on it gets :class:`~medusa_zoo.errors.RunLockedError`. Damaged resume state, or a checkpoint
    that cannot be written (a full disk), raises :class:`~medusa_zoo.errors.TrainingError`; the
    last good checkpoint is kept, so the same call resumes once the cause is fixed.
    At the end, rank 0 evaluates on the recipe's evaluation split and writes ``model/``
    (``config.json`` + ``model.safetensors`` + card) and ``metrics.json``.
    """
    started = time.perf_counter()
    _check_count("stop_after", stop_after)
    previous_threads = torch.get_num_threads()
    try:  # the thread count is this call's: a failed or finished run leaves the caller's as it was
        session = _Session(recipe, arch, tasks, out, device, threads)
        with session.lock:
            return _run(session, resume, progress, stop_after, started)
    finally:
        torch.set_num_threads(previous_threads)


def _run(session: _Session, resume: bool, progress: bool, stop_after: int | None, started: float) -> RunResult:
    """The body of :func:`train`, while rank 0 holds the run folder's lock."""
    recipe, arch = session.recipe, session.arch
    main = session.ranks.main
    start, rng = session.restore(resume)
    net = session.place()
    log = _Log(session.run_dir / "log.jsonl", start, main)
    end = recipe.steps if stop_after is None else min(recipe.steps, start + stop_after)
    if main and start:
        print(f"resuming {session.run_dir} from step {start}", flush=True)
    bar = tqdm(total=recipe.steps, initial=start, desc=arch, disable=not (progress and main), dynamic_ncols=True)
    batches = iter(session.loader(start))
    if rng is not None:  # after iter(loader), which draws a base seed from the global RNG
        torch.set_rng_state(rng)
    window_start, window_images, step = time.perf_counter(), 0, start
    for step in range(start + 1, end + 1):
        losses, lr = session.step(net, next(batches), step)
        window_images += recipe.batch_size
        bar.update(1)
        if step % recipe.log_every == 0 or step == end:
            rate = window_images / max(1e-9, time.perf_counter() - window_start)
            values = {k: round(float(v.detach()), 5) for k, v in losses.items()}
            bar.set_postfix({**{k[:6]: f"{v:.3f}" for k, v in values.items()}, "img/s": f"{rate:.1f}"})
            log.write(step=step, loss=round(sum(values.values()), 5), losses=values, lr=lr,
                      images_per_s=round(rate, 2), elapsed_s=round(time.perf_counter() - started, 1))
            window_start, window_images = time.perf_counter(), 0
        if recipe.eval_every and step % recipe.eval_every == 0 and step < recipe.steps and main:
            log.write(step=step, eval=session.evaluate())
        if step % recipe.checkpoint_every == 0 or step == end:
            session.save(step)
    bar.close()
    metrics: Results = {}
    if step >= recipe.steps and main:
        metrics = session.finish(log, progress, time.perf_counter() - started)
    if session.ranks.world > 1:
        dist.barrier()
    return RunResult(session.model, session.run_dir, step, metrics, time.perf_counter() - started)
