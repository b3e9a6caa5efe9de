"""The families of issue 15 that are not random: huge inputs, files that are not files, hostile weights and head
files, a full disk, a broken or slow Hub. Each is an explicit case, classified like the random ones."""

from __future__ import annotations

import errno
import json
import os
import warnings
from pathlib import Path

import httpx2
import huggingface_hub
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

import medusa_zoo
from medusa_zoo.fetch import hub_file
from medusa_zoo.limits import limits
from tests.fuzz.harness import assert_ok
from tests.hub_server import HubServer
from tests.models.test_weights_hardening import copy_of, first_weight

ARCH = "stl_regnetx002"


@pytest.fixture(scope="module")
def model() -> medusa_zoo.MultiTaskNet:
    return medusa_zoo.load("medusa_efficientnet_lite0", device="cpu")


def _huge_png(tmp_path: Path) -> Path:
    path = tmp_path / "huge.png"
    Image.new("P", (12000, 12000)).save(path)  # a few hundred kB on disk, 144 M pixels decoded
    return path


def _opened(path: Path) -> Image.Image:
    with warnings.catch_warnings():  # PIL warns the caller who opens it; what predict does is the test
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path)


HUGE = {
    "8000x8000 tensor (no memory behind it)": lambda tmp: torch.zeros(1, 1, 1).expand(3, 8000, 8000),
    "8000x8000 uint8 array": lambda tmp: np.zeros((8000, 8000, 3), np.uint8),
    "batch of 2 huge images": lambda tmp: torch.zeros(1, 1, 1, 1).expand(2, 3, 6000, 6000),
    "12000x12000 PNG file": _huge_png,
    "12000x12000 PNG as a PIL image": lambda tmp: _opened(_huge_png(tmp)),
}


@pytest.mark.parametrize("case", sorted(HUGE))
@pytest.mark.parametrize("method", ["predict", "features"])
def test_huge_inputs_are_refused_before_allocating(model, tmp_path, case, method) -> None:
    value = HUGE[case](tmp_path)
    assert_ok("memory: huge inputs", lambda: getattr(model, method)(value), "typed", match="max_image_pixels")


def test_a_huge_canvas_is_refused(model) -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    assert_ok("memory: huge inputs", lambda: model.predict(image, size=(100_000, 100_000)), "typed",
              match="max_image_pixels")


def _fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "pipe.png")
    return tmp_path / "pipe.png"


NOT_FILES = {"a FIFO": _fifo, "/dev/zero": lambda tmp: Path("/dev/zero"), "a folder": lambda tmp: tmp}


@pytest.mark.parametrize("case", sorted(NOT_FILES))
def test_paths_that_are_not_regular_files_never_block(model, tmp_path, case) -> None:
    path = NOT_FILES[case](tmp_path)
    assert_ok("files: not regular files", lambda: model.predict(path), "typed", seconds=10)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return medusa_zoo.load(ARCH, tasks=["depth"], pretrained=False, device="cpu").save_pretrained(
        tmp_path_factory.mktemp("saved") / "model")


WEIGHTS = {
    "NaN": lambda s: s[first_weight(s)].view(-1).__setitem__(0, float("nan")),
    "inf": lambda s: s[first_weight(s)].view(-1).__setitem__(0, float("inf")),
    "int32": lambda s: s.__setitem__(first_weight(s), s[first_weight(s)].to(torch.int32)),
    "float8": lambda s: s.__setitem__(first_weight(s), s[first_weight(s)].to(torch.float8_e4m3fn)),
    "missing tensor": lambda s: s.pop(first_weight(s)),
    "wrong shape": lambda s: s.__setitem__(first_weight(s), torch.zeros(1)),
}


@pytest.mark.parametrize("damage", sorted(WEIGHTS))
def test_hostile_weights_are_refused(saved, tmp_path, damage) -> None:
    folder = copy_of(saved, tmp_path)
    state = load_file(folder / "model.safetensors")
    WEIGHTS[damage](state)
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    assert_ok("weights: hostile tensors", lambda: medusa_zoo.load(f"local-dir:{folder}", device="cpu"), "typed")


