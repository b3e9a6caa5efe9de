"""What ``torch.compile`` buys: compile time and steady-state latency against the same network uncompiled.

    python -m medusa_zoo benchmark compile [--backbone hrnet18] [--repeats 5]

Medusa on the NYUD-v2 setting (4 tasks, 480x640, batch 1), after ``optimize_for_inference``:
the first compiled call (compile time included), then interleaved rounds of the compiled and
the uncompiled network. Compilation needs a C++ compiler for the CPU backend.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from .efficiency import SETTINGS
from .latency import build, interleaved


def run(backbone: str = "hrnet18", repeats: int = 5, threads: int = 2, head: str = "medusa") -> dict[str, Any]:
    """The results document."""
    torch.set_num_threads(threads)
    setting = SETTINGS[0]
    (model,) = build(head, backbone, setting, optimized=True)
    x = torch.randn(1, 3, *setting.input_size, generator=torch.Generator().manual_seed(0))
    compiled = torch.compile(model)
    with torch.inference_mode():
        start = time.perf_counter()
        compiled(x)
        first = time.perf_counter() - start
        ms = interleaved({"eager": lambda: model(x), "compiled": lambda: compiled(x)}, repeats, lambda: None)
        reference, out = model(x).logits, compiled(x).logits
    error = max(float((out[t] - reference[t]).abs().max() / reference[t].abs().max()) for t in reference)
    ms = {k: round(v, 1) for k, v in ms.items()}
    return {"kind": "compile", "arch": f"{head}_{backbone}", "setting": setting.name, "threads": threads,
            "torch": torch.__version__, "first_call_s": round(first, 1), "ms": ms,
            "speedup": round(ms["eager"] / ms["compiled"], 3), "max_relative_difference": error}


def markdown(document: dict[str, Any]) -> str:
    """One table row."""
    return ("| network | first compiled call (s) | eager (ms) | compiled (ms) | speed-up |\n|---|---|---|---|---|\n"
            f"| {document['arch']}, {document['setting']}, {document['threads']} threads | {document['first_call_s']} | "
            f"{document['ms']['eager']} | {document['ms']['compiled']} | {document['speedup']:.2f}x |")
