"""Legends: what each colour of a prediction's picture means, drawn under the picture.

Colour maps (the ``colorize`` of each task kind, legend kind in brackets):

- segmentation, human parts [class swatches]: class ``k`` in the PASCAL VOC palette colour (class 0
  black, 1 dark red, 2 dark green, 3 olive, 4 dark blue, ...); the legend names the classes present;
- depth [colour bar, metres]: near dark blue -> far yellow (viridis-like) from 0 m to the 99th
  percentile of the image's finite depths, farther clipped to yellow;
- dense regression [colour bar]: the first channel from its finite minimum (dark blue) to its
  maximum (yellow); three channels are shown as R, G, B, each stretched to its own range;
- normals [sphere key]: red = x (right), green = y (up), blue = z (towards the camera), each
  component from -1 (0) to 1 (255): a wall facing the camera is lavender, a floor light green;
- edge, saliency [probability bar]: probability 0 black -> 1 white;
- attention [scale swatches]: each pixel in the colour of the scale its Multi-Scale Attention
  weighs most (``models.explain.SCALE_COLOURS``, finest first), faded towards white as the weights
  approach uniform.

In the real-valued maps, NaN and ±inf pixels are grey (``tasks.colour_scale.NON_FINITE``) and do
not count towards the range.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from ..models.explain import attention_picture, scale_colours
from ..tasks import BinaryTask, DepthTask, NormalsTask, RegressionTask, SegmentationTask, Task
from ..tasks.colour import apply_colormap, label_palette
from ..tasks.colour_scale import NON_FINITE, depth_range, finite_range
from .canvas import INK, MIN_WIDTH, PAD, RULE, blank, fit, font, line_height, number, stack, text_width

SWATCH = 12
BAR_HEIGHT = 14

Swatch = tuple[tuple[int, int, int], str]


def task_picture(task: Task, prediction: torch.Tensor) -> Image.Image:
    """``task.colorize(prediction)`` at display size with its title and legend below, as one PIL image."""
    picture = fit(task.colorize(prediction), discrete=isinstance(task, SegmentationTask))
    return stack(picture, task_legend(task, prediction, picture.width), title=f"{task.name} ({task.kind})")


def attention_with_legend(weights: torch.Tensor, strides: Sequence[int], title: str) -> Image.Image:
    """``models.explain.attention_picture(weights)`` with its title and the colour of each scale below."""
    picture = fit(attention_picture(weights), discrete=True)
    items = [(colour, f"1/{stride}") for stride, colour in scale_colours(strides).items()]
    legend = swatches(items, picture.width, "dominant scale (stride); paler = weights closer to uniform:")
    return stack(picture, legend, title=title)


def task_legend(task: Task, prediction: torch.Tensor, width: int) -> Image.Image:
    """The legend of one task's picture (see the module's list of colour maps)."""
    values = prediction.detach().cpu()
    if isinstance(task, SegmentationTask):
        return class_legend(task, values, width)
    if isinstance(task, DepthTask):
        depth = values.float().numpy()
        return colour_bar(*depth_range(depth), width, "depth in metres: near -> far", "m", _has_non_finite(depth))
    if isinstance(task, NormalsTask):
        return normals_key(width, _has_non_finite(values.float().numpy()))
    if isinstance(task, BinaryTask):
        return probability_bar(width, f"probability of {task.kind}")
    if isinstance(task, RegressionTask):
        return regression_legend(values.float().numpy(), width)
    return text_lines([f"no legend for task kind {task.kind!r}"], width)


def class_legend(task: Task, labels: torch.Tensor, width: int) -> Image.Image:
    """Swatches of the classes present in ``labels``, each with its index and name."""
    palette = label_palette(256)
    present = [int(k) for k in torch.unique(labels.long()) if 0 <= int(k) < 256]
    names = list(task.labels) or [f"class_{k}" for k in range(task.out_channels)]
    items = [(tuple(int(c) for c in palette[k]), f"{k} {names[k] if k < len(names) else '?'}") for k in present]
    return swatches(items, width, f"classes present ({len(present)} of {task.out_channels}):")


def colour_bar(
    low: float, high: float, width: int, title: str, unit: str = "", non_finite: bool = False
) -> Image.Image:
    """A dark-blue -> yellow bar from ``low`` to ``high`` (in ``unit``), labelled at both ends and the middle;
    with ``non_finite`` a grey swatch for the pixels without a value."""
    ramp = apply_colormap(np.linspace(0.0, 1.0, 256))[None].repeat(BAR_HEIGHT, axis=0)
    ends = [f"{number(v)}{' ' + unit if unit else ''}" for v in (low, (low + high) / 2, high)]
    return _bar(ramp, ends, width, title, non_finite)


def probability_bar(width: int, title: str) -> Image.Image:
    """A black -> white bar labelled 0, 0.5 and 1."""
    ramp = np.linspace(0, 255, 256).round().astype(np.uint8)[None, :, None].repeat(3, axis=2)
    return _bar(ramp.repeat(BAR_HEIGHT, axis=0), ["0", "0.5", "1"], width, title, False)


def regression_legend(values: np.ndarray, width: int) -> Image.Image:
    """A colour bar over the first channel's finite range, or a note for three channels shown as RGB."""
    if values.ndim == 3 and values.shape[0] == 3:
        return text_lines(
            ["channels 0, 1, 2 shown as red, green, blue,", "each stretched from its minimum to its maximum"], width
        )
    first = values if values.ndim == 2 else values[0]
    return colour_bar(*finite_range(first), width, "value (channel 0): low -> high", non_finite=_has_non_finite(first))


