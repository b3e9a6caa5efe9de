"""The results page: every prediction of every image as a picture with its legend, side by side.

:func:`write_results_page` writes into one folder a PNG per input, per input × task and per
input × attention map, and an ``index.html`` that shows them in a table, one row per image (the
input, then each task, then each task's attention). The page is self-contained: relative links
to the PNGs next to it, inline CSS, no script and nothing fetched from elsewhere, so the folder
can be zipped, mailed or opened from a file manager.
"""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

import numpy as np
import torch
from PIL import Image

from ..errors import IncompatibleConfigError, InvalidImageError
from ..files import atomic_write
from ..inputs import ImageInput, to_image_list
from .canvas import fit, stack
from .legends import attention_with_legend, task_picture, text_lines

log = logging.getLogger(__name__)

PAGE_NAME = "index.html"
STYLE = """body{font-family:sans-serif;margin:1em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px;vertical-align:top}
th{background:#f4f4f4;font-weight:600}img{max-width:340px;height:auto;display:block}"""


def write_results_page(
    out_dir: str | os.PathLike[str],
    model: Any,
    images: Sequence[ImageInput],
    predictions: Sequence[Mapping[str, torch.Tensor]],
    explanations: Sequence[Mapping[str, Mapping[str, Any]]] | None = None,
    *,
    names: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Write the pictures and ``index.html`` into ``out_dir`` (created); returns the page's path.

    ``model`` is the network that made the outputs (its ``tasks`` colour and label them);
    ``images`` the inputs given to ``model.predict``, ``predictions`` its list of results and
    ``explanations`` (optional) ``model.explain``'s, in the same order. ``names`` label the rows
    (default: each file's name, else ``image 1``, ``image 2``, ...). Each PNG is named
    ``<row>_<name>_<what>.png`` with only letters, digits, ``.``, ``_`` and ``-`` kept.
    """
    images, predictions = list(images), list(predictions)
    explanations = list(explanations) if explanations is not None else [{} for _ in images]
    if not (len(images) == len(predictions) == len(explanations)):
        raise InvalidImageError(
            f"write_results_page needs one prediction (and explanation) per image, got {len(images)} images, "
            f"{len(predictions)} predictions and {len(explanations)} explanations"
        )
    rows = list(names) if names is not None else [_name(image, i) for i, image in enumerate(images)]
    tasks = _columns([list(p) for p in predictions], model)
    attended = _columns([list(e) for e in explanations], model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cells = [_row(out, i, rows[i], images[i], predictions[i], explanations[i], model, tasks, attended)
             for i in range(len(images))]  # fmt: skip
    headers = ["input", *tasks, *(f"attention: {t}" for t in attended)]
    page = out / PAGE_NAME
    document = _html(title or f"medusa_zoo results: {getattr(model, 'source', None) or 'model'}", headers, cells)
    atomic_write(page, lambda path: Path(path).write_text(document, encoding="utf-8"))
    log.info(
        "wrote %s (%d images, %d tasks, %d attention maps per image)", page, len(images), len(tasks), len(attended)
    )
    return page


def safe_name(text: str) -> str:
    """``text`` with every character other than letters, digits, ``.``, ``_`` and ``-`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "image"


def _name(image: ImageInput, index: int) -> str:
    if isinstance(image, (str, PurePath)):
        return PurePath(image).name
    return f"image {index + 1}"


def _columns(keys: list[list[str]], model: Any) -> list[str]:
    """Task names in the order they first appear, each known to ``model``."""
    seen: dict[str, None] = {}
    for row in keys:
        seen.update(dict.fromkeys(row))
    unknown = [t for t in seen if t not in model.tasks]
    if unknown:
        raise IncompatibleConfigError(
            f"outputs for tasks {unknown} that the model does not have (its tasks: {list(model.tasks)}); "
            "pass the model that made the predictions"
        )
    return list(seen)


def _row(out: Path, index: int, name: str, image: ImageInput, prediction: Mapping[str, torch.Tensor],
         explanation: Mapping[str, Mapping[str, Any]], model: Any, tasks: list[str],
         attended: list[str]) -> list[tuple[str, str] | None]:  # fmt: skip
    """Writes one image's PNGs; returns (file name, alt text) per column, None where there is no output."""
    stem = f"{index + 1:03d}_{safe_name(PurePath(name).stem)}"
    cells: list[tuple[str, str] | None] = [_save(out, f"{stem}_input.png", _input_picture(image, name), name)]
    for task in tasks:
        picture = task_picture(model.tasks[task], prediction[task]) if task in prediction else None
        cells.append(_save(out, f"{stem}_{safe_name(task)}.png", picture, f"{name}: {task}"))
    for task in attended:
        maps = explanation.get(task)
        picture = (
            None if maps is None else attention_with_legend(maps["scale_weights"], maps["scales"], f"{task}: attention")
        )
        cells.append(_save(out, f"{stem}_attention_{safe_name(task)}.png", picture, f"{name}: attention of {task}"))
    return cells


def _input_picture(image: ImageInput, name: str) -> Image.Image:
    [tensor], _ = to_image_list([image], min_size=1)
    rgb = (tensor.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    height, width = rgb.shape[:2]
    picture = fit(np.ascontiguousarray(rgb), discrete=False)
    return stack(picture, text_lines([f"{width} x {height} pixels"], picture.width), title=name)


def _save(out: Path, file_name: str, picture: Image.Image | None, alt: str) -> tuple[str, str] | None:
    if picture is None:
        return None
    atomic_write(out / file_name, lambda path: picture.save(path, format="PNG"))
    return file_name, alt


def _html(title: str, headers: list[str], rows: list[list[tuple[str, str] | None]]) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if cell is None:
                cells.append("<td>-</td>")
                continue
            src = esc(quote(cell[0]), quote=True)
            cells.append(f'<td><a href="{src}"><img src="{src}" alt="{esc(cell[1], quote=True)}"></a></td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    rows_html = "\n".join(body)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{esc(title)}</title>\n'
        f"<style>\n{STYLE}\n</style>\n</head>\n<body>\n<h1>{esc(title)}</h1>\n"
        "<p>One row per image: the input, each task's prediction with its legend, then what each task's "
        "Multi-Scale Attention weighs most. Click a picture for full size.</p>\n"
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows_html}\n</tbody>\n</table>\n</body>\n</html>\n"
    )
