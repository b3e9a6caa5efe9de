"""The user commands: predict, explain, list, info — happy paths on the bundled default model and typed errors."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medusa_zoo.cli import main

ALL_TASKS = ("semseg", "depth", "normals", "edge", "saliency", "parts")


@pytest.fixture()
def photos(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for name, size in (("room one.png", (48, 64)), ("two.jpg", (40, 40))):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    return paths


class Sources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.src: list[str] = []
        self.headers: list[str] = []
        self._th = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.src += [v or "" for k, v in attrs if tag == "img" and k == "src"]
        self._th = tag == "th"

    def handle_data(self, data: str) -> None:
        if self._th:
            self.headers.append(data)
            self._th = False


def parsed(page: Path) -> Sources:
    sources = Sources()
    sources.feed(page.read_text(encoding="utf-8"))
    assert all((page.parent / s).is_file() for s in sources.src)
    return sources


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- predict


def test_predict_writes_a_picture_per_task_the_attention_and_the_page(photos, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run(["predict", photos[0], "--out", str(out), "--no-progress"], capsys)
    assert code == 0
    assert f"open {(out / 'index.html').resolve()}" in stdout and "6 task pictures and 6 attention pictures" in stdout
    page = parsed(out / "index.html")
    assert page.headers == ["input", *ALL_TASKS, *(f"attention: {t}" for t in ALL_TASKS)]
    assert len(page.src) == 13 and "001_room_one_depth.png" in page.src


def test_predict_some_tasks_of_several_images(photos, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code, _, _ = run(["predict", *photos, "--tasks", "semseg", "depth", "--out", str(out), "--no-attention",
                      "--no-progress"], capsys)  # fmt: skip
    assert code == 0
    page = parsed(out / "index.html")
    assert page.headers == ["input", "semseg", "depth"] and len(page.src) == 2 * 3


def test_predict_with_a_model_without_attention_still_writes_the_page(photos, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run(["predict", photos[1], "--model", "mtinet_efficientnet_lite0", "--out", str(out),
                           "--no-progress"], capsys)  # fmt: skip
    assert code == 0 and "attention" not in stdout
    assert parsed(out / "index.html").headers == ["input", *ALL_TASKS]


def test_predict_a_missing_image_is_a_usage_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["predict", str(tmp_path / "nope.png"), "--out", str(tmp_path)])
    assert done.value.code == 2 and "nope.png' does not exist" in capsys.readouterr().err


def test_predict_a_file_that_is_no_image_is_a_typed_error(tmp_path, capsys) -> None:
    (tmp_path / "notes.png").write_text("not a picture")
    code, _, err = run(["predict", str(tmp_path / "notes.png"), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and err.startswith("error: ") and "notes.png" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, says", [
    (["--model", "nope"], "unknown architecture 'nope'"),
    (["--tasks", "semseg", "clouds"], "clouds"),
])  # fmt: skip
def test_predict_unknown_model_or_task_is_a_typed_error(photos, tmp_path, capsys, argv, says) -> None:
    code, _, err = run(["predict", photos[0], *argv, "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and err.startswith("error: ") and says in err
    assert not (tmp_path / "out" / "index.html").exists()


# ---------------------------------------------------------------- explain


def test_explain_writes_attention_pictures_and_prints_the_scale_weights(photos, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run(["explain", *photos, "--tasks", "semseg", "edge", "--out", str(out), "--no-progress"], capsys)
    assert code == 0
    assert "room one.png:" in stdout and "semseg: 1/4 weight" in stdout and "mask" in stdout
    page = parsed(out / "index.html")
    assert page.headers == ["input", "attention: semseg", "attention: edge"] and len(page.src) == 2 * 3


def test_explain_a_model_without_attention_is_one_typed_line(photos, tmp_path, capsys) -> None:
    code, _, err = run(["explain", photos[0], "--model", "mtinet_efficientnet_lite0", "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: this 'mtinet' model") and "no scale attention" in err


# ---------------------------------------------------------------- list and info


def test_list_architectures_and_checkpoints(capsys) -> None:
    code, stdout, _ = run(["list", "medusa*"], capsys)
    assert code == 0 and "medusa_efficientnet_lite0" in stdout.split() and "mtinet_hrnet18" not in stdout
    code, stdout, _ = run(["list", "--pretrained"], capsys)
    assert code == 0 and "medusa_efficientnet_lite0.synthrooms" in stdout.split()


def test_list_without_a_match_says_so_and_exits_1(capsys) -> None:
    code, stdout, err = run(["list", "zz*"], capsys)
    assert code == 1 and stdout == "" and "no architectures match 'zz*'" in err


def test_info_shows_params_tasks_labels_input_size_licence_and_metrics(capsys) -> None:
    code, stdout, _ = run(["info", "medusa_efficientnet_lite0"], capsys)
    assert code == 0
    for line in (
        "weights:     medusa_efficientnet_lite0.synthrooms",
        "input size:  192 x 256",
        "licence:     Apache-2.0",
        "semseg (segmentation, 12 classes: floor, wall",
        "metrics (synthrooms val, 300 images):",
        "semseg: mIoU",
    ):
        assert line in stdout, line  # fmt: skip
    params = next(line for line in stdout.splitlines() if "parameters:" in line)
    assert int(params.split()[-1].replace(",", "")) > 1_000_000


def test_info_unknown_model_is_a_typed_error(capsys) -> None:
    code, _, err = run(["info", "nope"], capsys)
    assert code == 2 and "unknown architecture 'nope'" in err


@pytest.mark.parametrize("command, says", [("predict", "IMAGE"), ("explain", "Only Medusa heads have these attentions"), ("list", "--pretrained"),
                                           ("info", "pretrained_cfg")])  # fmt: skip
def test_user_commands_have_help(command, says, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and says in " ".join(out.split())
