"""Inference latency of Medusa and its baselines, measured side by side in one process.

    python -m medusa_zoo benchmark latency [--settings nyud pascal] [--threads 1 2] [--repeats 5]

For each setting (NYUD-v2: 4 tasks at 480x640; PASCAL-Context: 5 tasks at 512x512) and thread
count, every network is built with random weights and timed as ``model(x)`` under
``torch.inference_mode`` at batch 1: Medusa, Medusa asked for one task (``model(x, [task])``),
MTI-Net, MTL, PAD-Net, STL (one network per task, summed) and the backbone alone. Repetitions
are interleaved (one call of every network per round, the order rotating), so a busy machine
slows all of them alike; medians are reported with the ratios the README quotes. Each network
is measured twice: ``eager`` as built, and ``optimized`` after ``optimize_for_inference()``
(BatchNorm folded, channels_last), the same rewrite for every architecture. Peak memory is the
resident memory one forward pass adds (Linux: the peak resident set after the pass minus the
resident set before it), measured in a fresh process per network. On a CUDA
device the same networks run at batch 1, 8 and 32 in float32, bfloat16 and float16.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..models import ARCHITECTURES, MultiTaskNet
from .efficiency import SETTINGS, Setting

SETTING_KEYS = {"nyud": SETTINGS[0], "pascal": SETTINGS[1]}
HEADS = ("medusa", "mtinet", "mtl", "padnet", "stl")
VARIANTS = ("eager", "optimized")


def build(head: str, backbone: str, setting: Setting, optimized: bool, device: str = "cpu",
          dtype: torch.dtype = torch.float32) -> list[MultiTaskNet]:
    """The networks of ``head`` on ``setting`` (STL: one per task), random weights, eval mode."""
    arch = ARCHITECTURES.get(f"{head}_{backbone}")
    task_sets = [[t] for t in setting.tasks] if head == "stl" else [list(setting.tasks)]
    models = []
    for tasks in task_sets:
        torch.manual_seed(0)
        model = MultiTaskNet(arch.config(tasks)).eval().to(device=device, dtype=dtype)
        models.append(model.optimize_for_inference() if optimized else model)
    return models


def _calls(setting: Setting, backbone: str, optimized: bool, x: torch.Tensor, heads: Sequence[str],
           device: str, dtype: torch.dtype) -> dict[str, Callable[[], object]]:
    calls: dict[str, Callable[[], object]] = {}
    for head in heads:
        models = build(head, backbone, setting, optimized, device, dtype)
        calls[head] = (lambda ms=models: [m(x) for m in ms])
        if head == "medusa":
            medusa = models[0]
            first = next(iter(medusa.tasks))
            calls["medusa_one_task"] = lambda m=medusa, t=first: m(x, [t])
            calls["backbone"] = lambda m=medusa: m.backbone(x.contiguous(memory_format=torch.channels_last)
                                                            if optimized else x)
    return calls


def interleaved(calls: dict[str, Callable[[], object]], repeats: int, synchronize: Callable[[], None],
                statistic: Callable[[list[float]], float] = statistics.median) -> dict[str, float]:
    """Milliseconds of each call over ``repeats`` rounds (``statistic`` of them: the median, or the
    minimum, which a busy machine can only raise), one call of each per round, order rotating."""
    names = list(calls)
    times: dict[str, list[float]] = {n: [] for n in names}
    with torch.inference_mode():
        for name in names:  # warm-up
            calls[name]()
        synchronize()
        for round_ in range(repeats):
            order = names[round_ % len(names):] + names[: round_ % len(names)]
            for name in order:
                start = time.perf_counter()
                calls[name]()
                synchronize()
                times[name].append(time.perf_counter() - start)
    return {n: 1000 * statistic(v) for n, v in times.items()}


def peak_memory_mb(head: str, backbone: str, setting_key: str, optimized: bool, threads: int) -> float:
    """Resident memory (MB) one forward pass adds, in a fresh process (0 when it adds none)."""
    code = (
        "import sys; from medusa_zoo.benchmarks.latency import probe; "
        f"print(probe({head!r}, {backbone!r}, {setting_key!r}, {optimized!r}, {threads}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"memory probe of {head} failed: {done.stderr[-500:]}")
    return float(done.stdout.strip().splitlines()[-1])


def probe(head: str, backbone: str, setting_key: str, optimized: bool, threads: int) -> float:
    """In this process: build, then one forward; how far the resident set rose above where it was, in MB.

    Linux resets the peak resident set ("VmHWM") when ``5`` is written to ``/proc/self/clear_refs``;
    the peak after the forward pass minus the resident set before it is what the pass added.
    """
    torch.set_num_threads(threads)
    setting = SETTING_KEYS[setting_key]
    models = build(head, backbone, setting, optimized)
    x = torch.randn(1, 3, *setting.input_size)
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    before = _status_kb("VmRSS")
    with torch.inference_mode():
        for model in models:
            model(x)
    return max(0, _status_kb("VmHWM") - before) / 1024


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def run(settings: Sequence[str] = ("nyud", "pascal"), threads: Sequence[int] = (1, 2), repeats: int = 5,
        backbone: str = "hrnet18", heads: Sequence[str] = HEADS, memory: bool = True,
        device: str = "cpu", statistic: str = "median") -> dict[str, Any]:
    """Every measurement as one JSON-ready document (``device="cuda"``: the CUDA table only)."""
    if device == "cuda":
        return {"kind": "latency", "device": "cuda", "backbone": backbone, "repeats": repeats, "torch": torch.__version__,
                "gpu": torch.cuda.get_device_name(), "rows": [], "cuda": run_cuda(settings, repeats, backbone, heads)}
    rows = []
    for key in settings:
        setting = SETTING_KEYS[key]
        x = torch.randn(1, 3, *setting.input_size, generator=torch.Generator().manual_seed(0))
        for count in threads:
            torch.set_num_threads(count)
            for variant in VARIANTS:
                calls = _calls(setting, backbone, variant == "optimized", x, heads, "cpu", torch.float32)
                medians = interleaved(calls, repeats, lambda: None, min if statistic == "min" else statistics.median)
                row: dict[str, Any] = {"setting": setting.name, "input": list(setting.input_size), "threads": count,
                                       "variant": variant, "ms": {k: round(v, 1) for k, v in medians.items()}}
                row["ratios"] = _ratios(medians)
                if memory:
                    row["peak_mb"] = {h: round(peak_memory_mb(h, backbone, key, variant == "optimized", count), 1)
                                      for h in heads}  # fmt: skip
                rows.append(row)
                print(_line(row), flush=True)
    document: dict[str, Any] = {"kind": "latency", "device": "cpu", "backbone": backbone, "batch": 1,
                                "repeats": repeats, "statistic": statistic, "torch": torch.__version__, "rows": rows}
    if torch.cuda.is_available():
        document["cuda"] = run_cuda(settings, repeats, backbone, heads)
    return document


def run_cuda(settings: Sequence[str], repeats: int, backbone: str, heads: Sequence[str]) -> list[dict[str, Any]]:
    """The CUDA table: batch 1, 8 and 32 in float32, bfloat16 and float16, optimized networks."""
    rows = []
    for key in settings:
        setting = SETTING_KEYS[key]
        for dtype in (torch.float32, torch.bfloat16, torch.float16):
            for batch in (1, 8, 32):
                x = torch.randn(batch, 3, *setting.input_size, device="cuda", dtype=dtype)
                calls = _calls(setting, backbone, True, x, heads, "cuda", dtype)
                torch.cuda.reset_peak_memory_stats()
                medians = interleaved(calls, repeats, torch.cuda.synchronize)
                rows.append({"setting": setting.name, "dtype": str(dtype).replace("torch.", ""), "batch": batch,
                             "ms": {k: round(v, 2) for k, v in medians.items()}, "ratios": _ratios(medians),
                             "peak_mb_all": round(torch.cuda.max_memory_allocated() / 2**20, 1)})
                print(_line(rows[-1]), flush=True)
    return rows


def _ratios(ms: dict[str, float]) -> dict[str, float]:
    ratios = {}
    if "medusa" in ms and "mtinet" in ms:
        ratios["medusa_vs_mtinet"] = round(ms["medusa"] / ms["mtinet"], 3)
    if "medusa" in ms and "backbone" in ms:
        ratios["medusa_vs_backbone"] = round(ms["medusa"] / ms["backbone"], 3)
    if "medusa_one_task" in ms and "medusa" in ms:
        ratios["one_task_vs_all"] = round(ms["medusa_one_task"] / ms["medusa"], 3)
    return ratios


def _line(row: dict[str, Any]) -> str:
    what = row.get("variant") or f"{row['dtype']} batch {row['batch']}"
    threads = f", {row['threads']} threads" if "threads" in row else ""
    times = ", ".join(f"{k} {v}" for k, v in row["ms"].items())
    return f"{row['setting']}{threads}, {what}: {times} ms; {row['ratios']}"


def markdown(document: dict[str, Any]) -> str:
    """The CPU table README pastes (and the CUDA one when there is one)."""
    if not document["rows"]:
        return markdown_cuda(document.get("cuda", []))
    names = [("backbone", "backbone alone"), ("medusa", "Medusa"), ("medusa_one_task", "Medusa, 1 task"),
             ("mtinet", "MTI-Net"), ("mtl", "MTL"), ("padnet", "PAD-Net"), ("stl", "STL (sum)")]
    lines = ["| setting | threads | path | " + " | ".join(label for _, label in names)
             + " | Medusa / MTI-Net | Medusa / backbone | 1 task / all |",
             "|" + "---|" * (len(names) + 6)]
    for row in document["rows"]:
        cells = " | ".join(f"{row['ms'][k]:.0f}" if k in row["ms"] else "–" for k, _ in names)
        r = row["ratios"]
        lines.append(f"| {row['setting']} | {row['threads']} | {row['variant']} | {cells} | "
                     f"{r.get('medusa_vs_mtinet', '–')} | {r.get('medusa_vs_backbone', '–')} | {r.get('one_task_vs_all', '–')} |")
    memory = [row for row in document["rows"] if "peak_mb" in row]
    if memory:
        lines += ["", "| setting | threads | path | " + " | ".join(h for h in memory[0]["peak_mb"]) + " |",
                  "|" + "---|" * (len(memory[0]["peak_mb"]) + 3)]
        for row in memory:
            lines.append(f"| {row['setting']} | {row['threads']} | {row['variant']} | "
                         + " | ".join(f"{v:.0f}" for v in row["peak_mb"].values()) + " |")
    if document.get("cuda"):
        lines += ["", markdown_cuda(document["cuda"])]
    return "\n".join(lines)


def markdown_cuda(rows: Sequence[dict[str, Any]]) -> str:
    """The CUDA table: one row per setting, dtype and batch."""
    if not rows:
        return "(no CUDA rows)"
    keys = list(rows[0]["ms"])
    lines = ["| setting | dtype | batch | " + " | ".join(keys) + " | Medusa / MTI-Net | Medusa / backbone | peak MB |",
             "|" + "---|" * (len(keys) + 6)]
    for row in rows:
        r = row["ratios"]
        lines.append(f"| {row['setting']} | {row['dtype']} | {row['batch']} | "
                     + " | ".join(f"{row['ms'][k]:.1f}" for k in keys)
                     + f" | {r.get('medusa_vs_mtinet', '–')} | {r.get('medusa_vs_backbone', '–')} | {row['peak_mb_all']} |")
    return "\n".join(lines)


