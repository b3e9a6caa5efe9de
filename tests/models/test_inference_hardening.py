"""``predict`` / ``features`` on the bundled default model: any size works, bad arguments and huge inputs are typed.

The model loads once per module, offline from the package. Huge inputs run in a child process
under an address-space limit, so a regression fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import io
import json
import pathlib
import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

import medusa_zoo
from medusa_zoo import MultiTaskNet
from medusa_zoo.errors import ImageTooLargeError, InvalidImageError, MedusaZooError, UnknownTaskError
from medusa_zoo.limits import limits

MODEL = "medusa_efficientnet_lite0"


@pytest.fixture(scope="module")
def model() -> MultiTaskNet:
    return medusa_zoo.load(MODEL, device="cpu")


def _check_outputs(model: MultiTaskNet, out: dict[str, torch.Tensor], h: int, w: int) -> None:
    assert set(out) == set(model.tasks)
    for name, value in out.items():
        assert value.shape == ((3, h, w) if name == "normals" else (h, w)), (name, value.shape)
        assert value.dtype == (torch.int64 if name in ("semseg", "parts") else torch.float32), (name, value.dtype)
        assert bool(torch.isfinite(value.float()).all()), name


@pytest.mark.parametrize("h, w", [(1, 1), (1, 7), (7, 1), (2, 3), (31, 33), (1, 600)])
def test_any_size_predicts_at_its_own_size(model: MultiTaskNet, h: int, w: int) -> None:
    image = torch.rand(3, h, w, generator=torch.Generator().manual_seed(h * 1000 + w))
    _check_outputs(model, model.predict(image), h, w)  # fitted to the design size
    _check_outputs(model, model.predict(image, native=True), h, w)  # padded to the stride, cropped back
    features = model.features(image)
    assert [m.shape[-2:] for m in features.maps] == [(-(-h // s), -(-w // s)) for s in features.strides]
    assert features.embedding.shape[0] == 1 and bool(torch.isfinite(features.embedding).all())


def test_extreme_aspect_batch(model: MultiTaskNet) -> None:
    outs = model.predict([np.zeros((1, 5000, 3), np.uint8), np.full((3, 7), 200, np.uint8)], tasks="depth")
    assert [o["depth"].shape for o in outs] == [(1, 5000), (3, 7)]


def test_exif_rotated_jpeg_gives_outputs_in_the_rotated_shape(model: MultiTaskNet,
                                                             tmp_path: pathlib.Path) -> None:
    im = Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 48, 3), dtype=np.uint8))
    exif = im.getexif()
    exif[0x0112] = 8  # "rotate 90 CCW to view": shown 48 high, 20 wide
    path = tmp_path / "turned.jpg"
    im.save(path, exif=exif.tobytes())
    out = model.predict(path, tasks=["semseg", "normals"])
    assert out["semseg"].shape == (48, 20) and out["normals"].shape == (3, 48, 20)
    assert model.predict(Image.open(path), tasks="depth")["depth"].shape == (48, 20)


BAD_ARGUMENTS = {
    "batch_size -1": ({"batch_size": -1}, InvalidImageError, "positive int"),
    "batch_size 0": ({"batch_size": 0}, InvalidImageError, "positive int"),
    "batch_size True": ({"batch_size": True}, InvalidImageError, "True"),
    "batch_size 2.0": ({"batch_size": 2.0}, InvalidImageError, "2.0"),
    "batch_size '8'": ({"batch_size": "8"}, InvalidImageError, "'8'"),
    "batch_size None": ({"batch_size": None}, InvalidImageError, "None"),
    "tasks []": ({"tasks": []}, InvalidImageError, "non-empty"),
    "tasks 5": ({"tasks": 5}, InvalidImageError, "task names"),
    "tasks [1]": ({"tasks": [1]}, InvalidImageError, "[1]"),
    "tasks [['depth']]": ({"tasks": [["depth"]]}, InvalidImageError, "task names"),
    "tasks {'depth'}": ({"tasks": {"depth"}}, InvalidImageError, "list of task names"),
    "tasks unknown": ({"tasks": ["depth", "dpeth"]}, UnknownTaskError, "dpeth"),
    "tasks 'training'": ({"tasks": "training"}, UnknownTaskError, "its tasks are"),
    "size -3": ({"size": -3}, InvalidImageError, "size must be"),
    "size and native": ({"size": 64, "native": True}, InvalidImageError, "not both"),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_bad_predict_arguments_are_typed(model: MultiTaskNet, case: str) -> None:
    kwargs, error, word = BAD_ARGUMENTS[case]
    with pytest.raises(error) as info:
        model.predict(torch.rand(3, 8, 8), **kwargs)
    assert isinstance(info.value, MedusaZooError) and word in str(info.value)


def test_duplicate_tasks_and_batch_size_one(model: MultiTaskNet) -> None:
    outs = model.predict([torch.rand(3, 8, 8), torch.rand(3, 8, 8)], tasks=["depth", "depth"], batch_size=1)
    assert [list(o) for o in outs] == [["depth"], ["depth"]]


_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, torch
    from PIL import Image
    import medusa_zoo
    from medusa_zoo.errors import ImageTooLargeError

    model = medusa_zoo.load("MODEL", device="cpu")
    png = sys.argv[1]
    Image.new("P", (12000, 12000)).save(png)  # 144 M pixels in a file of a few hundred KB
    cases = {
        "tensor 8000x8000": lambda: torch.zeros(1, 1, 1).expand(3, 8000, 8000),
        "uint8 tensor 8000x8000": lambda: torch.empty(3, 8000, 8000, dtype=torch.uint8),
        "batch of 2": lambda: torch.zeros(1, 1, 1, 1).expand(2, 3, 8000, 8000),
        "numpy 8000x8000": lambda: np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (8000, 8000, 3)),
        "PNG path 12000x12000": lambda: png,
        "PIL image 12000x12000": lambda: Image.open(png),
    }
    report = {"png_bytes": __import__("os").path.getsize(png)}
    for name, make in cases.items():
        for call in ("predict", "features"):
            start = time.perf_counter()
            try:
                getattr(model, call)(make())
                outcome = "accepted"
            except ImageTooLargeError as err:
                outcome = str(err)
            report[f"{call} {name}"] = [outcome, time.perf_counter() - start]
    print(json.dumps(report))
    """
).replace("MODEL", MODEL)


