"""Drawing helpers the legends share: a font, a display width, text, and a picture above its legend.

Only PIL: a legend is a small RGB image drawn under the picture it explains, at the picture's
display width, so the result is one PNG that reads on its own (in a file browser, a chat, a report).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MIN_WIDTH, MAX_WIDTH = 256, 1024
"""Pictures are shown at least this wide (small predictions are enlarged, pixels kept square and sharp)
and at most this wide (a 24-megapixel prediction becomes a picture a page can show), so the legend's
text stays readable next to them."""
FONT_SIZE = 13
PAD = 6
INK, PAPER, RULE = (20, 20, 20), (255, 255, 255), (200, 200, 200)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=4)
def font(size: int = FONT_SIZE) -> Font:
    """PIL's bundled font at ``size`` pixels (no system font needed)."""
    return ImageFont.load_default(size=size)


def text_width(text: str, size: int = FONT_SIZE) -> int:
    """Width in pixels of ``text`` in :func:`font`."""
    return int(np.ceil(font(size).getlength(text)))


def line_height(size: int = FONT_SIZE) -> int:
    """Height of a line of text in :func:`font`, with a little leading."""
    return size + 4


def display_width(width: int) -> int:
    """The width a picture ``width`` pixels wide is shown at: ``width`` within [MIN_WIDTH, MAX_WIDTH]."""
    if width < MIN_WIDTH:
        return width * -(-MIN_WIDTH // width)  # a whole multiple: every pixel becomes an equal square
    return min(width, MAX_WIDTH)


def fit(picture: np.ndarray, discrete: bool) -> Image.Image:
    """(H, W, 3) uint8 -> a PIL image at :func:`display_width`; ``discrete`` pictures (labels, scales)
    are resized by nearest neighbour so no colour appears that is not in the legend."""
    image = Image.fromarray(np.ascontiguousarray(picture), "RGB")
    width = display_width(image.width)
    if width == image.width:
        return image
    height = max(1, round(image.height * width / image.width))
    resample = Image.Resampling.NEAREST if discrete or width > image.width else Image.Resampling.BILINEAR
    return image.resize((width, height), resample)


def blank(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A white RGB canvas and a drawing context on it."""
    image = Image.new("RGB", (max(1, width), max(1, height)), PAPER)
    return image, ImageDraw.Draw(image)


def stack(picture: Image.Image, legend: Image.Image, title: str | None = None) -> Image.Image:
    """``title`` (optional) above ``picture`` above ``legend``, separated by a thin rule, on white."""
    head = line_height() + PAD if title else 0
    width = max(picture.width, legend.width)
    out, draw = blank(width, head + picture.height + 1 + legend.height)
    if title:
        draw.text((PAD, PAD // 2), title, fill=INK, font=font())
    out.paste(picture, (0, head))
    draw.line([(0, head + picture.height), (width, head + picture.height)], fill=RULE)
    out.paste(legend, (0, head + picture.height + 1))
    return out


def number(value: float) -> str:
    """A short human form of a legend's number (4 significant digits)."""
    return f"{value:.4g}"
