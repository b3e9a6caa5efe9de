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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from ..data import eval_transforms, train_transforms
from ..devices import resolve_device
from ..errors import RecipeError, TrainingError
from ..losses import task_losses
from ..models.network import MultiTaskNet
from ..models.zoo import ARCHITECTURES
from .checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from .data import StreamBatches, StreamSamples, Transformed, build_dataset, collate, dataset_tasks
from .evaluation import Results, evaluate
from .recipe import Recipe

_AMP = {"bf16": torch.bfloat16, "fp16": torch.float16}


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
    """The untrained network of ``arch`` for the recipe's dataset and tasks, seeded by the recipe."""
    if arch not in recipe.architectures:
        raise RecipeError(f"recipe {recipe.name!r} trains {list(recipe.architectures)}, not {arch!r}")
    row = ARCHITECTURES.get(arch)
    names = list(tasks) if tasks is not None else list(recipe.tasks)
    single = row.head == "stl"
    if single and len(names) != 1:
        raise RecipeError(f"{arch} is single-task: choose one task with --task (one of {list(recipe.tasks)})")
    config = row.config(list(dataset_tasks(recipe.dataset, names)))
    size = recipe.eval_size or recipe.train_size
    config = dataclasses.replace(config, preprocessing=dataclasses.replace(config.preprocessing, input_size=size))
    torch.manual_seed(recipe.seed)
    return MultiTaskNet(config)


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


def _schedule(recipe: Recipe):  # noqa: ANN202 - a LambdaLR factor
    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / recipe.warmup) if recipe.warmup else 1.0
        return warm * max(0.0, 1.0 - step / recipe.steps) ** recipe.poly_power

    return factor