@pytest.mark.parametrize("edit", ["kind", "task", "format", "garbage"])
def test_tampered_head_files_are_refused(tmp_path, edit) -> None:
    torch.manual_seed(0)
    model = medusa_zoo.load("mtl_regnetx002", tasks=["depth", "saliency"], pretrained=False, device="cpu")
    head = model.save_head("depth", tmp_path / "head")
    record_path = head / "head.json" if head.is_dir() else tmp_path / "head" / "head.json"
    record = json.loads(record_path.read_text())
    if edit == "garbage":
        record_path.write_text("{\"format\": [")
    else:
        key = {"kind": "task", "task": "task", "format": "format"}[edit]
        record[key] = {"name": "depth", "kind": "saliency", "out_channels": 1} if edit == "kind" else (
            "other" if edit == "task" else "medusa_zoo.head/1")
        record_path.write_text(json.dumps(record))
    model.remove_task("depth")
    assert_ok("head files: tampered", lambda: model.load_head(tmp_path / "head"), "typed")


def test_saving_on_a_full_disk_keeps_the_previous_files(saved, tmp_path, monkeypatch) -> None:
    folder = copy_of(saved, tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    model = medusa_zoo.load(f"local-dir:{folder}", device="cpu")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("safetensors.torch.save_file", full)
    assert_ok("save: full disk", lambda: model.save_pretrained(folder), "typed", match="no space left")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.parametrize("raised", [httpx2.RemoteProtocolError("peer closed connection"), httpx2.ReadTimeout("slow"),
                                    httpx2.ConnectError("refused"), ConnectionResetError(104, "reset")],
                         ids=["remote-protocol", "read-timeout", "connect", "reset"])
def test_transport_failures_are_typed(tmp_path, monkeypatch, raised) -> None:
    def broken(*args, **kwargs):
        raise raised

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", broken)
    assert_ok("hf-hub: transport failures",
              lambda: medusa_zoo.load("hf-hub:medusa-fuzz/any@main", device="cpu", cache_dir=tmp_path), "typed")


def test_a_trickling_server_meets_the_deadline(hub: HubServer, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    repo = "medusa-fuzz/trickle"
    sha = hub.add_commit(repo, {"model.safetensors": bytes(64 * 1024)})
    hub.trickle(repo, delay_s=0.02, chunk=64)
    try:
        with limits(download_timeout_s=1.0):
            assert_ok("hf-hub: slow server", lambda: hub_file(repo, "model.safetensors", sha, cache_dir=tmp_path),
                      "typed", match="download_timeout_s", seconds=10)
    finally:
        hub.stop_trickle(repo)
    assert list(tmp_path.rglob("*.incomplete")) == []


@pytest.mark.parametrize("damage", ["edited std", "truncated"])
def test_a_damaged_cached_config_is_fetched_again(hub: HubServer, saved, tmp_path, monkeypatch, damage) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    repo = "medusa-fuzz/cached-config"
    hub.add_commit(repo, {p.name: p.read_bytes() for p in saved.iterdir()})
    name = f"hf-hub:{repo}@main"
    medusa_zoo.load(name, device="cpu", cache_dir=tmp_path)
    [config] = [p for p in tmp_path.rglob("config.json")]
    text = config.read_text()
    config.unlink()  # the snapshot entry is a link to the blob: write through a plain file in its place
    config.write_text(text.replace("0.229", "1e-05") if damage == "edited std" else text[:30])
    expected = medusa_zoo.load(f"local-dir:{saved}", device="cpu").config

    def check(model) -> bool:
        return model.config == expected

    assert_ok("hf-hub: damaged cache", lambda: medusa_zoo.load(name, device="cpu", cache_dir=tmp_path), "correct", check)
