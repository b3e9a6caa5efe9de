"""The registry of head types and the one function that builds a decoder from it."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..backbones import FeatureInfo
from ..errors import IncompatibleConfigError
from ..registry import Registry
from .decoder import Decoder, IndependentHeads, TaskHead
from .hrnet_head import HRNetHead
from .medusa import MedusaHead
from .mtinet import MTINetDecoder
from .options import check_head_options
from .padnet import PADNetDecoder


@dataclass(frozen=True)
class HeadType:
    """A kind of decoder: per-task heads (``task_head``) or one joint module (``joint``).

    Per-task heads are independent, so tasks can be added or removed later; joint decoders
    couple all tasks. ``max_tasks`` limits single-task designs (STL).
    """

    name: str
    description: str
    task_head: type[TaskHead] | None = None
    joint: Callable[..., Decoder] | None = None
    max_tasks: int | None = None

    @property
    def independent(self) -> bool:
        """True when each task has a self-contained head."""
        return self.task_head is not None

    def option_names(self) -> list[str]:
        """Keyword options the head accepts beyond channels and output size."""
        builder = self.task_head or self.joint
        params = list(inspect.signature(builder).parameters)  # type: ignore[arg-type]
        return params[2:]


HEADS: Registry[HeadType] = Registry("head type")
HEADS.register("medusa", HeadType("medusa", "Medusa: per-task SFA + MSA heads on a shared backbone", MedusaHead))
HEADS.register("mtl", HeadType("mtl", "hard parameter sharing: one HRNet head per task", HRNetHead))
HEADS.register("stl", HeadType("stl", "single-task learning: one backbone, one HRNet head", HRNetHead, max_tasks=1))
HEADS.register("mtinet", HeadType("mtinet", "MTI-Net: multi-scale task interaction decoder", joint=MTINetDecoder))
HEADS.register("padnet", HeadType("padnet", "PAD-Net: single-scale multi-modal distillation", joint=PADNetDecoder))


def _check_options(head: HeadType, options: Mapping[str, Any]) -> None:
    check_head_options(head.name, head.option_names(), options)


def build_decoder(
    head_name: str, info: FeatureInfo, out_channels: Mapping[str, int], options: Mapping[str, Any]
) -> Decoder:
    """Build the decoder of head type ``head_name`` for tasks with the given output sizes."""
    head = HEADS.get(head_name)
    _check_options(head, options)
    if head.max_tasks is not None and len(out_channels) > head.max_tasks:
        raise IncompatibleConfigError(
            f"head {head.name!r} takes {head.max_tasks} task(s), got {len(out_channels)}: {list(out_channels)}; "
            "build one model per task"
        )
    if not out_channels:
        raise IncompatibleConfigError("a model needs at least one task")
    try:
        if head.task_head is not None:
            factory = functools.partial(head.task_head, info.channels, **options)  # picklable
            return IndependentHeads({t: factory(k) for t, k in out_channels.items()}, factory)
        return head.joint(info.channels, dict(out_channels), **options)  # type: ignore[misc]
    except IncompatibleConfigError:
        raise
    except (TypeError, ValueError) as bad:
        raise IncompatibleConfigError(f"head {head.name!r} cannot be built with options {dict(options)}: {bad}") from None

