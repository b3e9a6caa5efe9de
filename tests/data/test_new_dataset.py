"""A dataset registered from outside the package works everywhere: one file's worth of code, one row.

"Stripes" below is a tiny procedural dataset (horizontal bands: three classes, depth growing
down the picture). Registered as a :class:`~medusa_zoo.data.DatasetSpec` row, it is then used only
through the normal entry points: a recipe naming it trains with ``train``, the ``evaluate`` and
``trivial`` commands score it, and its meter options reach the meters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import torch
from torchvision import tv_tensors

from medusa_zoo.cli import main
from medusa_zoo.data import DATASETS, DatasetSpec, train_transforms
from medusa_zoo.data.transforms import RandomHorizontalFlip, Resize, Transform, no_crop
from medusa_zoo.errors import DatasetError
from medusa_zoo.tasks import Task, get_task
from medusa_zoo.training import recipe_from_dict, train
from medusa_zoo.training.data import build_dataset
from medusa_zoo.training.evaluation import task_meters
from medusa_zoo.training.results import read_results

SIZE = (32, 48)
LABELS = ("sky", "wall", "floor")


class Stripes(torch.utils.data.Dataset):
    """Horizontal bands of three classes with a little noise; depth grows with the row."""

    def __init__(self, split: str, tasks: Sequence[str], size: int) -> None:
        self.split, self.tasks, self.size = split, list(tasks), size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        g = torch.Generator().manual_seed(hash((self.split, index)) % 2**31)
        h, w = SIZE
        cut = sorted(torch.randint(4, h - 4, (2,), generator=g).tolist())
        labels = torch.zeros(h, w, dtype=torch.int64)
        labels[cut[0]:] = 1
        labels[cut[1]:] = 2
        colours = torch.tensor([[200, 220, 255], [180, 160, 120], [90, 70, 50]], dtype=torch.uint8)
        image = colours[labels].permute(2, 0, 1)
        image = (image.int() + torch.randint(-10, 10, image.shape, generator=g)).clamp(0, 255).to(torch.uint8)
        sample = {"image": tv_tensors.Image(image), "meta": {"dataset": "stripes", "split": self.split, "index": index}}
        if "semseg" in self.tasks:
            sample["semseg"] = tv_tensors.Mask(labels)
        if "depth" in self.tasks:
            rows = torch.linspace(1.0, 5.0, h)[:, None].expand(h, w)
            sample["depth"] = tv_tensors.Mask(rows[None].clone())
        return sample


def stripes_tasks(names: Sequence[str]) -> tuple[Task, ...]:
    return tuple(get_task("semseg", labels=LABELS) if n == "semseg" else get_task(n) for n in names)


def build(split: str, tasks: Sequence[str], images: int | None, *, count: int = 8) -> Stripes:
    return Stripes(split, tasks, images if images is not None else count)


def augmentation(size: tuple[int, int], crop: tuple[int, int] | None = None) -> list[Transform]:
    no_crop("stripes", crop)
    return [RandomHorizontalFlip(), Resize(size)]


@pytest.fixture
def stripes() -> Iterator[DatasetSpec]:
    row = DatasetSpec("stripes", "Stripes", ("semseg", "depth"), stripes_tasks, build, augmentation,
                      meter_options={"segmentation": {"absent": "zero"}})
    DATASETS.register("stripes", row)
    yield row
    DATASETS.unregister("stripes")


def test_a_registered_dataset_trains_evaluates_and_gets_trivial_baselines(stripes, tmp_path: Path) -> None:
    raw = {
        "format": "medusa_zoo.recipe/1", "name": "stripes_tiny", "dataset": "stripes",
        "architectures": ["mtl_regnetx002"], "tasks": ["semseg", "depth"], "data": {"count": 6},
        "train_size": list(SIZE), "eval_size": list(SIZE), "eval_images": 4, "batch_size": 2, "steps": 2,
        "num_workers": 0, "checkpoint_every": 2, "lr": 1e-3,
    }  # fmt: skip
    recipe_path = tmp_path / "stripes_tiny.json"
    recipe_path.write_text(json.dumps(raw))
    run = train(recipe_from_dict(raw), "mtl_regnetx002", out=tmp_path / "run", threads=1, progress=False)
    assert run.steps == 2 and set(run.metrics) == {"semseg", "depth"}

    out = tmp_path / "eval.json"
    assert main(["evaluate", "--model", f"local-dir:{run.run_dir / 'model'}", "--data", "stripes:val",
                 "--images", "4", "--device", "cpu", "--out", str(out)]) == 0  # fmt: skip
    evaluated = read_results(out)
    assert (evaluated["dataset"], evaluated["images"]) == ("stripes", 4)
    assert evaluated["values"]["semseg"] == pytest.approx(run.metrics["semseg"])

    trivial = tmp_path / "trivial.json"
    assert main(["trivial", "--recipe", str(recipe_path), "--fit-images", "4", "--out", str(trivial),
                 "--no-progress"]) == 0  # fmt: skip
    baseline = read_results(trivial)
    assert baseline["statistics"]["depth"]["mean"] == pytest.approx(3.0, rel=1e-5)  # rows 1..5 m, evenly spaced
    assert set(baseline["values"]) == {"semseg", "depth"}

    meters = task_meters(stripes.task_definitions(["semseg"]), "stripes")
    assert meters["semseg"].absent == "zero" and meters["semseg"].num_classes == 3
    assert [type(t).__name__ for t in train_transforms("stripes", SIZE).transforms] == [
        "RandomHorizontalFlip", "Resize", "ToModelInput"]


def test_its_options_and_tasks_are_checked(stripes) -> None:
    assert stripes.options == ("count",)
    with pytest.raises(DatasetError, match="takes no data option"):
        build_dataset("stripes", "train", ["semseg"], {"root": "/data"})
    with pytest.raises(DatasetError, match="has no task"):
        build_dataset("stripes", "train", ["normals"])
    with pytest.raises(DatasetError, match="takes no crop"):
        train_transforms("stripes", SIZE, crop=(16, 16))
    assert len(build_dataset("stripes", "val", ["depth"], {"count": 5})) == 5


def test_unknown_datasets_are_refused_with_the_known_ones() -> None:
    with pytest.raises(DatasetError, match="Registered: nyud, pascal_context, synthrooms"):
        build_dataset("kitti", "train", ["depth"])