def _address_space(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.slow
def test_huge_inputs_are_refused_before_allocating(tmp_path: pathlib.Path) -> None:
    """An 8000x8000 tensor and a tiny-on-disk 12000x12000 PNG, under a 6 GiB address-space limit."""
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "huge.png")], capture_output=True, text=True, timeout=240, check=False,
        preexec_fn=lambda: _address_space(6 << 30), env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report.pop("png_bytes") < 2_000_000
    assert len(report) == 12
    for name, (outcome, seconds) in report.items():
        assert "set_limits(max_image_pixels=" in outcome, (name, outcome)
        assert ("12000x12000" if "12000" in name else "8000x8000") in outcome, (name, outcome)
        assert seconds < 5, (name, seconds)


def test_decompression_bomb_file_is_typed(model: MultiTaskNet, tmp_path: pathlib.Path) -> None:
    """A PNG whose header promises 4000x4000 (16 M pixels) in about 16 KB, under a 1 M-pixel budget."""
    buffer = io.BytesIO()
    Image.new("L", (4000, 4000)).save(buffer, "PNG")
    path = tmp_path / "bomb.png"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 100_000
    with limits(max_image_pixels=1_000_000), pytest.raises(ImageTooLargeError) as info:
        model.predict(path)
    assert "4000x4000 = 16,000,000 pixels" in str(info.value) and "1,000,000" in str(info.value)
    assert isinstance(info.value, InvalidImageError) and info.value.limit == "max_image_pixels"
