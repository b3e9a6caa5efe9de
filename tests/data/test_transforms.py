"""Joint transforms: labels stay aligned with the image, normals turn with it, fills are right."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import default_collate
from torchvision import tv_tensors
from torchvision.transforms.v2 import InterpolationMode

from medusa_zoo.data.normals_ops import valid_normals
from medusa_zoo.data import DATASETS, train_transforms
from medusa_zoo.data.transforms import (
    ColorJitter,
    Compose,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRotation,
    RandomScale,
    RandomScaleRotate,
    Resize,
    ToModelInput,
    eval_transforms,
)
from medusa_zoo.errors import DatasetError

NEAREST = InterpolationMode.NEAREST
LABELS = ("semseg", "depth", "normals", "edge")


def radial_normals(h: int, w: int) -> torch.Tensor:
    """In-plane unit vectors pointing away from the centre (y up); the centre pixel is invalid.

    The field is unchanged by a rotation, scaling or mirror about the centre, provided the
    vectors are turned with the pixels.
    """
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    dx, dy = xx - (w - 1) / 2, -(yy - (h - 1) / 2)
    r = torch.sqrt(dx**2 + dy**2)
    n = torch.stack([dx, dy, torch.zeros_like(dx)]) / r.clamp(min=1e-6)
    n[:, r == 0] = 0
    return n


def make_sample(h: int = 41, w: int = 53) -> dict:
    """Labels are functions of the pixel: red = semseg + 1 (never 0), depth = semseg / 10 + 0.5."""
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    semseg = (yy * w + xx) % 250
    image = torch.stack([semseg + 1, yy * 3 % 256, xx * 3 % 256]).to(torch.uint8)
    return {
        "image": tv_tensors.Image(image),
        "semseg": tv_tensors.Mask(semseg),
        "depth": tv_tensors.Mask((semseg.float() / 10 + 0.5)[None]),
        "normals": tv_tensors.Mask(radial_normals(h, w)),
        "edge": tv_tensors.Mask((semseg % 7 == 0).float()[None]),
        "meta": {"dataset": "synthetic", "split": "train", "name": "a", "index": 0},
    }


def assert_aligned(out: dict) -> None:
    """Each labelled pixel still shows its label in the image; unlabelled pixels are 0 / 255."""
    semseg, image = out["semseg"], out["image"]
    labelled = semseg != 255
    assert labelled.any()
    assert torch.equal(image[0][labelled].long(), semseg[labelled] + 1)
    assert (image[:, ~labelled] == 0).all()
    depth = out["depth"][0]
    assert torch.equal(depth[labelled], semseg[labelled].float() / 10 + 0.5)
    for key in ("depth", "normals", "edge"):
        assert (out[key][:, ~labelled] == 255).all(), key


GEOMETRIC = [
    RandomHorizontalFlip(p=1.0),
    RandomScale(choices=(0.5, 1.3, 2.0), interpolation=NEAREST),
    RandomScale(scale_range=(0.6, 1.6), interpolation=NEAREST),
    RandomRotation(25.0, interpolation=NEAREST),
    RandomScaleRotate(scale_range=(0.7, 1.3), degrees=20.0, interpolation=NEAREST),
    RandomCrop((64, 40)),
    Resize((30, 70), interpolation=NEAREST),
    Compose([RandomHorizontalFlip(), RandomScale(scale_range=(0.8, 1.5), interpolation=NEAREST), RandomCrop(48)]),
]


@pytest.mark.parametrize("transform", GEOMETRIC, ids=lambda t: type(t).__name__)
def test_labels_stay_aligned_with_the_image(transform) -> None:
    sample = make_sample()
    for seed in range(4):
        torch.manual_seed(seed)
        out = transform(sample)
        assert_aligned(out)
        assert out["meta"] is sample["meta"]
        for key in LABELS:  # nearest: no new values except the fill
            assert torch.isin(out[key][out[key] != 255], sample[key]).all() or key == "normals", key
            assert out[key].dtype == sample[key].dtype and isinstance(out[key], tv_tensors.Mask)


@pytest.mark.parametrize("transform", [RandomRotation(30.0), RandomScale(scale_range=(0.5, 2.0)), Resize((17, 90))])
def test_bilinear_image_still_gives_nearest_labels(transform) -> None:
    sample = make_sample()
    torch.manual_seed(0)
    out = transform(sample)
    for key in ("semseg", "depth", "edge"):
        assert torch.isin(out[key], torch.cat([sample[key].flatten(), torch.tensor([255])])).all(), key


def test_depth_values_are_a_subset_after_resize() -> None:
    sample = make_sample()
    for size in [(13, 19), (90, 111)]:
        depth = Resize(size)(sample)["depth"]
        assert depth.shape == (1, *size)
        assert torch.isin(depth, sample["depth"]).all()


def test_flip_negates_normals_x_only_for_valid_pixels() -> None:
    sample = make_sample(9, 12)
    normals = torch.randn(3, 9, 12)
    normals[:, 0, 0] = 0
    normals[:, 1, 1] = 255
    sample["normals"] = tv_tensors.Mask(normals)
    out = RandomHorizontalFlip(p=1.0)(sample)["normals"]
    back = out.flip(-1)  # undo the pixel move only
    assert torch.equal(back[0, 0, 0], torch.tensor(0.0)) and (back[:, 1, 1] == 255).all()
    valid = valid_normals(normals)
    assert torch.equal(back[0][valid], -normals[0][valid])
    assert torch.equal(back[1:], normals[1:])


def test_flip_twice_is_identity_and_keeps_a_mirror_symmetric_field() -> None:
    sample = make_sample()
    flip = RandomHorizontalFlip(p=1.0)
    once, twice = flip(sample), flip(flip(sample))
    for key in ("image", *LABELS):
        assert torch.equal(twice[key], sample[key]), key
    assert torch.allclose(once["normals"], sample["normals"], atol=1e-6)  # radial field is symmetric
    assert not torch.equal(once["image"], sample["image"])


def test_flip_with_probability_zero_changes_nothing() -> None:
    sample = make_sample()
    out = RandomHorizontalFlip(p=0.0)(sample)
    assert all(out[k] is sample[k] for k in sample)


def test_rotation_by_90_turns_a_rightward_normal_up() -> None:
    h = w = 21
    image = torch.zeros(3, h, w, dtype=torch.uint8)
    image[0, :, 15:] = 200  # a surface on the right whose normal points right
    normals = torch.zeros(3, h, w)
    normals[0, :, 15:] = 1.0
    sample = {"image": tv_tensors.Image(image), "normals": tv_tensors.Mask(normals)}
    out = RandomRotation((90.0, 90.0))(sample)
    marked = out["image"][0] == 200
    assert marked[:6].all() and not marked[7:].any()  # counter-clockwise: right side -> top
    n = out["normals"]
    assert torch.allclose(n[:, marked], torch.tensor([0.0, 1.0, 0.0])[:, None], atol=1e-6)
    assert (n[:, ~marked] == 0).all() | (n[:, ~marked] == 255).all()


@pytest.mark.parametrize("angle", [30.0, -75.0, 160.0])
def test_rotation_turns_normals_with_the_image(angle: float) -> None:
    h = w = 41
    image = tv_tensors.Image(torch.zeros(3, h, w, dtype=torch.uint8))
    sample = {"image": image, "normals": tv_tensors.Mask(radial_normals(h, w))}
    out = RandomScaleRotate(choices=(1.1,), degrees=(angle, angle))(sample)["normals"]
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    far = ((yy - 20) ** 2 + (xx - 20) ** 2 >= 36) & valid_normals(out)
    assert far.sum() > 500
    cosine = (out * radial_normals(h, w)).sum(0)[far]
    assert cosine.min() > 0.95
    # the same pixel move without turning the vectors would be badly off
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    unturned = torch.stack([c * out[0] + s * out[1], -s * out[0] + c * out[1]])
    assert (unturned * radial_normals(h, w)[:2]).sum(0)[far].mean() < 0.9


def test_rotation_fills_labels_with_255_and_image_with_0() -> None:
    sample = make_sample(31, 31)
    out = RandomRotation((45.0, 45.0))(sample)
    for key in LABELS:
        assert (out[key][..., 0, 0] == 255).all() and (out[key][..., -1, -1] == 255).all(), key
    assert (out["image"][:, 0, 0] == 0).all()
    assert (out["semseg"][10:21, 10:21] != 255).all()


def test_crop_larger_than_the_image_pads_with_fills() -> None:
    sample = make_sample(20, 30)
    torch.manual_seed(3)
    out = RandomCrop((32, 36))(sample)
    assert out["image"].shape == (3, 32, 36) and out["semseg"].shape == (32, 36)
    labelled = out["semseg"] != 255
    assert labelled.sum() == 20 * 30
    assert (out["image"][:, ~labelled] == 0).all() and (out["normals"][:, ~labelled] == 255).all()
    assert_aligned(out)


def test_zoom_out_fills_the_border() -> None:
    out = RandomScaleRotate(choices=(0.5,))(make_sample(40, 40))
    assert (out["semseg"][:5] == 255).all() and (out["image"][:, :5] == 0).all()
    assert out["semseg"].shape == (40, 40)


def test_colour_jitter_changes_only_the_image() -> None:
    sample = make_sample()
    torch.manual_seed(0)
    out = ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.1)(sample)
    assert not torch.equal(out["image"], sample["image"]) and out["image"].dtype == torch.uint8
    for key in (*LABELS, "meta"):
        assert out[key] is sample[key]


def test_to_model_input_normalises_the_image_and_keeps_labels() -> None:
    from medusa_zoo.models.config import Preprocessing

    sample = make_sample()
    out = ToModelInput()(sample)
    image = out["image"]
    assert image.dtype == torch.float32 and image.shape == sample["image"].shape
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    expected = (sample["image"].float() / 255 - mean[:, None, None]) / std[:, None, None]
    assert torch.allclose(image, expected, atol=1e-5)
    assert all(out[k] is sample[k] for k in LABELS)
    assert ToModelInput().mean == Preprocessing().mean and ToModelInput().std == Preprocessing().std
    custom = ToModelInput.from_preprocessing(Preprocessing(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)))(sample)
    assert torch.allclose(custom["image"], (sample["image"].float() / 255 - 0.5) / 0.25, atol=1e-5)


@pytest.mark.parametrize("dataset", DATASETS.names())
def test_training_pipelines_give_collatable_samples(dataset: str) -> None:
    transform = train_transforms(dataset, (32, 48))
    batch = default_collate([transform(make_sample(41, 53)), transform(make_sample(60, 35))])
    assert batch["image"].shape == (2, 3, 32, 48) and batch["image"].dtype == torch.float32
    assert batch["semseg"].shape == (2, 32, 48) and batch["semseg"].dtype == torch.int64
    assert batch["normals"].shape == (2, 3, 32, 48) and batch["depth"].shape == (2, 1, 32, 48)
    assert batch["meta"]["name"] == ["a", "a"]


@pytest.mark.parametrize("dataset", DATASETS.names())
def test_pipelines_are_deterministic_and_leave_the_input_alone(dataset: str) -> None:
    sample, pristine = make_sample(), make_sample()
    transform = train_transforms(dataset, (40, 40))
    runs = []
    for seed in (7, 7, *range(8, 20)):
        torch.manual_seed(seed)
        runs.append(transform(sample))
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in ("image", *LABELS))
    assert not all(torch.equal(runs[0]["image"], r["image"]) for r in runs[2:])
    assert all(torch.equal(sample[k], pristine[k]) for k in ("image", *LABELS))


def test_eval_pipeline_resizes_or_keeps_labels() -> None:
    sample = make_sample(41, 53)
    out = eval_transforms((32, 32))(sample)
    assert out["image"].shape == (3, 32, 32) and out["semseg"].shape == (32, 32)
    out = eval_transforms((32, 32), resize_labels=False)(sample)
    assert out["image"].shape == (3, 32, 32) and out["semseg"] is sample["semseg"]
    out = eval_transforms(None)(sample)
    assert out["image"].shape == (3, 41, 53) and out["image"].dtype == torch.float32


def test_unknown_mask_keys_move_with_the_image() -> None:
    sample = make_sample()
    sample["my_task"] = tv_tensors.Mask(sample["semseg"].clone())
    out = RandomHorizontalFlip(p=1.0)(sample)
    assert torch.equal(out["my_task"], out["semseg"])


BAD_ARGUMENTS = {
    "unknown dataset": lambda: train_transforms("kitti", (8, 8)),
    "zero size": lambda: train_transforms("nyud", (0, 8)),
    "one-number tuple": lambda: Resize((8,)),
    "string size": lambda: RandomCrop("8x8"),
    "float size": lambda: eval_transforms((8.5, 8)),
    "probability > 1": lambda: RandomHorizontalFlip(1.5),
    "probability bool": lambda: RandomHorizontalFlip(True),
    "no scales": lambda: RandomScale(),
    "both scales": lambda: RandomScale(scale_range=(1.0, 2.0), choices=(1.0,)),
    "reversed range": lambda: RandomScale(scale_range=(2.0, 1.0)),
    "zero scale": lambda: RandomScaleRotate(choices=(0.0, 1.0)),
    "negative degrees": lambda: RandomRotation(-5.0),
    "reversed degrees": lambda: RandomRotation((10.0, -10.0)),
    "negative jitter": lambda: ColorJitter(brightness=-1.0),
    "zero std": lambda: ToModelInput(std=(0.0, 1.0, 1.0)),
    "two means": lambda: ToModelInput(mean=(0.5, 0.5)),
    "not callable": lambda: Compose([RandomCrop(8), "flip"]),
}


@pytest.mark.parametrize("make", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_raise_dataset_error(make) -> None:
    with pytest.raises(DatasetError):
        make()


def _without_image(s: dict) -> dict:
    return {k: v for k, v in s.items() if k != "image"}


BAD_SAMPLES = {
    "missing image": _without_image,
    "plain tensor label": lambda s: {**s, "semseg": s["semseg"].as_subclass(torch.Tensor)},
    "plain tensor image": lambda s: {**s, "image": s["image"].as_subclass(torch.Tensor)},
    "label of another size": lambda s: {**s, "depth": tv_tensors.Mask(torch.zeros(1, 5, 5))},
    "not a dict": lambda s: [s["image"]],
}


@pytest.mark.parametrize("corrupt", BAD_SAMPLES.values(), ids=BAD_SAMPLES.keys())
@pytest.mark.parametrize(
    "transform", [RandomHorizontalFlip(1.0), train_transforms("pascal_context", 16)], ids=["flip", "pipeline"]
)
def test_bad_samples_raise_dataset_error(corrupt, transform) -> None:
    with pytest.raises(DatasetError, match="image|label|Mask|is \\(|dict"):
        transform(corrupt(make_sample(12, 12)))


def test_synthrooms_training_crops_a_window_at_the_evaluation_scale() -> None:
    from medusa_zoo.data import SynthRooms

    sample = SynthRooms("train", size=1, resolution=(48, 64))[0]
    torch.manual_seed(0)
    out = train_transforms("synthrooms", (48, 64), crop=(32, 40))(sample)
    assert tuple(out["image"].shape) == (3, 32, 40) and tuple(out["semseg"].shape) == (32, 40)
    with pytest.raises(DatasetError, match="'nyud' follows the paper's resize and takes no crop"):
        train_transforms("nyud", (48, 64), crop=(32, 40))
