"""save_pretrained / load("local-dir:..."): file layout, no pickle, strict weights, config validation, errors."""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import safetensors
import safetensors.torch
import torch

import medusa_zoo
from medusa_zoo import CheckpointError, IncompatibleConfigError, MedusaZooError, StateDictMismatchError

TASKS = ["semseg", "depth"]
FILES = {"config.json", "model.safetensors", "README.md"}


@pytest.fixture(scope="module")
def model() -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(0)
    return medusa_zoo.load("mtl_regnetx002", tasks=TASKS, pretrained=False, device="cpu")


@pytest.fixture(scope="module")
def saved(model: medusa_zoo.MultiTaskNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("saved") / "model"
    model.save_pretrained(directory)
    return directory


@pytest.fixture
def folder(saved: Path, tmp_path: Path) -> Path:
    """A private copy of the saved model that a test may damage."""
    return Path(shutil.copytree(saved, tmp_path / "model"))


def load_dir(directory: Path) -> medusa_zoo.MultiTaskNet:
    return medusa_zoo.load(f"local-dir:{directory}", device="cpu")


def edit_config(directory: Path, edit: Callable[[dict[str, Any]], Any]) -> None:
    path = directory / "config.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


def edit_weights(directory: Path, edit: Callable[[dict[str, torch.Tensor]], Any]) -> None:
    path = directory / "model.safetensors"
    state = safetensors.torch.load_file(path)
    edit(state)
    safetensors.torch.save_file(state, path)


def raises(error: type[MedusaZooError], match: str) -> Any:
    assert issubclass(error, MedusaZooError)
    return pytest.raises(error, match=match)


# --- what save_pretrained writes ---------------------------------------------------------------------------


def test_save_writes_config_weights_and_card(saved: Path) -> None:
    assert {p.name for p in saved.iterdir()} == FILES  # no ".model.safetensors.*.tmp" leftovers
    config = json.loads((saved / "config.json").read_text())
    assert config["format"] == "medusa_zoo.model/1"
    assert config["head"] == "mtl"
    assert config["backbone"]["timm_name"] == "regnetx_002"
    tasks = {t["name"]: t for t in config["tasks"]}
    assert list(tasks) == TASKS
    assert tasks["semseg"]["kind"] == "segmentation" and tasks["semseg"]["out_channels"] == 40
    assert len(tasks["semseg"]["labels"]) == 40 and tasks["semseg"]["labels"][0] == "wall"
    assert tasks["depth"]["kind"] == "depth" and tasks["depth"]["out_channels"] == 1
    pre = config["preprocessing"]
    assert len(pre["mean"]) == 3 and len(pre["std"]) == 3 and len(pre["input_size"]) == 2
    card = (saved / "README.md").read_text()
    assert all(name in card for name in TASKS)


def test_saving_twice_into_the_same_folder_overwrites(model: medusa_zoo.MultiTaskNet, folder: Path) -> None:
    (folder / "model.safetensors").write_bytes(b"stale")
    model.save_pretrained(folder)
    assert {p.name for p in folder.iterdir()} == FILES
    assert set(safetensors.torch.load_file(folder / "model.safetensors")) == set(model.state_dict())
    reloaded = load_dir(folder)
    for key, value in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[key], value), key


