"""The results page: one PNG per input × task and attention map, an index.html that links them all
relatively, escapes every name, fetches nothing; and, where Chromium is installed, renders non-blank."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from medusa_zoo.errors import IncompatibleConfigError, InvalidImageError
from medusa_zoo.pictures import write_results_page
from medusa_zoo.tasks import get_task

TASKS = ("semseg", "depth", "normals", "edge")
STRIDES = [4, 8, 16, 32]


class Page(HTMLParser):
    """The parts of index.html the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.links: list[str] = []
        self.headers: list[str] = []
        self.rows = 0
        self.tags: set[str] = set()
        self._in_header = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images.append(values)
        if tag == "a":
            self.links.append(values["href"])
        if tag == "tr":
            self.rows += 1
        self._in_header = tag == "th"

    def handle_data(self, data: str) -> None:
        if self._in_header:
            self.headers.append(data)
            self._in_header = False


def fake_outputs(size: tuple[int, int], seed: int) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(seed)
    h, w = size
    prediction = {
        "semseg": torch.randint(0, 40, size, generator=g),
        "depth": torch.rand(size, generator=g) * 5,
        "normals": torch.nn.functional.normalize(torch.randn(3, h, w, generator=g), dim=0),
        "edge": torch.rand(size, generator=g),
    }
    prediction["depth"][0, 0] = float("inf")
    weights = torch.softmax(torch.randn(len(STRIDES), h, w, generator=g) * 3, dim=0)
    explanation = {t: {"scales": STRIDES, "scale_weights": weights, "mask_energy": torch.rand(4)} for t in TASKS[:2]}
    return prediction, explanation


@pytest.fixture()
def page(tmp_path: Path) -> tuple[Path, list[str]]:
    odd = tmp_path / 'a <b> & "c" #1.png'  # a file name that needs escaping in HTML and in a URL
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(odd)
    images = [str(odd), torch.rand(3, 24, 20)]
    outputs = [fake_outputs((30, 40), 1), fake_outputs((24, 20), 2)]
    model = SimpleNamespace(tasks={t: get_task(t) for t in TASKS}, source="test-model")
    index = write_results_page(tmp_path / "out", model, images, [o[0] for o in outputs], [o[1] for o in outputs])
    return index, [Path(images[0]).name, "image 2"]


def test_every_picture_is_linked_relatively_and_exists(page: tuple[Path, list[str]]) -> None:
    index, names = page
    parsed = Page()
    parsed.feed(index.read_text(encoding="utf-8"))
    assert parsed.headers == ["input", *TASKS, "attention: semseg", "attention: depth"]
    assert parsed.rows == 1 + 2  # the header and one row per image
    assert len(parsed.images) == 2 * (1 + len(TASKS) + 2)
    for image in parsed.images:
        src = image["src"]
        assert "/" not in src and ":" not in src, f"not a relative link in the same folder: {src}"
        assert (index.parent / src).is_file()
        assert Image.open(index.parent / src).size[0] >= 256
    assert set(parsed.links) == {i["src"] for i in parsed.images}
    assert not parsed.tags & {"script", "link", "iframe", "object"}, "the page fetches nothing and runs nothing"
    alts = [i["alt"] for i in parsed.images]
    assert f"{names[0]}: semseg" in alts and f"{names[1]}: attention of depth" in alts  # unescaped back intact


def test_file_names_keep_only_safe_characters(page: tuple[Path, list[str]]) -> None:
    index, _ = page
    files = sorted(p.name for p in index.parent.glob("*.png"))
    assert "001_a_b_c_1_semseg.png" in files and "002_image_2_attention_depth.png" in files
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") for name in files)
    assert "<b>" not in index.read_text(encoding="utf-8").replace("<body>", "")


def test_mismatched_outputs_are_refused(tmp_path: Path) -> None:
    model = SimpleNamespace(tasks={"edge": get_task("edge")})
    with pytest.raises(InvalidImageError, match="one prediction .* per image, got 2 images, 1 predictions"):
        write_results_page(tmp_path, model, [torch.rand(3, 4, 4)] * 2, [{"edge": torch.rand(4, 4)}])
    with pytest.raises(IncompatibleConfigError, match=r"tasks \['depth'\] that the model does not have"):
        write_results_page(tmp_path, model, [torch.rand(3, 4, 4)], [{"depth": torch.rand(4, 4)}])


def _browser() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.slow
@pytest.mark.skipif(_browser() is None, reason="no chromium / chromium-browser / google-chrome on PATH "
                    "(apt-get install chromium to run the browser test)")  # fmt: skip
def test_the_page_renders_in_a_real_browser(page: tuple[Path, list[str]], tmp_path: Path) -> None:
    index, _ = page
    shot = tmp_path / "screenshot.png"
    command = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1400,900",
               index.resolve().as_uri()]  # fmt: skip
    subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "the browser wrote no screenshot"
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    distinct = len(np.unique(pixels.reshape(-1, 3), axis=0))
    white = (pixels == 255).all(axis=2).mean()
    assert distinct > 1000, f"only {distinct} colours: the pictures did not load"
    assert white < 0.9, f"{white:.0%} of the screenshot is white"
