"""The main job on the embedded default: the bundled Medusa checkpoint on the bundled sample.

Loads ``medusa_efficientnet_lite0.synthrooms`` (the default checkpoint of ``medusa_efficientnet_lite0``; it ships
inside the package), predicts every task on the bundled SynthRooms test picture (or your own
``--image``), writes one picture per task and prints where. For the bundled picture it also
scores each prediction against the scene's exact labels. CPU is enough; no network is used.

    python examples/quickstart.py [--out outputs/quickstart] [--image PATH] [--model NAME]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

import medusa_zoo
from medusa_zoo.data.samples import sample_image_path, sample_labels
from medusa_zoo.metrics import meter_for


def score_against_labels(model: medusa_zoo.MultiTaskNet, predictions: dict) -> dict[str, str]:
    """Each task's primary metric on the bundled sample, from its exact SynthRooms labels."""
    labels = sample_labels()
    scores = {}
    for name, prediction in predictions.items():
        if name not in labels:
            continue
        meter = meter_for(model.tasks[name])
        meter.update(prediction[None], labels[name][None])
        scores[name] = f"{meter.primary} {meter.compute()[meter.primary]:.1f}"
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="medusa_efficientnet_lite0.synthrooms", help="a name from medusa_zoo.list_models(pretrained=True)")
    parser.add_argument("--image", help="an image file; default: the bundled SynthRooms test picture")
    parser.add_argument("--out", default="outputs/quickstart")
    args = parser.parse_args()

    model = medusa_zoo.load(args.model, device="auto")  # bundled weights, sha256-checked, no network
    image = Path(args.image) if args.image else sample_image_path()
    predictions = model.predict(image)
    features = model.features(image)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    Image.open(image).convert("RGB").save(out / "input.png")
    for task, picture in model.colorize(predictions).items():
        Image.fromarray(picture).save(out / f"{task}.png")
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {model.config.arch}, {params / 1e6:.2f}M parameters, tasks {', '.join(model.tasks)}; input {image}")
    print(f"features: maps {[tuple(m.shape) for m in features.maps]}, embedding {tuple(features.embedding.shape)}")
    scores = score_against_labels(model, predictions) if not args.image else {}
    for task, value in predictions.items():
        print(f"{task:>9}: {tuple(value.shape)} {value.dtype}" + (f"  ({scores[task]} on this image)" if task in scores else ""))
    print(f"wrote {', '.join(sorted(p.name for p in out.glob('*.png')))} to {out.resolve()}")


if __name__ == "__main__":
    main()
