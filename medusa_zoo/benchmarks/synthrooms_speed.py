"""Rendering speed of SynthRooms on one CPU thread (target: >= 100 images/s at 192x256).

    python -m medusa_zoo benchmark synthrooms-speed [--images 200] [--resolution 192 256]

Times ``SynthRooms.__getitem__`` end to end (scene sampling, ray casting, shadows, every
label, tensor conversion) after one warm-up sample, and also reports where the time goes.
Thread pools are pinned to one thread before numpy and torch load, so the figure is per core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import time  # noqa: E402

import torch  # noqa: E402

from ..data.synthrooms import SynthRooms, render, sample_rng, sample_scene  # noqa: E402
from ..data import train_transforms  # noqa: E402


def images_per_second(
    images: int, resolution: tuple[int, int], split: str = "train", seed: int = 0, augment: bool = False
) -> tuple[float, float]:
    """Samples per second of ``SynthRooms(split, seed=seed, resolution=resolution)`` (all tasks).

    Returns ``(wall-clock rate, CPU-time rate)``; they agree on an idle machine, and the second
    is the per-core figure when other processes share the CPU. ``augment`` adds the SynthRooms
    training transforms (flip, scale, crop, colour jitter, normalisation).
    """
    transform = train_transforms("synthrooms", resolution) if augment else None
    dataset = SynthRooms(split, size=images + 1, seed=seed, resolution=resolution, transform=transform)
    dataset[images]  # warm-up: texture bank, noise buffer, ray grids
    wall, cpu = time.perf_counter(), time.process_time()
    for index in range(images):
        dataset[index]
    return images / (time.perf_counter() - wall), images / (time.process_time() - cpu)


def stage_split(images: int, resolution: tuple[int, int]) -> tuple[float, float]:
    """Milliseconds per image spent sampling scenes and rendering them (no tensors)."""
    scenes, t0 = [], time.perf_counter()
    for index in range(images):
        scenes.append(sample_scene(sample_rng(0, "train", index), resolution))
    t1 = time.perf_counter()
    for scene in scenes:
        render(scene)
    t2 = time.perf_counter()
    return 1e3 * (t1 - t0) / images, 1e3 * (t2 - t1) / images


def report(images: int = 200, resolution: tuple[int, int] = (192, 256)) -> str:
    """The speed report: rendering rate, where the time goes, and the rate with the training transforms."""
    torch.set_num_threads(1)
    rate, cpu_rate = images_per_second(images, resolution)
    sampling_ms, render_ms = stage_split(images, resolution)
    augmented, augmented_cpu = images_per_second(images, resolution, augment=True)
    return (
        f"SynthRooms {resolution[0]}x{resolution[1]}, {images} images, 1 thread: "
        f"{rate:.1f} images/s wall-clock, {cpu_rate:.1f} images/s per CPU second\n"
        f"  per image: scene sampling {sampling_ms:.2f} ms, rendering + labels {render_ms:.2f} ms\n"
        f"  with the training transforms: {augmented:.1f} images/s wall-clock, "
        f"{augmented_cpu:.1f} images/s per CPU second"
    )


if __name__ == "__main__":  # the older entry point of ``python -m medusa_zoo benchmark synthrooms-speed``
    import sys

    from ..cli import main

    sys.exit(main(["benchmark", "synthrooms-speed", *sys.argv[1:]], legacy="medusa_zoo.benchmarks.synthrooms_speed"))