def _optimizer(recipe: Recipe, model: torch.nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(params, lr=recipe.lr, momentum=0.9, weight_decay=recipe.weight_decay)


def eval_loader(recipe: Recipe, model: MultiTaskNet, images: int | None = None, num_workers: int | None = None):
    """A loader over the recipe's evaluation split (first ``images`` samples, default the recipe's)."""
    data = build_dataset(recipe.dataset, recipe.eval_split, list(model.tasks), dict(recipe.data), images or recipe.eval_images)
    transform = eval_transforms(recipe.eval_size, preprocessing=model.config.preprocessing)
    return torch.utils.data.DataLoader(
        Transformed(data, transform), batch_size=8, num_workers=recipe.num_workers if num_workers is None else num_workers,
        collate_fn=collate,
    )


class _Log:
    """JSON lines in ``log.jsonl``; on resume, lines past the resumed step are dropped."""

    def __init__(self, path: Path, resumed_step: int, enabled: bool) -> None:
        self.path, self.enabled = path, enabled
        if enabled and path.exists():
            kept = [line for line in path.read_text().splitlines() if _logged_step(line) <= resumed_step]
            path.write_text("".join(line + "\n" for line in kept))

    def write(self, **entry: Any) -> None:
        if self.enabled:
            with self.path.open("a") as handle:
                handle.write(json.dumps(entry) + "\n")


def _logged_step(line: str) -> float:
    """The step of one log line; a line cut short by a kill counts as past any step (dropped)."""
    try:
        return json.loads(line).get("step", 0)
    except (json.JSONDecodeError, AttributeError):
        return float("inf")


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
    return step, weights, state


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
    At the end, rank 0 evaluates on the recipe's evaluation split and writes ``model/``
    (``config.json`` + ``model.safetensors`` + card) and ``metrics.json``.
    """
    started = time.perf_counter()
    ranks, dev = _init_distributed(device)
    if dev.type == "cpu":
        torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))))
    model = build_for_recipe(recipe, arch, tasks)
    names = list(model.tasks)
    run_dir = Path(out) if out is not None else Path("runs") / recipe.name / run_name(arch, tasks, recipe)
    if ranks.main:
        run_dir.mkdir(parents=True, exist_ok=True)
    optimizer = _optimizer(recipe, model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(recipe))
    amp = _AMP.get(recipe.amp) if dev.type == "cuda" and recipe.amp else None
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    resumed = _resume(run_dir, recipe, arch, names, resume)
    start = 0
    if resumed is not None:
        start, weights, state = resumed
        model.load_state_dict(weights)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
    model.to(dev)
    if dev.type == "cuda" and recipe.channels_last:
        model.to(memory_format=torch.channels_last)
    _move_optimizer_state(optimizer, dev)
    net: torch.nn.Module = model
    if ranks.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

    train_data = build_dataset(recipe.dataset, "train", names, dict(recipe.data))
    transform = train_transforms(recipe.dataset, recipe.train_size, crop=recipe.crop, preprocessing=model.config.preprocessing)
    loader = torch.utils.data.DataLoader(
        StreamSamples(train_data, transform, recipe.seed),
        batch_sampler=StreamBatches(len(train_data), recipe.batch_size, recipe.seed, start, ranks.rank, ranks.world),
        num_workers=recipe.num_workers, collate_fn=collate, pin_memory=dev.type == "cuda",
    )
    log = _Log(run_dir / "log.jsonl", start, ranks.main)
    end = recipe.steps if stop_after is None else min(recipe.steps, start + stop_after)
    if ranks.main and start:
        print(f"resuming {run_dir} from step {start}", flush=True)
    bar = tqdm(total=recipe.steps, initial=start, desc=f"{arch}", disable=not (progress and ranks.main), dynamic_ncols=True)
    batches, window_start, window_images = iter(loader), time.perf_counter(), 0
    if resumed is not None:  # after iter(loader), which draws a base seed from the global RNG
        torch.set_rng_state(resumed[2]["rng"])
    step = start
    for step in range(start + 1, end + 1):
        batch = next(batches)
        images = batch["image"].to(dev, non_blocking=True)
        if dev.type == "cuda" and recipe.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        targets = {name: batch[name].to(dev, non_blocking=True) for name in names}
        with torch.autocast(dev.type, dtype=amp, enabled=amp is not None):
            output = net(images)
        losses = task_losses(output, targets, model.tasks, recipe.loss_weights, recipe.deep_supervision)
        total = sum(losses.values())
        if not torch.isfinite(total):
            raise TrainingError(
                f"loss became {float(total)} at step {step} ({ {k: float(v) for k, v in losses.items()} }); "
                "lower the learning rate or check the data"
            )
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(total).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            total.backward()
            optimizer.step()
        lr = scheduler.get_last_lr()[0]  # the rate this step used
        scheduler.step()
        window_images += recipe.batch_size
        bar.update(1)
        if step % recipe.log_every == 0 or step == end:
            rate = window_images / max(1e-9, time.perf_counter() - window_start)
            values = {k: round(float(v.detach()), 5) for k, v in losses.items()}
            bar.set_postfix({**{k[:6]: f"{v:.3f}" for k, v in values.items()}, "img/s": f"{rate:.1f}"})
            log.write(step=step, loss=round(float(total.detach()), 5), losses=values, lr=lr,
                      images_per_s=round(rate, 2), elapsed_s=round(time.perf_counter() - started, 1))
            window_start, window_images = time.perf_counter(), 0
        if recipe.eval_every and step % recipe.eval_every == 0 and step < recipe.steps and ranks.main:
            log.write(step=step, eval=evaluate(model, eval_loader(recipe, model), recipe.dataset, amp=amp))
        if step % recipe.checkpoint_every == 0 or step == end:
            if ranks.main:
                state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                         "scaler": scaler.state_dict() if scaler is not None else {}, "rng": torch.get_rng_state()}
                info = {"recipe": recipe.to_dict(), "arch": arch, "tasks": names}
                save_checkpoint(run_dir, step, model.state_dict(), state, info)
            if ranks.world > 1:
                dist.barrier()
    bar.close()
    metrics: Results = {}
    if step >= recipe.steps and ranks.main:
        metrics = evaluate(model, eval_loader(recipe, model), recipe.dataset, progress=progress, amp=amp)
        summary = {"dataset": recipe.dataset, "split": recipe.eval_split, "images": recipe.eval_images, "values": metrics}
        model.save_pretrained(run_dir / "model", metrics=summary, recipe=recipe.name)
        wall = time.perf_counter() - started
        (run_dir / "metrics.json").write_text(json.dumps({**summary, "arch": arch, "steps": recipe.steps,
                                                          "wall_s": round(wall, 1)}, indent=2) + "\n")
        log.write(step=step, eval=metrics, final=True)
    if ranks.world > 1:
        dist.barrier()
    return RunResult(model, run_dir, step, metrics, time.perf_counter() - started)


def _move_optimizer_state(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    for state in optimizer.state.values():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and key != "step":
                state[key] = value.to(device)

