"""The optimisation step both :func:`~medusa_zoo.training.train` and :func:`~medusa_zoo.finetune` use.

Adam / AdamW / SGD over the parameters that require gradients, linear warm-up then poly
decay, AMP (bf16, or fp16 with a gradient scaler) on CUDA only, channels_last memory on CPU and CUDA, the
multi-task loss with deep supervision, and a clear error when the loss stops being finite.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from ..errors import TrainingError
from ..losses import task_losses

AMP_TYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass(frozen=True)
class Schedule:
    """Optimiser settings: ``lr`` peaks after ``warmup`` steps, then decays as ``(1 - step/steps)^poly_power``."""

    steps: int
    lr: float
    weight_decay: float = 1e-4
    optimizer: str = "adam"
    warmup: int = 0
    poly_power: float = 0.9
    loss_weights: Mapping[str, float] = field(default_factory=dict)
    deep_supervision: bool = True
    amp: str | None = None
    channels_last: bool = False

    def __post_init__(self) -> None:
        check_int("steps", self.steps, 1)
        check_int("warmup", self.warmup, 0)
        check_number("lr", self.lr, positive=True)
        check_number("weight_decay", self.weight_decay)
        check_number("poly_power", self.poly_power)
        if self.optimizer not in OPTIMIZERS:
            raise TrainingError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZERS}")
        if self.amp is not None and self.amp not in AMP_TYPES:
            raise TrainingError(f"amp must be None or one of {tuple(AMP_TYPES)}, got {self.amp!r}")

    def factor(self, step: int) -> float:
        """Multiplier of ``lr`` at ``step`` (0-based)."""
        warm = min(1.0, (step + 1) / self.warmup) if self.warmup else 1.0
        return warm * max(0.0, 1.0 - step / self.steps) ** self.poly_power


def check_int(name: str, value: object, least: int) -> int:
    """``value`` as an int of at least ``least``; bools, floats and smaller values raise :class:`TrainingError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise TrainingError(f"{name} must be {kind}, got {value!r}")
    return value


def check_number(name: str, value: object, positive: bool = False) -> float:
    """``value`` as a finite float >= 0 (> 0 when ``positive``); bools, NaN and infinities raise TrainingError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 \
            or (positive and value == 0):
        raise TrainingError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


class Optimization:
    """Optimiser, schedule, AMP state and one training step for ``model`` on ``device``."""

    def __init__(self, model: torch.nn.Module, schedule: Schedule, device: torch.device) -> None:
        self.model, self.schedule, self.device = model, schedule, device
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise TrainingError("nothing to train: every parameter is frozen (see model.freeze / model.unfreeze)")
        if schedule.optimizer == "adam":
            self.optimizer: torch.optim.Optimizer = torch.optim.Adam(params, lr=schedule.lr, weight_decay=schedule.weight_decay)
        elif schedule.optimizer == "adamw":
            self.optimizer = torch.optim.AdamW(params, lr=schedule.lr, weight_decay=schedule.weight_decay)
        elif schedule.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(params, lr=schedule.lr, momentum=0.9, weight_decay=schedule.weight_decay)
        else:
            raise TrainingError(f"unknown optimizer {schedule.optimizer!r}; choose one of {OPTIMIZERS}")
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule.factor)
        self.amp = AMP_TYPES.get(schedule.amp) if device.type == "cuda" and schedule.amp else None
        self.scaler = torch.amp.GradScaler("cuda") if self.amp == torch.float16 else None
        self.channels_last = schedule.channels_last  # 1.4x faster CPU steps too (benchmark training)

    def step(self, net: torch.nn.Module, batch: dict, tasks: Mapping, number: int) -> tuple[dict[str, torch.Tensor], float]:
        """One optimiser step of ``net`` on ``batch`` for ``tasks``: (weighted loss per task, lr used)."""
        images = batch["image"].to(self.device, non_blocking=True)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        targets = {name: batch[name].to(self.device, non_blocking=True) for name in tasks}
        with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
            output = net(images)
        schedule = self.schedule
        losses = task_losses(output, targets, tasks, schedule.loss_weights, schedule.deep_supervision)
        total = sum(losses.values())
        if not torch.isfinite(total):
            raise TrainingError(
                f"loss became {float(total.detach())} at step {number} "
                f"({ {k: float(v.detach()) for k, v in losses.items()} }); "
                "lower the learning rate or check the data"
            )
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            total.backward()
            self.optimizer.step()
        lr = self.scheduler.get_last_lr()[0]
        self.scheduler.step()
        return losses, lr

    def state_dict(self) -> dict:
        """Optimiser, schedule and scaler state (for a checkpoint)."""
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler is not None else {}}

    def load_state_dict(self, state: dict) -> None:
        """Inverse of :meth:`state_dict`; moment buffers of the wrong shape raise :class:`TrainingError`."""
        self.optimizer.load_state_dict(state["optimizer"])
        for param, values in self.optimizer.state.items():
            wrong = [k for k, v in values.items()
                     if k != "step" and isinstance(v, torch.Tensor) and v.shape != param.shape]
            if wrong:
                raise TrainingError(f"optimiser state {wrong} has shape {tuple(values[wrong[0]].shape)}, "
                                    f"its parameter {tuple(param.shape)}")
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])

    def move_state(self) -> None:
        """Move the optimiser's moment buffers to the device (after a CPU-side restore)."""
        for state in self.optimizer.state.values():
            for key, value in state.items():
                if isinstance(value, torch.Tensor) and key != "step":
                    state[key] = value.to(self.device)
