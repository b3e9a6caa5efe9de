"""Peak memory of ``predict`` on one image as the image grows: what the ``max_image_pixels`` budget costs.

    python -m medusa_zoo benchmark predict-memory [--model medusa_efficientnet_lite0] [--megapixels 1 4 16 24]

Each size runs in a fresh Python process on one thread: it loads the model, predicts once on a
random uint8 image of 4:3 aspect at its design size (outputs resized back to the image) and reports
its peak resident memory (``ru_maxrss``) after loading and after predicting, and the time taken.
``predict`` returns every task's map at the image's own size, so memory grows with the pixels: the
document fits ``peak = loaded + slope x megapixels`` and states the peak at the default budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from ..limits import Limits

GIB = 1 << 30


def measure(net: Any, megapixels: float) -> dict:
    """One size in this process with the loaded ``net`` (run in a fresh process: ``ru_maxrss`` only grows)."""
    import resource
    import time

    import numpy as np
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(megapixels * 1e6 / width)
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    net.predict(image)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"megapixels": megapixels, "height": height, "width": width, "loaded_gib": round(loaded / GIB, 3),
            "peak_gib": round(peak / GIB, 3), "seconds": round(seconds, 2)}


def run(model: str, megapixels: list[float]) -> dict:
    """Every size in its own process; the straight-line fit and the peak at the default budget."""
    rows = []
    for size in megapixels:
        child = subprocess.run([sys.executable, "-m", __name__, model, str(size)], capture_output=True, text=True,
                               check=True, env=_one_thread())
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    first, last = rows[0], rows[-1]
    slope = (last["peak_gib"] - first["peak_gib"]) / max(last["megapixels"] - first["megapixels"], 1e-9)
    budget = Limits().max_image_pixels / 1e6
    at_budget = first["peak_gib"] + slope * (budget - first["megapixels"])
    return {"benchmark": "predict-memory", "model": model, "threads": 1, "rows": rows,
            "gib_per_megapixel": round(slope, 4), "default_max_image_pixels": Limits().max_image_pixels,
            "peak_gib_at_default_budget": round(at_budget, 2)}


def markdown(document: dict) -> str:
    lines = [f"predict memory, {document['model']}, one CPU thread, one uint8 image (4:3)", "",
             "| megapixels | image (H x W) | RSS after load (GiB) | peak RSS (GiB) | predict time (s) |",
             "|---|---|---|---|---|"]
    for row in document["rows"]:
        lines.append(f"| {row['megapixels']:g} | {row['height']} x {row['width']} | {row['loaded_gib']:.2f} | "
                     f"{row['peak_gib']:.2f} | {row['seconds']:.1f} |")
    lines += ["", f"{document['gib_per_megapixel']:.3f} GiB per megapixel; at the default max_image_pixels "
                  f"({document['default_max_image_pixels']:,}) one image needs about "
                  f"{document['peak_gib_at_default_budget']:.1f} GiB"]
    return "\n".join(lines)


def _one_thread() -> dict:
    import os

    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


if __name__ == "__main__":  # one size, in the fresh process run() starts
    import torch

    from medusa_zoo import load

    torch.set_num_threads(1)
    print(json.dumps(measure(load(sys.argv[1], device="cpu"), float(sys.argv[2]))))
