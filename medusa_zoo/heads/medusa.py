"""The Medusa task head: Shared Feature Attention per scale, then Multi-Scale Attention.

Reconstructed from the paper (Spencer, Bowden, Hadfield, CVPRW 2022); the open choices are
constructor options, with defaults recorded in MODEL_CARD.md:

* ``mask``: ``"channel"`` (a full C x H x W sigmoid mask, MTAN-style), ``"spatial"``
  (1 x H x W) or ``"none"`` (ablation: no SFA).
* ``refine_blocks``: residual BasicBlocks refining the attended features at each scale.
* ``scale_attention``: weight the scales by a per-pixel softmax before fusing (MSA); when
  False the scales are simply concatenated (ablation).

:meth:`MedusaHead.record_attention` lets a caller see both attentions for one forward pass
(``model.explain`` is built on it); outside it the forward pass runs exactly as without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import IncompatibleConfigError
from .blocks import basic_blocks, resize_to
from .decoder import TaskHead
from .hrnet_head import HRNetHead

MASK_TYPES = ("channel", "spatial", "none")


class SharedFeatureAttention(nn.Module):
    """Masks the backbone features this task needs: ``a = sigmoid(f(F)) * F``."""

    def __init__(self, channels: int, mask: str) -> None:
        super().__init__()
        hidden = max(channels // 4, 8)
        mask_channels = channels if mask == "channel" else 1
        self.mask = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, mask_channels, 1, bias=False),
            nn.BatchNorm2d(mask_channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mask(x) * x


@dataclass
class AttentionRecord:
    """What one forward pass of a :class:`MedusaHead` attended to (filled by ``record_attention``).

    ``scale_weights``: the MSA softmax, (B, S, h, w) at the finest scale's resolution (None when
    the head has no scale attention). ``masks``: the SFA mask of each scale, (B, C_s or 1, h_s,
    w_s) (empty when ``mask="none"``).
    """

    scale_weights: torch.Tensor | None = None
    masks: list[torch.Tensor] = field(default_factory=list)


class MedusaHead(TaskHead):
    """One Medusa head: per scale SFA -> refinement -> initial prediction; then MSA fusion."""

    _record: AttentionRecord | None = None  # set only inside record_attention()

    def __init__(
        self,
        channels: Sequence[int],
        out_channels: int,
        mask: str = "channel",
        refine_blocks: int = 2,
        scale_attention: bool = True,
    ) -> None:
        super().__init__()
        if mask not in MASK_TYPES:
            raise IncompatibleConfigError(f"mask must be one of {MASK_TYPES}, got {mask!r}")
        self.attend = nn.ModuleList(
            SharedFeatureAttention(c, mask) if mask != "none" else nn.Identity() for c in channels
        )
        self.refine = nn.ModuleList(
            basic_blocks(c, c, refine_blocks) if refine_blocks else nn.Identity() for c in channels
        )
        self.initial = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in channels)
        self.scale_logits = (
            nn.ModuleList(nn.Conv2d(c, 1, 3, padding=1) for c in channels) if scale_attention else None
        )
        self.fusion = HRNetHead(channels, out_channels)

    @property
    def has_scale_attention(self) -> bool:
        """True when the scales are fused by a per-pixel softmax (MSA)."""
        return self.scale_logits is not None

    @property
    def has_feature_mask(self) -> bool:
        """True when each scale's shared features are masked (SFA, ``mask`` not ``"none"``)."""
        return all(isinstance(a, SharedFeatureAttention) for a in self.attend)

    @contextmanager
    def record_attention(self) -> Iterator[AttentionRecord]:
        """Record the MSA weights and SFA masks of the forward passes run inside this block.

        Each pass overwrites the record. The masks are read by forward hooks on the mask
        modules and the weights by one ``is None`` test in :meth:`forward`, both gone on exit,
        so the forward pass outside this block (and its export) is unchanged.
        """
        record = AttentionRecord()
        hooks = [a.mask.register_forward_hook(self._mask_hook(record, i))
                 for i, a in enumerate(self.attend) if isinstance(a, SharedFeatureAttention)]  # fmt: skip
        self._record = record
        try:
            yield record
        finally:
            self._record = None
            for hook in hooks:
                hook.remove()

    @staticmethod
    def _mask_hook(record: AttentionRecord, index: int) -> Callable[[nn.Module, object, torch.Tensor], None]:
        def hook(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
            del record.masks[index:]  # a new pass starts again at scale 0
            record.masks.append(output.detach())

        return hook

    def forward(self, features: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        refined = [refine(attend(f)) for f, attend, refine in zip(features, self.attend, self.refine)]
        initial = [head(g) for head, g in zip(self.initial, refined)]
        if self.scale_logits is not None:
            size = refined[0].shape[-2:]
            logits = torch.cat([resize_to(conv(g), size) for conv, g in zip(self.scale_logits, refined)], dim=1)
            weights = logits.softmax(dim=1)
            if self._record is not None:
                self._record.scale_weights = weights.detach()
            refined = [weights[:, i : i + 1] * resize_to(g, size) for i, g in enumerate(refined)]
        final, _ = self.fusion(refined)
        return final, initial
