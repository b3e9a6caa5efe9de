"""The main job on the embedded default: build a Medusa network, predict, save pictures.

No checkpoint is bundled yet, so the network has random weights and the pictures show
untrained outputs; the pipeline (preprocessing, padding, heads, post-processing,
colouring, save/load) is the real one. Runs on CPU in seconds, without network access.

    python examples/quickstart.py [--out outputs/quickstart] [--image PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

import medusa_zoo


def sample_image(height: int = 192, width: int = 256) -> np.ndarray:
    """A deterministic synthetic room-like picture: floor, wall and a lit box."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.zeros((height, width, 3), np.float32)
    image[:] = (0.75, 0.72, 0.65)  # wall
    floor = y > 0.6 * height
    image[floor] = (0.45, 0.32, 0.22)
    box = (np.abs(x - 0.5 * width) < 0.15 * width) & (np.abs(y - 0.62 * height) < 0.15 * height)
    image[box] = (0.2, 0.35, 0.7)
    image *= (1.0 - 0.3 * x / width)[..., None]  # light falling off to the right
    return (image * 255).round().astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="medusa_regnetx002")
    parser.add_argument("--image", help="an image file; default: a built-in synthetic room")
    parser.add_argument("--out", default="outputs/quickstart")
    args = parser.parse_args()

    model = medusa_zoo.load(args.model, pretrained=False, device="auto")
    image = args.image or sample_image()
    predictions = model.predict(image)
    features = model.features(image)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = Image.open(image).convert("RGB") if args.image else Image.fromarray(image)
    source.save(out / "input.png")
    for task, picture in model.colorize(predictions).items():
        Image.fromarray(picture).save(out / f"{task}.png")
    info = medusa_zoo.model_info(args.model)
    print(f"{args.model}: {info.params / 1e6:.2f}M parameters, {info.gflops:.1f} GFLOPs at {info.input_size}")
    print(f"features: maps {[tuple(m.shape) for m in features.maps]}, embedding {tuple(features.embedding.shape)}")
    for task, value in predictions.items():
        print(f"{task:>8}: {tuple(value.shape)} {value.dtype}")
    print(f"wrote {', '.join(sorted(p.name for p in out.glob('*.png')))} to {out.resolve()}")


if __name__ == "__main__":
    main()