def test_weights_are_safetensors_not_pickle(model: medusa_zoo.MultiTaskNet, saved: Path) -> None:
    raw = (saved / "model.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    assert 0 < header_len < len(raw) and raw[8:9] == b"{"
    assert not raw.startswith(b"\x80") and not raw.startswith(b"PK")  # neither pickle nor torch.save zip
    with safetensors.safe_open(saved / "model.safetensors", framework="pt") as f:
        assert set(f.keys()) == set(model.state_dict())


# --- strict weights -------------------------------------------------------------------------------------------


def test_missing_tensor_is_refused(folder: Path) -> None:
    key = "decoder.heads.depth.classifier.bias"
    edit_weights(folder, lambda s: s.pop(key))
    with raises(StateDictMismatchError, "missing") as info:
        load_dir(folder)
    assert key in str(info.value) and info.value.missing == [key]
    assert info.value.unexpected == [] and info.value.mismatched == []


def test_unexpected_tensor_is_refused(folder: Path) -> None:
    key = "decoder.heads.extra.weight"
    edit_weights(folder, lambda s: s.__setitem__(key, torch.zeros(3)))
    with raises(StateDictMismatchError, "unexpected") as info:
        load_dir(folder)
    assert key in str(info.value) and info.value.unexpected == [key] and info.value.missing == []


def test_wrong_shape_is_refused(folder: Path) -> None:
    key = "decoder.heads.depth.classifier.bias"
    edit_weights(folder, lambda s: s.__setitem__(key, torch.zeros(2)))
    with raises(StateDictMismatchError, "wrong shape") as info:
        load_dir(folder)
    assert key in str(info.value) and len(info.value.mismatched) == 1


def _normals_instead_of_depth(config: dict[str, Any]) -> None:
    config["tasks"][1] = {"name": "normals", "kind": "normals", "out_channels": 3}


def _semseg_with_21_classes(config: dict[str, Any]) -> None:
    config["tasks"][0]["out_channels"] = 21
    config["tasks"][0]["labels"] = [f"class_{i}" for i in range(21)]


@pytest.mark.parametrize(
    ("edit", "phrase", "head_key"),
    [
        (_normals_instead_of_depth, "missing", "decoder.heads.normals."),
        (_normals_instead_of_depth, "unexpected", "decoder.heads.depth."),
        (_semseg_with_21_classes, "wrong shape", "decoder.heads.semseg.classifier."),
    ],
    ids=["normals_missing", "depth_unexpected", "semseg_21_classes"],
)
def test_weights_saved_for_other_tasks_are_refused(folder: Path, edit: Callable, phrase: str, head_key: str) -> None:
    edit_config(folder, edit)
    with raises(StateDictMismatchError, phrase) as info:
        load_dir(folder)
    assert head_key in str(info.value)


# --- config validation ---------------------------------------------------------------------------------------

CONFIG_CASES: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "no_format": (lambda c: c.pop("format"), "not written by medusa_zoo"),
    "wrong_format": (lambda c: c.update(format="other.model/9"), "medusa_zoo.model/1"),
    "unknown_head": (lambda c: c.update(head="evil"), "evil"),
    "unknown_task_kind": (lambda c: c["tasks"][1].update(kind="evil_kind"), "evil_kind"),
    "unknown_timm_name": (lambda c: c["backbone"].update(timm_name="not_a_model_xyz"), "not_a_model_xyz"),
    "no_tasks": (lambda c: c.pop("tasks"), "lacks the field 'tasks'"),
    "tasks_is_int": (lambda c: c.update(tasks=5), "malformed"),
    "tasks_is_str": (lambda c: c.update(tasks="semseg"), "malformed"),
    "empty_tasks": (lambda c: c.update(tasks=[]), "at least one task"),
    "task_lacks_kind": (lambda c: c["tasks"][1].pop("kind"), "lacks the field 'kind'"),
    "bool_out_channels": (lambda c: c["tasks"][1].update(out_channels=True), "out_channels"),
    "zero_std": (lambda c: c["preprocessing"].update(std=[0.2, 0.0, 0.2]), "positive stds"),
    "two_means": (lambda c: c["preprocessing"].update(mean=[0.5, 0.5]), "3 means"),
    "duplicate_tasks": (lambda c: c["tasks"].append(dict(c["tasks"][1])), "unique"),
    "backbone_is_str": (lambda c: c.update(backbone="regnetx_002"), "malformed"),
    "unknown_head_option": (lambda c: c.update(head_options={"bogus": 1}), "bogus"),
}


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_bad_config_is_refused(folder: Path, case: str) -> None:
    edit, phrase = CONFIG_CASES[case]
    edit_config(folder, edit)
    with raises(IncompatibleConfigError, phrase):
        load_dir(folder)


# Bad backbone fields must not escape from timm as TypeError / IndexError, and NaN must not pass as a std.
@pytest.mark.parametrize(
    ("edit", "phrase"),
    [
        pytest.param(
            lambda c: c["backbone"].update(kwargs={"not_an_arg": 1}), "not_an_arg", id="unknown_kwarg",
        ),
        pytest.param(
            lambda c: c["backbone"].update(kwargs={"pretrained": True}), "pretrained", id="clashing_kwarg",
        ),
        pytest.param(
            lambda c: c["backbone"].update(out_indices=[1, 2, 3, 9]), "out_indices", id="out_of_range_level",
        ),
        pytest.param(
            lambda c: c["preprocessing"].update(std=[float("nan")] * 3), "std", id="nan_std",
        ),
        pytest.param(lambda c: c["backbone"].update(max_channels=0), "max_channels", id="zero_max_channels"),
        pytest.param(lambda c: c["backbone"].update(kwargs=[1]), "JSON object", id="kwargs_not_object"),
    ],
)
def test_bad_backbone_or_nan_config_is_refused(folder: Path, edit: Callable, phrase: str) -> None:
    edit_config(folder, edit)
    with raises(IncompatibleConfigError, phrase):
        load_dir(folder)


def test_local_dir_rejects_tasks_argument(saved: Path) -> None:
    with raises(IncompatibleConfigError, "config.json"):
        medusa_zoo.load(f"local-dir:{saved}", tasks=["semseg"], device="cpu")


# --- broken folders and files --------------------------------------------------------------------------------


def test_nonexistent_folder(tmp_path: Path) -> None:
    with raises(CheckpointError, "is not a folder"):
        medusa_zoo.load("local-dir:/nonexistent", device="cpu")
    (tmp_path / "file.txt").write_text("x")
    with raises(CheckpointError, "is not a folder"):  # a file is not a folder either
        load_dir(tmp_path / "file.txt")


def test_folder_without_config(folder: Path) -> None:
    (folder / "config.json").unlink()
    with raises(CheckpointError, "config.json"):
        load_dir(folder)


@pytest.mark.parametrize(("text", "phrase"), [("{not json", "not valid JSON"), ("[1, 2]", "JSON object"),
                                              ("", "not valid JSON"), ("\udcff", "not valid JSON")])
def test_config_that_is_not_a_json_object(folder: Path, text: str, phrase: str) -> None:
    (folder / "config.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with raises(CheckpointError, phrase):
        load_dir(folder)


def test_folder_without_weights(folder: Path) -> None:
    (folder / "model.safetensors").unlink()
    with raises(CheckpointError, "does not exist"):
        load_dir(folder)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "bad_header", "empty"])
