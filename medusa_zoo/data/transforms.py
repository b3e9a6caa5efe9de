"""Joint transforms for multi-task samples, and the training / evaluation pipelines of the paper.

Every transform is a callable ``sample -> sample`` on the dict described in
:mod:`medusa_zoo.data`; it returns a new dict and never modifies its input. Geometric
transforms move the image and every label together: the image with ``interpolation``
(bilinear by default), labels (``tv_tensors.Mask``) always with nearest interpolation, so a
label map only ever holds values it held before, plus 255 where the transform exposes pixels
with no label. Exposed image pixels are 0.

Conventions:

* Angles are degrees, positive = counter-clockwise as displayed (as ``torchvision``'s
  ``rotate`` and OpenCV's ``getRotationMatrix2D``, which the MTI-Net reference code uses).
* ``normals`` follow the pixels: a horizontal flip negates x, a rotation by ``a`` rotates
  (x, y) by ``a`` counter-clockwise (y is up). Invalid normals (all zero, or 255) stay as they
  are. Scaling leaves normals unchanged.
* Scaling does not change ``depth`` values, as in the MTI-Net reference code: a zoomed image
  is treated as the same scene seen by a camera with a longer focal length.
* Keys: ``"image"`` must be a ``tv_tensors.Image``. Every other tensor must be a
  ``tv_tensors.Mask`` of the same height and width, whatever its key (new tasks' labels pass
  through unchanged in kind). A plain tensor is refused with :class:`DatasetError`, because it
  would silently stay unaligned. Non-tensor values (``"meta"``) pass through untouched.

Random parameters come from torch's global generator only, so ``torch.manual_seed`` makes
every pipeline reproducible (DataLoader workers seed it per worker).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from ..errors import DatasetError
from ..labels import IGNORE_INDEX
from ..preprocessing import IMAGENET_MEAN, IMAGENET_STD, Preprocessing
from .normals_ops import flip_normals_x, rotate_normals

__all__ = [
    "Sample", "Transform", "IMAGE_FILL", "LABEL_FILL", "check_sample", "Compose",
    "RandomHorizontalFlip", "RandomScale", "RandomRotation", "RandomScaleRotate", "RandomCrop", "Resize",
    "ColorJitter", "ToModelInput", "eval_transforms", "no_crop", "size_pair",
]

Sample = dict[str, Any]
Transform = Callable[[Sample], Sample]
IMAGE_FILL = 0
LABEL_FILL = IGNORE_INDEX
NORMALS_KEY = "normals"


# ---------------------------------------------------------------- validation helpers
def check_sample(sample: Mapping[str, Any], same_size: bool = True) -> tuple[int, int]:
    """Check a sample's structure and return the image's (H, W); raise :class:`DatasetError`.

    With ``same_size`` every label must have the image's height and width.
    """
    if not isinstance(sample, Mapping):
        raise DatasetError(f"a sample must be a dict, got {type(sample).__name__}")
    image = sample.get("image")
    if image is None:
        raise DatasetError(f"the sample has no 'image' (keys: {sorted(sample)})")
    if not isinstance(image, tv_tensors.Image) or image.ndim != 3:
        raise DatasetError(
            f"sample['image'] must be a (C, H, W) tv_tensors.Image, got {type(image).__name__} "
            f"of shape {tuple(getattr(image, 'shape', ()))}"
        )
    size = (int(image.shape[-2]), int(image.shape[-1]))
    for key, value in sample.items():
        if key == "image" or not isinstance(value, torch.Tensor):
            continue
        if not isinstance(value, tv_tensors.Mask):
            raise DatasetError(
                f"sample[{key!r}] is a {type(value).__name__}; labels must be tv_tensors.Mask so that "
                "geometric transforms move them with the image (wrap it, or move it into 'meta')"
            )
        if same_size and tuple(value.shape[-2:]) != size:
            raise DatasetError(f"sample[{key!r}] is {tuple(value.shape[-2:])} but the image is {size}")
    return size


def _map(sample: Mapping[str, Any], image_fn: Callable, label_fn: Callable) -> Sample:
    """A new sample with ``image_fn`` applied to the image and ``label_fn(key, mask)`` to labels."""
    out = dict(sample)
    for key, value in sample.items():
        if key == "image":
            out[key] = image_fn(value)
        elif isinstance(value, tv_tensors.Mask):
            out[key] = label_fn(key, value)
    return out


def size_pair(size: Any, what: str = "size") -> tuple[int, int]:
    """``size`` as a (height, width) pair of positive ints (one int means a square); else :class:`DatasetError`."""
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    ok = isinstance(size, Sequence) and len(size) == 2
    if not ok or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise DatasetError(f"{what} must be (height, width) with positive integers, got {size!r}")
    return int(size[0]), int(size[1])


def no_crop(dataset: str, crop: Any) -> None:
    """Refuse a ``crop`` for a dataset whose training pipeline follows the paper's resize."""
    if crop is not None:
        raise DatasetError(f"train_transforms: {dataset!r} follows the paper's resize and takes no crop "
                           f"(crop applies to datasets with a cropping augmentation such as 'synthrooms')")


