"""A gallery of what a checkpoint predicts on real photographs: scikit-image's photos x every task.

    pip install 'medusa-zoo[photos]'        # scikit-image, for its public-domain sample photos
    python examples/real_photos.py --out outputs/real_photos.png [--model NAME] [--native] [--results FILE]

One row per photo (an astronaut, a cat, a cup of coffee, a rocket on its launch pad, the Middlebury
motorcycle in a workshop), one column
per task of the model after the photo itself. ``predict`` fits each photo to the model's design
size (aspect kept, padded) and resizes the outputs back; ``--native`` runs at the photo's own
size instead, which is what ``predict`` did before (and looks much worse). Our checkpoints are
trained only on SynthRooms, synthetic rooms of boxes and furniture: read the pictures as a probe of
what transfers to photographs, not as a product.

It also measures depth on the one real photo with ground truth in scikit-image: the Middlebury
motorcycle (500x741, its stereo disparity; depth is proportional to 1 / disparity). It prints the
Spearman rank correlation of predicted and true depth over the whole image and, averaged over the
image's rows, within each row: a map that is only "far at the top, near at the bottom" scores well on
the first and 0 on the second (``shared/FINDINGS.md``), so the second is the one to watch.
``--results FILE`` writes those numbers, with this command, to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import medusa_zoo

MODEL = "medusa_efficientnet_lite0.synthrooms"
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
TILE = (192, 256)  # (H, W) of each cell


def photos() -> dict[str, np.ndarray]:
    """scikit-image's bundled colour photos (public domain), as HxWx3 uint8 arrays."""
    try:
        import skimage.data
    except ImportError:
        raise SystemExit("this example needs scikit-image's sample photos: pip install 'medusa-zoo[photos]'") from None
    pictures = {name: getattr(skimage.data, name)()[..., :3] for name in PHOTOS}
    pictures["motorcycle"] = skimage.data.stereo_motorcycle()[0]
    return pictures


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


def depth_check(model: medusa_zoo.MultiTaskNet, native: bool = False) -> dict[str, float]:
    """Rank correlations of ``model``'s depth with the motorcycle's true depth (whole image; mean within rows)."""
    from scipy.stats import spearmanr
    from skimage.data import stereo_motorcycle

    left, _, disparity = stereo_motorcycle()
    valid = np.isfinite(disparity) & (disparity > 0)
    truth = np.where(valid, 1.0 / np.where(valid, disparity, 1.0), np.nan)  # depth up to scale
    predicted = model.predict(left, tasks=["depth"], native=native)["depth"].numpy()
    rows = [spearmanr(predicted[r][valid[r]], truth[r][valid[r]])[0] for r in range(len(truth)) if valid[r].sum() >= 20]
    rows = [float(v) for v in rows if np.isfinite(v)]
    prior = np.broadcast_to(-np.arange(len(truth), dtype=np.float64)[:, None], truth.shape)  # far at the top
    return {
        "spearman": float(spearmanr(predicted[valid], truth[valid])[0]),
        "spearman_within_rows": float(np.mean(rows)),
        "rows": len(rows),
        "prior_spearman": float(spearmanr(prior[valid], truth[valid])[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs/real_photos.png"))
    parser.add_argument("--model", default=MODEL, help="a name from medusa_zoo.list_models(pretrained=True)")
    parser.add_argument("--native", action="store_true", help="run at each photo's own size instead of the design size")
    parser.add_argument("--results", type=Path, help="write the depth check to this JSON file")
    args = parser.parse_args()
    model = medusa_zoo.load(args.model, device="cpu")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    gallery(model, photos(), native=args.native).save(args.out)
    print(f"wrote {args.out} ({len(PHOTOS) + 1} photos x {len(model.tasks)} tasks of {model.source})")
    if "depth" not in model.tasks:
        return
    check = depth_check(model, native=args.native)
    print("depth on the Middlebury motorcycle, Spearman with the truth: "
          f"{check['spearman']:.3f} whole image, {check['spearman_within_rows']:.3f} within rows "
          f"(the far-at-the-top prior: {check['prior_spearman']:.3f} and 0)")
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        record = {"kind": "real_photo_depth", "model": model.source, "native": args.native, "values": check,
                  "command": "python " + " ".join(sys.argv)}
        args.results.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
