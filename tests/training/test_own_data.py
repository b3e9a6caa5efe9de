"""Your own data for medusa_zoo.finetune: pairs, folders, Datasets of pairs, and standardised regression targets."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import medusa_zoo
from medusa_zoo.data.transforms import ToModelInput
from medusa_zoo.errors import DatasetError, ImageTooLargeError
from medusa_zoo.limits import limits
from medusa_zoo.tasks import task_from_config

SIZE = 64


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def trunk() -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(0)
    return medusa_zoo.load("mtl_regnetx002", tasks=["semseg"], pretrained=False, device="cpu")


def fresh(trunk: medusa_zoo.MultiTaskNet) -> medusa_zoo.MultiTaskNet:
    return copy.deepcopy(trunk)


def pairs(count: int, classes: int = 3, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Images whose left half is dark and right half bright; the mask says which half (class 1 or 2)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        image = rng.integers(0, 60, (SIZE, SIZE, 3), dtype=np.uint8)
        image[:, SIZE // 2 :] += 180
        mask = np.ones((SIZE, SIZE), dtype=np.uint8)
        mask[:, SIZE // 2 :] = classes - 1
        out.append((image, mask))
    return out


def plain(model: medusa_zoo.MultiTaskNet) -> ToModelInput:
    return ToModelInput.from_preprocessing(model.config.preprocessing)


def head_changed(model: medusa_zoo.MultiTaskNet, task: str, before: dict[str, torch.Tensor]) -> bool:
    after = model.state_dict()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    return bool(changed) and all(f".{task}." in k for k in changed)


def test_finetune_from_a_list_of_numpy_pairs(trunk: medusa_zoo.MultiTaskNet) -> None:
    model = fresh(trunk)
    model.add_task("halves", kind="segmentation", out_channels=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = pairs(4)
    result = medusa_zoo.finetune(model, "halves", data, data, steps=3, batch_size=2, transform=plain(model),
                                 val_transform=plain(model), progress=False)
    assert len(result.history) == 3 and all(np.isfinite(h["loss"]) for h in result.history)
    assert head_changed(model, "halves", before)
    assert "miou" in result.metrics or result.metrics  # scored on the same pairs


def test_finetune_from_two_folders_of_pngs(trunk: medusa_zoo.MultiTaskNet, tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for i, (image, mask) in enumerate(pairs(3)):
        Image.fromarray(image).save(tmp_path / "images" / f"room{i}.jpg")
        Image.fromarray(mask).save(tmp_path / "masks" / f"room{i}.png")
    model = fresh(trunk)
    model.add_task("halves", kind="segmentation", out_channels=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folders = (tmp_path / "images", tmp_path / "masks")
    result = medusa_zoo.finetune(model, "halves", folders, steps=2, batch_size=2, progress=False)  # default: resized
    assert len(result.history) == 2 and head_changed(model, "halves", before)
    again = medusa_zoo.finetune(model, "halves", {"images": str(folders[0]), "masks": str(folders[1])}, steps=1,
                                batch_size=1, progress=False)
    assert len(again.history) == 1


def test_finetune_from_a_dataset_of_tensor_pairs(trunk: medusa_zoo.MultiTaskNet) -> None:
    class Pairs(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 3

        def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
            image, mask = pairs(1, seed=index)[0]
            return torch.from_numpy(image).permute(2, 0, 1), torch.from_numpy(mask).long()

    model = fresh(trunk)
    model.add_task("halves", kind="segmentation", out_channels=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = medusa_zoo.finetune(model, "halves", Pairs(), steps=2, batch_size=2, transform=plain(model), progress=False)
    assert len(result.history) == 2 and head_changed(model, "halves", before)


def test_unmatched_folders_and_bad_targets_are_dataset_errors_naming_the_files(
    trunk: medusa_zoo.MultiTaskNet, tmp_path: Path
) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    image, mask = pairs(1)[0]
    for stem in ("a", "b", "lonely_image"):
        Image.fromarray(image).save(images / f"{stem}.png")
    for stem in ("a", "b", "lonely_mask"):
        Image.fromarray(mask).save(masks / f"{stem}.png")
    model = fresh(trunk)
    model.add_task("halves", kind="segmentation", out_channels=3)
    with pytest.raises(DatasetError, match=r"1 image\(s\).*lonely_image\.png.*1 mask\(s\) have no image: lonely_mask\.png"):
        medusa_zoo.finetune(model, "halves", (images, masks), steps=1, progress=False)
    Image.fromarray(mask[:32]).save(masks / "b.png")  # b's mask is 32x64, its image 64x64
    (images / "lonely_image.png").unlink()
    (masks / "lonely_mask.png").unlink()
    with pytest.raises(DatasetError, match=r"item 1 \(.*b\.png, .*b\.png\): the target is \(32, 64\).*image is \(64, 64\)"):
        medusa_zoo.finetune(model, "halves", (images, masks), steps=2, batch_size=2, progress=False)
    with pytest.raises(DatasetError, match="class index 7 is not one of task 'halves'"):
        medusa_zoo.finetune(model, "halves", [(image, np.full((SIZE, SIZE), 7))], steps=1, progress=False)
    with pytest.raises(DatasetError, match="must be one channel.*mode 'RGB'"):
        medusa_zoo.finetune(model, "halves", [(image, Image.fromarray(image))], steps=1, progress=False)
    with limits(max_image_pixels=1000), pytest.raises(ImageTooLargeError, match="train_data item 0"):
        medusa_zoo.finetune(model, "halves", [(image, mask)], steps=1, progress=False)


def disparity_pairs(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A disparity-like target, 7..60 px, brighter = nearer (larger disparity)."""
    out = []
    for image, _ in pairs(count):
        grey = image.astype(np.float32).mean(axis=2) / 255.0
        out.append((image, (7 + 53 * grey).astype(np.float32)))
    return out


