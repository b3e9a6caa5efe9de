"""What a task head owns, what it reads (the trunk), and what freezing leaves trainable.

The *trunk* of a head is everything it reads and nothing it owns: the backbone, plus for MTI-Net
/ PAD-Net the jointly trained decoder modules. These functions take the network as a plain
module with its :class:`~medusa_zoo.heads.Decoder`, so the network uses them without this module
importing it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..heads import Decoder


@dataclass(frozen=True)
class FreezeSummary:
    """What :meth:`MultiTaskNet.freeze` left trainable."""

    tasks: tuple[str, ...]
    trainable: int
    frozen: int

    def __str__(self) -> str:
        total = self.trainable + self.frozen
        return (
            f"training {self.trainable:,} of {total:,} parameters ({100 * self.trainable / max(total, 1):.1f}%: "
            f"the head(s) of {', '.join(self.tasks)}); everything else is frozen, BatchNorm statistics included"
        )


def module_prefixes(root: nn.Module, modules: Sequence[nn.Module]) -> list[str]:
    """State-dict prefixes (``"decoder.heads.depth."``) of ``modules`` inside ``root``."""
    names = {id(module): name for name, module in root.named_modules()}
    return [names[id(m)] + "." for m in modules]


def head_module_names(root: nn.Module, decoder: Decoder, name: str) -> list[str]:
    """Qualified names of the modules that belong to task ``name`` alone (what fine-tuning it trains)."""
    return [prefix[:-1] for prefix in module_prefixes(root, decoder.task_modules(name))]


def head_state(root: nn.Module, decoder: Decoder, name: str) -> dict[str, torch.Tensor]:
    """The state-dict entries (parameters and BatchNorm buffers) that belong to task ``name`` alone."""
    prefixes = tuple(module_prefixes(root, decoder.task_modules(name)))
    return {k: v for k, v in root.state_dict().items() if k.startswith(prefixes)}


def trunk_fingerprint(root: nn.Module, decoder: Decoder) -> str:
    """sha256 of everything but the removable tasks' modules: what a head was trained on."""
    owned = [p for t in decoder.removable_tasks() for p in module_prefixes(root, decoder.task_modules(t))]
    return fingerprint(root.state_dict(), owned)


def fingerprint(state: Mapping[str, torch.Tensor], owned: Sequence[str]) -> str:
    """sha256 of a network's trunk: every tensor of ``state`` (names, shapes, float32 values) whose key
    does not start with one of the ``owned`` prefixes (the removable tasks' modules).

    The same for any dtype or device the weights are held in, and unchanged by adding,
    removing or training heads; any change to the backbone (or a coupled decoder's joint
    modules) changes it.
    """
    prefixes = tuple(owned)
    digest = hashlib.sha256()
    for key, value in sorted(state.items()):
        if prefixes and key.startswith(prefixes):
            continue
        tensor = value.detach().cpu()
        tensor = tensor.float() if tensor.is_floating_point() else tensor.long()
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}\n".encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()
