"""From a folder of images to a model of your own, trained on ``features()`` embeddings.

The downstream task: predict how much of a picture is floor (the fraction of its pixels
labelled ``floor``), a property of the room's layout and the camera's pitch that no head of
the model was trained to output. Steps:

1. write N SynthRooms test scenes as PNGs into ``OUT/images`` and each one's floor fraction
   into ``OUT/floor.csv`` (they stand in for your own photos and your own labels file);
2. embed the folder with the bundled checkpoint ``medusa_efficientnet_lite0.synthrooms`` through
   :func:`medusa_zoo.embeddings.extract_embeddings`, into ``OUT/embeddings.safetensors``;
3. fit a linear probe (ridge regression on the embeddings) on 3/4 of the images, choosing its
   strength by cross-validation on that part only, and compare its error on the held-out
   quarter with a trivial baseline that always predicts the train mean.

Runs offline on the CPU, in well under a minute for the default 200 images.

    python examples/extract_features.py [--images 200] [--out outputs/extract_features]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import torch
from PIL import Image

import medusa_zoo
from medusa_zoo.data.synthrooms import SynthRooms
from medusa_zoo.data.synthrooms.labels import FLOOR
from medusa_zoo.embeddings import extract_embeddings, load_embeddings

MODEL = "medusa_efficientnet_lite0.synthrooms"


def write_images(out: Path, count: int) -> Path:
    """Render ``count`` SynthRooms test scenes into ``out/images``; write their floor fractions to a CSV."""
    folder = out / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):  # a previous, larger run's pictures would have no label
        old.unlink()
    labels = out / "floor.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "floor_fraction"])
        for sample in SynthRooms("test", size=count, tasks=["semseg"]):
            name = f"{sample['meta']['name']}.png"
            Image.fromarray(sample["image"].permute(1, 2, 0).numpy()).save(folder / name)
            writer.writerow([name, float((sample["semseg"] == FLOOR).float().mean())])
    return labels


def read_labels(path: Path) -> dict[str, float]:
    """image name -> floor fraction, from the CSV ``write_images`` wrote."""
    with path.open(newline="") as handle:
        return {row["image"]: float(row["floor_fraction"]) for row in csv.DictReader(handle)}


class RidgeProbe:
    """A linear model on standardised embeddings: argmin_w |Zw + b - y|^2 + strength |w|^2, in closed form."""

    def __init__(self, strength: float) -> None:
        self.strength = strength

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> RidgeProbe:
        self.mean, self.std = x.mean(0), x.std(0).clamp_min(1e-6)
        z = (x - self.mean) / self.std
        self.bias = y.mean()
        gram = z.T @ z + self.strength * torch.eye(z.shape[1])
        self.weight = torch.linalg.solve(gram, z.T @ (y - self.bias))
        return self

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std @ self.weight + self.bias


def choose_strength(x: torch.Tensor, y: torch.Tensor, folds: int = 5) -> float:
    """The ridge strength with the lowest mean absolute error in ``folds``-fold cross-validation."""
    fold = torch.arange(len(y)) % min(folds, len(y))

    def cv_error(strength: float) -> float:
        errors = []
        for k in fold.unique():
            held = fold == k
            probe = RidgeProbe(strength).fit(x[~held], y[~held])
            errors.append((probe.predict(x[held]) - y[held]).abs().mean())
        return float(torch.stack(errors).mean())

    return min((0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0), key=cv_error)


def errors(prediction: torch.Tensor, truth: torch.Tensor) -> str:
    """MAE and RMSE in percentage points of the image."""
    mae = (prediction - truth).abs().mean() * 100
    rmse = (prediction - truth).pow(2).mean().sqrt() * 100
    return f"MAE {mae:5.1f} pp   RMSE {rmse:5.1f} pp"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200, help="how many SynthRooms images to write (at least 8)")
    parser.add_argument("--out", type=Path, default=Path("outputs/extract_features"))
    args = parser.parse_args()
    if args.images < 8:
        parser.error("--images must be at least 8 (a train part to cross-validate and a held-out part)")

    # 1. A folder of images and a labels file.
    labels_file = write_images(args.out, args.images)

    # 2. Images -> embeddings file (normally a separate run: python -m medusa_zoo embed ...).
    model = medusa_zoo.load(MODEL, device="auto")  # bundled weights, no network
    embeddings_file = args.out / "embeddings.safetensors"
    extract_embeddings(model, args.out / "images", embeddings_file, batch_size=16, metadata={"model": MODEL})

    # 3. Embeddings file -> your own model. dataset() matches the labels to the rows by image name.
    embeddings = load_embeddings(embeddings_file)
    x, y = embeddings.dataset(read_labels(labels_file)).tensors
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    n_train = round(0.75 * len(y))
    train, held_out = order[:n_train], order[n_train:]

    strength = choose_strength(x[train], y[train])
    probe = RidgeProbe(strength).fit(x[train], y[train])
    baseline = y[train].mean().expand(len(held_out))

    print(f"embeddings: {tuple(embeddings.vectors.shape)} from {MODEL} at {embeddings.metadata['size']} "
          f"(channels per level {embeddings.metadata['channels']}) -> {embeddings_file}")
    print(f"floor fraction of {len(held_out)} held-out images (train part: {n_train} images, "
          f"floor fraction {y[train].mean() * 100:.1f} ± {y[train].std() * 100:.1f} %):")
    rows = {f"linear probe (ridge, strength {strength:g} by CV)": probe.predict(x[held_out]),
            "baseline (always the train mean)": baseline}
    for label, prediction in rows.items():
        print(f"  {label:<42} {errors(prediction, y[held_out])}")


if __name__ == "__main__":
    main()
