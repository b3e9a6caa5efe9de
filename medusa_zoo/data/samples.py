"""A SynthRooms picture that ships with the package, for demos that must run offline.

It is sample :data:`SAMPLE_INDEX` of the SynthRooms ``test`` split (seed 0, 192×256), which
no shipped checkpoint trained on; its exact labels are re-rendered on demand.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_SPLIT, SAMPLE_INDEX, SAMPLE_SEED = "test", 0, 0
SAMPLE_PATH = Path(__file__).resolve().parent / "samples" / "synthrooms_test_0000000.png"


def sample_image_path() -> Path:
    """Path of the bundled SynthRooms sample picture (PNG, 192×256)."""
    return SAMPLE_PATH


def sample_labels() -> dict:
    """The sample's exact labels (the SynthRooms sample dict, rendered deterministically)."""
    from .synthrooms import SynthRooms

    return SynthRooms(SAMPLE_SPLIT, size=SAMPLE_INDEX + 1, seed=SAMPLE_SEED)[SAMPLE_INDEX]
