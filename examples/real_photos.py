"""A gallery of what a checkpoint predicts on real photographs: scikit-image's photos x every task.

    pip install 'medusa-zoo[photos]'        # scikit-image, for its public-domain sample photos
    python examples/real_photos.py --out outputs/real_photos.png [--model NAME] [--native]

One row per photo (an astronaut, a cat, a cup of coffee, a rocket on its launch pad), one column
per task of the model after the photo itself. ``predict`` fits each photo to the model's design
size (aspect kept, padded) and resizes the outputs back; ``--native`` runs at the photo's own
size instead, which is what ``predict`` did before (and looks much worse). Our checkpoints are
trained only on SynthRooms, synthetic rooms of boxes and furniture: read the pictures as a probe of
what transfers to photographs, not as a product.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import medusa_zoo

MODEL = "medusa_regnetx002.synthrooms"
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
TILE = (192, 256)  # (H, W) of each cell


def photos() -> dict[str, np.ndarray]:
    """scikit-image's bundled colour photos (public domain), as HxWx3 uint8 arrays."""
    try:
        import skimage.data
    except ImportError:
        raise SystemExit("this example needs scikit-image's sample photos: pip install 'medusa-zoo[photos]'") from None
    return {name: getattr(skimage.data, name)()[..., :3] for name in PHOTOS}


def _cell(picture: np.ndarray) -> Image.Image:
    """``picture`` fitted into a TILE cell (aspect kept) on white."""
    image = Image.fromarray(picture)
    image.thumbnail((TILE[1], TILE[0]), Image.Resampling.BILINEAR)
    cell = Image.new("RGB", (TILE[1], TILE[0]), "white")
    cell.paste(image, ((TILE[1] - image.width) // 2, (TILE[0] - image.height) // 2))
    return cell


def gallery(model: medusa_zoo.MultiTaskNet, images: dict[str, np.ndarray], native: bool = False) -> Image.Image:
    """A PIL image: a header row of column names, then one row per photo."""
    tasks = list(model.tasks)
    header, gap = 20, 2
    columns = ["photo", *tasks]
    sheet = Image.new("RGB", (len(columns) * (TILE[1] + gap) - gap, header + len(images) * (TILE[0] + gap)), "white")
    draw = ImageDraw.Draw(sheet)
    for col, title in enumerate(columns):
        draw.text((col * (TILE[1] + gap) + 4, 4), title, fill="black")
    for row, (name, photo) in enumerate(images.items()):
        outputs = model.predict(photo, native=native)
        cells = [photo, *(model.tasks[t].colorize(outputs[t]) for t in tasks)]
        for col, picture in enumerate(cells):
            sheet.paste(_cell(picture), (col * (TILE[1] + gap), header + row * (TILE[0] + gap)))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs/real_photos.png"))
    parser.add_argument("--model", default=MODEL, help="a name from medusa_zoo.list_models(pretrained=True)")
    parser.add_argument("--native", action="store_true", help="run at each photo's own size instead of the design size")
    args = parser.parse_args()
    model = medusa_zoo.load(args.model, device="cpu")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    gallery(model, photos(), native=args.native).save(args.out)
    print(f"wrote {args.out} ({len(PHOTOS)} photos x {len(model.tasks)} tasks of {model.source})")


if __name__ == "__main__":
    main()