def fitted_mean(trunk: medusa_zoo.MultiTaskNet, standardize: bool) -> tuple[medusa_zoo.MultiTaskNet, float, float]:
    model = fresh(trunk)
    torch.manual_seed(0)
    model.add_task("disparity", kind="dense_regression", out_channels=1)
    data = disparity_pairs(4)
    medusa_zoo.finetune(model, "disparity", data, steps=30, lr=3e-3, batch_size=2, transform=plain(model),
                        standardize=standardize, progress=False)
    predicted = torch.stack([p["disparity"] for p in model.predict([image for image, _ in data], native=True)])
    return model, float(predicted.mean()), float(np.mean([target for _, target in data]))


def test_regression_targets_are_standardised_and_predictions_come_back_in_user_units(
    trunk: medusa_zoo.MultiTaskNet, tmp_path: Path
) -> None:
    model, predicted, truth = fitted_mean(trunk, standardize=True)
    task = model.tasks["disparity"]
    assert task.standardised and 20 < task.target_mean[0] < 40 and task.target_std[0] > 5
    assert model.config.tasks[-1] == task
    assert abs(predicted - truth) < 0.2 * truth, (predicted, truth)
    _, unscaled, _ = fitted_mean(trunk, standardize=False)
    assert abs(unscaled - truth) > 0.5 * truth, (unscaled, truth)  # 30 steps barely move raw outputs toward ~30
    # the statistics live in the task: head.json carries them and load_head restores them on a fresh trunk
    model.save_head("disparity", tmp_path / "head")
    other = fresh(trunk)
    loaded = other.load_head(tmp_path / "head")
    assert loaded.target_mean == task.target_mean and loaded.target_std == task.target_std
    image = disparity_pairs(1)[0][0]
    assert torch.allclose(other.predict(image, native=True)["disparity"], model.predict(image, native=True)["disparity"])


def test_target_statistics_default_to_identity_and_old_configs_load_unchanged() -> None:
    config = {"name": "albedo", "kind": "dense_regression", "out_channels": 2}
    task = task_from_config(config)
    assert not task.standardised and task.to_config() == config  # no new fields in old configs
    logits = torch.randn(1, 2, 4, 4)
    assert torch.equal(task.postprocess(logits), logits)
    scaled = task.with_target_statistics((10.0, -1.0), (2.0, 0.5))
    assert torch.allclose(scaled.postprocess(logits), logits * torch.tensor([2.0, 0.5]).view(1, 2, 1, 1)
                          + torch.tensor([10.0, -1.0]).view(1, 2, 1, 1))
    assert task_from_config(scaled.to_config()) == scaled
    with pytest.raises(medusa_zoo.errors.IncompatibleConfigError, match="finite positive std"):
        task.with_target_statistics((0.0, 0.0), (1.0, 0.0))