def _probability(p: Any) -> float:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise DatasetError(f"a probability must be a number in [0, 1], got {p!r}")
    return float(p)


def _angle_range(degrees: Any) -> tuple[float, float]:
    if isinstance(degrees, (int, float)) and not isinstance(degrees, bool):
        if degrees < 0:
            raise DatasetError(f"degrees must be >= 0 (the range is [-degrees, degrees]), got {degrees}")
        return -float(degrees), float(degrees)
    if isinstance(degrees, Sequence) and len(degrees) == 2 and all(isinstance(d, (int, float)) for d in degrees):
        if degrees[0] > degrees[1]:
            raise DatasetError(f"degrees (low, high) needs low <= high, got {tuple(degrees)}")
        return float(degrees[0]), float(degrees[1])
    raise DatasetError(f"degrees must be a number or a (low, high) pair, got {degrees!r}")


def _scales(scale_range: Any, choices: Any) -> tuple[tuple[float, float] | None, tuple[float, ...] | None]:
    if (scale_range is None) == (choices is None):
        raise DatasetError("give exactly one of scale_range=(low, high) or choices=(s1, s2, ...)")
    values = scale_range if choices is None else choices
    if not isinstance(values, Sequence) or not values or not all(
        isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0 for s in values
    ):
        raise DatasetError(f"scales must be positive numbers, got {values!r}")
    if choices is not None:
        return None, tuple(float(s) for s in choices)
    if len(scale_range) != 2 or scale_range[0] > scale_range[1]:
        raise DatasetError(f"scale_range must be (low, high) with low <= high, got {scale_range!r}")
    return (float(scale_range[0]), float(scale_range[1])), None


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()))


def _sample_scale(scale_range: tuple[float, float] | None, choices: tuple[float, ...] | None) -> float:
    if choices is not None:
        return choices[int(torch.randint(len(choices), ()))]
    assert scale_range is not None
    return _uniform(*scale_range)


def _affine(sample: Sample, angle: float, scale: float, interpolation: InterpolationMode) -> Sample:
    """Rotate (counter-clockwise, degrees) and scale about the centre, keeping the size."""
    if angle == 0.0 and scale == 1.0:
        return dict(sample)
    # F.affine's angle is clockwise (unlike F.rotate), hence -angle.
    kwargs = {"angle": -angle, "translate": [0.0, 0.0], "scale": scale, "shear": [0.0, 0.0]}

    def label(key: str, mask: torch.Tensor) -> torch.Tensor:
        out = F.affine(mask, **kwargs, fill=LABEL_FILL)
        return rotate_normals(out, angle) if key == NORMALS_KEY and angle != 0.0 else out

    return _map(sample, lambda im: F.affine(im, **kwargs, interpolation=interpolation, fill=IMAGE_FILL), label)


class _Repr:
    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