def normals_key(width: int, non_finite: bool = False, size: int = 56) -> Image.Image:
    """A sphere facing the camera coloured as normals are, next to which colour means which direction."""
    lines = ["red: pointing right (+x)", "green: pointing up (+y)", "blue: towards the camera (+z)",
             "e.g. wall facing you lavender, floor light green"]  # fmt: skip
    if non_finite:
        lines.append("grey: no value (NaN / inf)")
    height = max(size, len(lines) * line_height()) + 2 * PAD
    image, draw = blank(max(width, size + 3 * PAD + max(text_width(t) for t in lines)), height)
    image.paste(Image.fromarray(_sphere(size), "RGB"), (PAD, PAD))
    for row, line in enumerate(lines):
        draw.text((size + 2 * PAD, PAD + row * line_height()), line, fill=INK, font=font())
    return image


def swatches(items: Sequence[Swatch], width: int, title: str) -> Image.Image:
    """``title`` and then a colour square and label per item, flowing left to right in rows of ``width``."""
    step = line_height() + 2
    placed, x, y = [], PAD, PAD + step
    for colour, label in items:
        need = SWATCH + 4 + text_width(label) + 2 * PAD
        if x > PAD and x + need > width:
            x, y = PAD, y + step
        placed.append((x, y, colour, label))
        x += need
    image, draw = blank(max(width, text_width(title) + 2 * PAD), y + step + PAD)
    draw.text((PAD, PAD), title, fill=INK, font=font())
    for x, y, colour, label in placed:
        draw.rectangle([x, y + 2, x + SWATCH, y + 2 + SWATCH], fill=tuple(colour), outline=RULE)
        draw.text((x + SWATCH + 4, y), label, fill=INK, font=font())
    return image


def text_lines(lines: Sequence[str], width: int) -> Image.Image:
    """Plain lines of text as a legend."""
    image, draw = blank(max([width] + [text_width(t) + 2 * PAD for t in lines]), len(lines) * line_height() + 2 * PAD)
    for row, line in enumerate(lines):
        draw.text((PAD, PAD + row * line_height()), line, fill=INK, font=font())
    return image


def _bar(ramp: np.ndarray, labels: list[str], width: int, title: str, non_finite: bool) -> Image.Image:
    width = max(width, MIN_WIDTH // 2)
    bar = Image.fromarray(ramp, "RGB").resize((width - 2 * PAD, BAR_HEIGHT), Image.Resampling.BILINEAR)
    rows = 3 if non_finite else 2
    image, draw = blank(width, rows * line_height() + BAR_HEIGHT + 2 * PAD)
    draw.text((PAD, PAD), title, fill=INK, font=font())
    top = PAD + line_height()
    image.paste(bar, (PAD, top))
    under = top + BAR_HEIGHT + 2
    left, middle, right = labels
    draw.text((PAD, under), left, fill=INK, font=font())
    draw.text(((width - text_width(middle)) // 2, under), middle, fill=INK, font=font())
    draw.text((width - PAD - text_width(right), under), right, fill=INK, font=font())
    if non_finite:
        y = under + line_height()
        draw.rectangle([PAD, y + 2, PAD + SWATCH, y + 2 + SWATCH], fill=tuple(int(c) for c in NON_FINITE), outline=RULE)
        draw.text((PAD + SWATCH + 4, y), "no value (NaN / inf)", fill=INK, font=font())
    return image


def _sphere(size: int) -> np.ndarray:
    """(size, size, 3) uint8: the normals of a sphere facing the camera, coloured as ``NormalsTask.colorize``."""
    axis = (np.arange(size) + 0.5) / size * 2 - 1
    x, y = np.meshgrid(axis, -axis)  # image rows go down, +y is up
    inside = x**2 + y**2 <= 1
    z = np.sqrt(np.clip(1 - x**2 - y**2, 0, 1))
    rgb = ((np.stack([x, y, z], axis=2) + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
    rgb[~inside] = 255
    return rgb


def _has_non_finite(values: np.ndarray) -> bool:
    return not bool(np.isfinite(values).all())
