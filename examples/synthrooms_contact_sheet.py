"""Write a contact sheet of SynthRooms samples: one row per sample, one column per key.

    python examples/synthrooms_contact_sheet.py --out outputs/synthrooms_contact_sheet.png --samples 4

Columns: image, semseg, depth, normals, edge, saliency, parts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from medusa_zoo.data.synthrooms import PART_CLASSES, SEMSEG_CLASSES, SynthRooms
from medusa_zoo.tasks.colour import apply_colormap, label_palette

COLUMNS = ("image", "semseg", "depth", "normals", "edge", "saliency", "parts")


def _tile(key: str, sample: dict) -> np.ndarray:
    """One (H, W, 3) uint8 picture of ``sample[key]``."""
    value = sample[key].numpy()
    if key == "image":
        return value.transpose(1, 2, 0)
    if key in ("semseg", "parts"):
        palette = label_palette(256)
        return palette[(value + 1) % 256] if key == "semseg" else palette[value]
    if key == "depth":
        return apply_colormap(1.0 - value[0] / max(float(value.max()), 1e-6))
    if key == "normals":
        return ((value.transpose(1, 2, 0) + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)
    return np.repeat((value[0] * 255).astype(np.uint8)[..., None], 3, axis=2)


def contact_sheet(dataset: SynthRooms, count: int, gap: int = 2) -> Image.Image:
    """A PIL image with ``count`` rows of ``COLUMNS`` tiles."""
    h, w = dataset.resolution
    sheet = np.full((count * (h + gap) - gap, len(COLUMNS) * (w + gap) - gap, 3), 255, dtype=np.uint8)
    for row in range(count):
        sample = dataset[row]
        for col, key in enumerate(COLUMNS):
            sheet[row * (h + gap) : row * (h + gap) + h, col * (w + gap) : col * (w + gap) + w] = _tile(key, sample)
    return Image.fromarray(sheet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs/synthrooms_contact_sheet.png"))
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--split", default="train")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first sample index")
    parser.add_argument("--resolution", type=int, nargs=2, default=(192, 256), metavar=("H", "W"))
    parser.add_argument("--photo-textures", type=float, default=0.0, help="share of materials with photo textures")
    args = parser.parse_args()
    dataset = SynthRooms(args.split, size=args.start + args.samples, seed=args.seed, resolution=tuple(args.resolution),
                         photo_textures=args.photo_textures)
    if args.start:
        dataset = _Offset(dataset, args.start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(dataset, args.samples).save(args.out)
    print(f"wrote {args.out}: {args.samples} samples; columns {', '.join(COLUMNS)}")
    print(f"semseg classes (palette index + 1): {', '.join(SEMSEG_CLASSES)}; parts: {', '.join(PART_CLASSES)}")


class _Offset:
    """``dataset`` viewed from sample ``start`` on (for looking at other samples)."""

    def __init__(self, dataset: SynthRooms, start: int) -> None:
        self.dataset, self.start, self.resolution = dataset, start, dataset.resolution

    def __getitem__(self, index: int) -> dict:
        return self.dataset[self.start + index]


if __name__ == "__main__":
    main()