# ---------------------------------------------------------------- transforms
class Compose(_Repr):
    """Apply transforms in order; checks the sample first, so bad input fails early and clearly."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        if not all(callable(t) for t in transforms):
            raise DatasetError(f"Compose needs callables, got {list(transforms)!r}")
        self.transforms = list(transforms)

    def __call__(self, sample: Sample) -> Sample:
        check_sample(sample, same_size=False)
        for transform in self.transforms:
            sample = transform(sample)
        return sample

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class RandomHorizontalFlip(_Repr):
    """Mirror image and labels left-right with probability ``p``; negates the x of normals."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = _probability(p)

    def __call__(self, sample: Sample) -> Sample:
        check_sample(sample)
        if float(torch.rand(())) >= self.p:
            return dict(sample)

        def label(key: str, mask: torch.Tensor) -> torch.Tensor:
            out = F.horizontal_flip(mask)
            return flip_normals_x(out) if key == NORMALS_KEY else out

        return _map(sample, F.horizontal_flip, label)


class RandomScale(_Repr):
    """Resize everything by a random factor (the output size changes; pair with :class:`RandomCrop`).

    Give ``scale_range=(low, high)`` for a uniform factor or ``choices=(s1, ...)`` for one of a
    list. Depth values are not changed (see the module docstring).
    """

    def __init__(
        self,
        scale_range: tuple[float, float] | None = None,
        choices: Sequence[float] | None = None,
        interpolation: InterpolationMode = InterpolationMode.BILINEAR,
    ) -> None:
        self.scale_range, self.choices = _scales(scale_range, choices)
        self.interpolation = interpolation

    def __call__(self, sample: Sample) -> Sample:
        h, w = check_sample(sample)
        s = _sample_scale(self.scale_range, self.choices)
        size = [max(1, round(h * s)), max(1, round(w * s))]
        if size == [h, w]:
            return dict(sample)
        return _map(
            sample,
            lambda im: F.resize(im, size, interpolation=self.interpolation, antialias=True),
            lambda _, m: F.resize(m, size),
        )


class RandomScaleRotate(_Repr):
    """Scale and rotate about the centre, keeping the size (the reference code's ``ScaleNRotate``).

    A factor above 1 zooms in (the borders are cut), below 1 zooms out (exposed pixels get the
    fill: 0 for the image, 255 for labels). ``degrees`` is ``d`` for uniform in [-d, d] or a
    ``(low, high)`` pair. Give ``scale_range`` or ``choices`` as in :class:`RandomScale`.
    """

    def __init__(
        self,
        scale_range: tuple[float, float] | None = None,
        choices: Sequence[float] | None = None,
        degrees: float | tuple[float, float] = 0.0,
        interpolation: InterpolationMode = InterpolationMode.BILINEAR,
    ) -> None:
        self.scale_range, self.choices = _scales(scale_range, choices)
        self.degrees = _angle_range(degrees)
        self.interpolation = interpolation

    def __call__(self, sample: Sample) -> Sample:
        check_sample(sample)
        scale = _sample_scale(self.scale_range, self.choices)
        angle = _uniform(*self.degrees) if self.degrees != (0.0, 0.0) else 0.0
        return _affine(sample, angle, scale, self.interpolation)


class RandomRotation(_Repr):
    """Rotate about the centre by a uniform angle, keeping the size; also rotates normals.

    ``degrees`` is ``d`` for [-d, d] or a ``(low, high)`` pair; positive = counter-clockwise.
    Exposed pixels: 0 in the image, 255 in every label.
    """

    def __init__(
        self,
        degrees: float | tuple[float, float],
        interpolation: InterpolationMode = InterpolationMode.BILINEAR,
    ) -> None:
        self.degrees = _angle_range(degrees)
        self.interpolation = interpolation

    def __call__(self, sample: Sample) -> Sample:
        check_sample(sample)
        return _affine(sample, _uniform(*self.degrees), 1.0, self.interpolation)


class RandomCrop(_Repr):
    """Cut a random ``size`` window; where the sample is smaller, pad first (image 0, labels 255).

    Padding places the sample at a random offset inside the padded canvas.
    """

    def __init__(self, size: tuple[int, int] | int) -> None:
        self.size = size_pair(size)

    def __call__(self, sample: Sample) -> Sample:
        h, w = check_sample(sample)
        ch, cw = self.size
        pad_h, pad_w = max(ch - h, 0), max(cw - w, 0)
        if pad_h or pad_w:
            top, left = int(torch.randint(pad_h + 1, ())), int(torch.randint(pad_w + 1, ()))
            padding = [left, top, pad_w - left, pad_h - top]
            sample = _map(
                sample,
                lambda im: F.pad(im, padding, fill=IMAGE_FILL),
                lambda _, m: F.pad(m, padding, fill=LABEL_FILL),
            )
            h, w = h + pad_h, w + pad_w
        top, left = int(torch.randint(h - ch + 1, ())), int(torch.randint(w - cw + 1, ()))
        return _map(sample, lambda im: F.crop(im, top, left, ch, cw), lambda _, m: F.crop(m, top, left, ch, cw))


