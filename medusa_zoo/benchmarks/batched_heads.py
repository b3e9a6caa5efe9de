"""Would Medusa's per-task heads run faster batched over tasks? Each stage timed both ways.

    python -m medusa_zoo benchmark heads [--backbone hrnet18] [--tasks 4]

Medusa's heads are structurally identical, so the T tasks' convolutions of one stage could run
as one grouped convolution (or, where the tasks read the same input, one wider convolution).
This times, at the backbone's feature sizes for its design input (HRNet-18: 480x640), batch 1,
channels_last, every stage one task at a time and batched: the SFA masks (shared input: one
wide first convolution, a grouped second one), the refinement 3x3 convolutions (grouped), and
the 1x1 fusion convolution over the concatenated scales (grouped). Folded BatchNorms (biases)
are included; on CUDA the same runs there too. Ratios below 1 favour batching.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..backbones import BACKBONES, build_backbone
from .latency import interleaved


def _pair(one: Callable[[], object], batched: Callable[[], object], synchronize: Callable[[], None]) -> tuple[float, float]:
    """Milliseconds (median) of the one-by-one and the batched call, interleaved."""
    ms = interleaved({"one": one, "batched": batched}, 15, synchronize)
    return ms["one"], ms["batched"]


def stages(backbone: str = "hrnet18", tasks: int = 4, device: str = "cpu") -> list[dict[str, Any]]:
    """One row per (stage, level): milliseconds one task at a time (all T tasks) and batched."""
    row = BACKBONES.get(backbone)
    info = build_backbone(row.spec).feature_info
    h, w = row.input_size
    sizes = [(h // s, w // s) for s in info.strides]
    g = torch.Generator().manual_seed(0)
    cl = torch.channels_last

    def tensor(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g).to(device).contiguous(memory_format=cl)

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    rows = []
    for level, (c, (fh, fw)) in enumerate(zip(info.channels, sizes)):
        hidden = max(c // 4, 8)
        x = tensor(1, c, fh, fw)
        w1 = [torch.randn(hidden, c, 1, 1, generator=g).to(device) for _ in range(tasks)]
        w2 = [torch.randn(c, hidden, 1, 1, generator=g).to(device) for _ in range(tasks)]
        w1c, w2c = torch.cat(w1), torch.cat(w2)
        one, batched = _pair(
            lambda: [torch.sigmoid(F.conv2d(F.relu(F.conv2d(x, a)), b)) * x for a, b in zip(w1, w2)],
            lambda: torch.sigmoid(F.conv2d(F.relu(F.conv2d(x, w1c)), w2c, groups=tasks)) * x.repeat(1, tasks, 1, 1),
            sync,
        )
        rows.append({"stage": "SFA mask", "level": level, "one_by_one_ms": one, "batched_ms": batched})
        xs = [tensor(1, c, fh, fw) for _ in range(tasks)]
        ks = [torch.randn(c, c, 3, 3, generator=g).to(device) for _ in range(tasks)]
        xc, kc = torch.cat(xs, 1).contiguous(memory_format=cl), torch.cat(ks)
        one, batched = _pair(lambda: [F.conv2d(a, k, padding=1) for a, k in zip(xs, ks)],
                             lambda: F.conv2d(xc, kc, padding=1, groups=tasks), sync)
        rows.append({"stage": "refinement 3x3", "level": level, "one_by_one_ms": one, "batched_ms": batched})
    total = sum(info.channels)
    fused = [tensor(1, total, *sizes[0]) for _ in range(tasks)]
    weights = [torch.randn(total, total, 1, 1, generator=g).to(device) for _ in range(tasks)]
    biases = [torch.randn(total, generator=g).to(device) for _ in range(tasks)]
    fc, wc, bc = torch.cat(fused, 1).contiguous(memory_format=cl), torch.cat(weights), torch.cat(biases)
    one, batched = _pair(lambda: [F.conv2d(a, k, b) for a, k, b in zip(fused, weights, biases)],
                         lambda: F.conv2d(fc, wc, bc, groups=tasks), sync)
    rows.append({"stage": f"fusion 1x1 ({total} channels)", "level": 0, "one_by_one_ms": one, "batched_ms": batched})
    for r in rows:
        r["one_by_one_ms"], r["batched_ms"] = round(r["one_by_one_ms"], 2), round(r["batched_ms"], 2)
        r["ratio"] = round(r["batched_ms"] / r["one_by_one_ms"], 3)
    return rows


def run(backbone: str = "hrnet18", tasks: int = 4, threads: int = 2) -> dict[str, Any]:
    """The results document (CPU, and CUDA when present)."""
    torch.set_num_threads(threads)
    document: dict[str, Any] = {"kind": "batched_heads", "backbone": backbone, "tasks": tasks, "threads": threads,
                                "torch": torch.__version__, "cpu": stages(backbone, tasks, "cpu")}
    if torch.cuda.is_available():
        document["cuda"] = stages(backbone, tasks, "cuda")
    return document


def markdown(document: dict[str, Any]) -> str:
    """The table README pastes: per stage, one task at a time against batched."""
    lines = []
    for device in ("cpu", "cuda"):
        if device not in document:
            continue
        one = sum(r["one_by_one_ms"] for r in document[device])
        both = sum(r["batched_ms"] for r in document[device])
        lines += [f"| {device}: stage | level | {document['tasks']} tasks one by one (ms) | batched (ms) | batched / one by one |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['stage']} | {r['level']} | {r['one_by_one_ms']:.2f} | {r['batched_ms']:.2f} | {r['ratio']:.2f} |"
                  for r in document[device]]
        lines += [f"| all stages | | {one:.1f} | {both:.1f} | {both / one:.2f} |", ""]
    return "\n".join(lines).rstrip()