def test_unreadable_weights(folder: Path, damage: str) -> None:
    path = folder / "model.safetensors"
    raw = path.read_bytes()
    path.write_bytes({
        "truncated": raw[: len(raw) // 2],
        "garbage": b"this is not a safetensors file " * 64,
        "bad_header": struct.pack("<Q", 16) + b"{not json at all" + b"\0" * 64,
        "empty": b"",
    }[damage])
    with raises(CheckpointError, "not a readable safetensors file"):
        load_dir(folder)


# --- generic timm backbone, atomic write ---------------------------------------------------------------------


def test_generic_timm_backbone_round_trips_bit_identically(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = medusa_zoo.build_model("mtl", "mobilenetv3_small_050", tasks=["depth"], input_size=(64, 64))
    model.train()
    with torch.no_grad():  # move BatchNorm statistics away from their initial values
        model(torch.randn(2, 3, 64, 64))
    model.eval()
    assert model.feature_info.strides[0] >= 4
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["backbone"]["timm_name"] == "mobilenetv3_small_050"
    assert config["backbone"]["out_indices"] and 0 not in config["backbone"]["out_indices"]  # stride-2 level dropped
    reloaded = load_dir(tmp_path)
    assert reloaded.feature_info == model.feature_info
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(reloaded(x).logits["depth"], model(x).logits["depth"])


def test_failed_save_keeps_the_previous_files(
    model: medusa_zoo.MultiTaskNet, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {name: (folder / name).read_bytes() for name in FILES}

    def broken_save_file(tensors: dict, filename: str, metadata: dict | None = None) -> None:
        Path(filename).write_bytes(b"half a file")  # die midway through writing
        raise RuntimeError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", broken_save_file)
    with pytest.raises(RuntimeError, match="disk full"):
        model.save_pretrained(folder)
    assert {p.name for p in folder.iterdir()} == FILES  # temp file removed
    assert {name: (folder / name).read_bytes() for name in FILES} == before
