"""The GPU check, one command for a machine with a CUDA device (about 5 minutes on one GPU):

    python -m medusa_zoo.benchmarks.gpu [--out outputs/gpu]

1. the CUDA tests (``pytest -m gpu``: device placement, float16 / bfloat16 loading, CPU and CUDA
   agreeing, optimized networks on CUDA, training with AMP and channels_last, stopped and resumed);
2. the latency table on CUDA: Medusa, MTI-Net, MTL, PAD-Net, STL and the backbone, NYUD-v2 and
   PASCAL-Context settings, batch 1, 8 and 32 in float32, bfloat16 and float16;
3. the batched-heads comparison on CUDA.
Results land in ``--out`` as JSON and Markdown. Run it from a source checkout (it needs tests/).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (the tests' status when they fail)."""
    parser = argparse.ArgumentParser(prog="python -m medusa_zoo.benchmarks.gpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="outputs/gpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("error: no CUDA device here; this check is for a machine with a GPU", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider",
                            "--junitxml", str(out / "gpu_tests.xml")], check=False)
    print(f"gpu tests: exit status {tests.returncode} ({time.perf_counter() - started:.0f} s)", flush=True)
    for command, name in ((["latency", "--device", "cuda", "--repeats", str(args.repeats)], "latency_cuda"),
                          (["heads"], "batched_heads_cuda")):  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "medusa_zoo", "benchmark", *command, "--out",
                               str(out / f"{name}.json")], capture_output=True, text=True, check=False)
        (out / f"{name}.md").write_text(done.stdout)
        print(done.stdout[-3000:], done.stderr[-2000:], flush=True)
    print(f"done in {time.perf_counter() - started:.0f} s; results in {out}")
    return tests.returncode


if __name__ == "__main__":
    sys.exit(main())