class Resize(_Repr):
    """Resize to a fixed (H, W), ignoring the aspect ratio (the reference code's ``FixedResize``).

    With ``resize_labels=False`` only the image is resized, for evaluation at label resolution
    (the sample is then collatable only in batches of images with the same label size).
    """

    def __init__(
        self,
        size: tuple[int, int] | int,
        interpolation: InterpolationMode = InterpolationMode.BILINEAR,
        resize_labels: bool = True,
    ) -> None:
        self.size = size_pair(size)
        self.interpolation = interpolation
        self.resize_labels = bool(resize_labels)

    def __call__(self, sample: Sample) -> Sample:
        check_sample(sample)
        size = list(self.size)
        return _map(
            sample,
            lambda im: F.resize(im, size, interpolation=self.interpolation, antialias=True),
            (lambda _, m: F.resize(m, size)) if self.resize_labels else (lambda _, m: m),
        )


class ColorJitter(_Repr):
    """Random brightness / contrast / saturation / hue on the image only; labels are untouched.

    Arguments as ``torchvision.transforms.v2.ColorJitter`` (which does the work).
    """

    def __init__(
        self, brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0, hue: float = 0.0
    ) -> None:
        try:
            self._jitter = v2.ColorJitter(brightness, contrast, saturation, hue)
        except (TypeError, ValueError) as bad:
            raise DatasetError(f"bad ColorJitter argument: {bad}") from None
        self.brightness, self.contrast, self.saturation, self.hue = brightness, contrast, saturation, hue

    def __call__(self, sample: Sample) -> Sample:
        check_sample(sample, same_size=False)
        out = dict(sample)
        out["image"] = self._jitter(sample["image"])
        return out


class ToModelInput(_Repr):
    """Last step: image to float32 in [0, 1], then ``(x - mean) / std`` per channel.

    A float image is taken to be in [0, 1] already. Labels keep their dtypes (tv_tensors
    stay tv_tensors; ``default_collate`` batches them). Mean and std default to ImageNet's; use
    :meth:`from_preprocessing` to take them from a model's config.
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (*mean, *std))
        if len(mean) != 3 or len(std) != 3 or not ok or any(s <= 0 for s in std):
            raise DatasetError(f"ToModelInput needs 3 means and 3 positive stds, got {mean!r} / {std!r}")
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)

    @classmethod
    def from_preprocessing(cls, preprocessing: Preprocessing) -> ToModelInput:
        """Use the mean and std of a model's :class:`~medusa_zoo.models.Preprocessing`."""
        return cls(preprocessing.mean, preprocessing.std)

    def __call__(self, sample: Sample) -> Sample:
        check_sample(sample, same_size=False)
        image = sample["image"]
        if image.shape[0] != 3:
            raise DatasetError(f"ToModelInput needs an RGB image (3 channels), got {image.shape[0]}")
        out = dict(sample)
        out["image"] = F.normalize(F.to_dtype(image, torch.float32, scale=True), list(self.mean), list(self.std))
        return out


# ---------------------------------------------------------------- factories
def _normalise(preprocessing: Preprocessing | None) -> ToModelInput:
    return ToModelInput() if preprocessing is None else ToModelInput.from_preprocessing(preprocessing)


def eval_transforms(
    size: tuple[int, int] | int | None,
    *,
    preprocessing: Preprocessing | None = None,
    resize_labels: bool = True,
) -> Compose:
    """Evaluation pipeline for any dataset: resize to ``size`` (``None``: keep), then normalise.

    ``resize_labels=False`` resizes only the image so metrics can be computed at the labels'
    own resolution after upsampling the prediction.
    """
    steps: list[Transform] = [] if size is None else [Resize(size, resize_labels=resize_labels)]
    return Compose([*steps, _normalise(preprocessing)])
