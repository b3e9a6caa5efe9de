"""Weights and head files we did not write: refused with a typed error before they are used; saving on a
full disk loses nothing."""

from __future__ import annotations

import errno
import json
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import medusa_zoo
from medusa_zoo.errors import CheckpointError, IncompatibleConfigError, IntegrityError, StateDictMismatchError
from medusa_zoo.models.serialization import load_state_strict, quantize_int8, read_weights

ARCH = "stl_regnetx002"


def tiny(seed: int = 0) -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(seed)
    return medusa_zoo.load(ARCH, tasks=["depth"], pretrained=False, device="cpu")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny().save_pretrained(tmp_path_factory.mktemp("saved") / "model")


def rewrite_weights(folder: Path, edit, metadata: dict | None = None) -> Path:  # type: ignore[no-untyped-def]
    state = load_file(folder / "model.safetensors")
    edit(state)
    save_file(state, folder / "model.safetensors", metadata=metadata or {"format": "pt"})
    return folder


def first_weight(state: dict) -> str:
    return next(k for k, v in state.items() if k.endswith(".weight") and v.dim() == 4)


def copy_of(saved: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "copy"
    folder.mkdir()
    for item in saved.iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    return folder


# --- tensors that must not load -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("edit", "phrase"),
    [
        (lambda s: s[first_weight(s)].view(-1).__setitem__(0, float("nan")), "NaN or infinite"),
        (lambda s: s[first_weight(s)].view(-1).__setitem__(3, float("inf")), "NaN or infinite"),
        (lambda s: s.__setitem__(first_weight(s), s[first_weight(s)].to(torch.int32)), "torch.int32 values"),
        (lambda s: s.__setitem__(first_weight(s), s[first_weight(s)].to(torch.float8_e4m3fn)), "float8_e4m3fn"),
        (lambda s: s.__setitem__(first_weight(s), s[first_weight(s)].to(torch.uint8)), "torch.uint8"),
    ],
    ids=["nan", "inf", "int32", "float8", "uint8"],
)
def test_bad_tensors_in_a_saved_folder_are_refused(saved: Path, tmp_path: Path, edit, phrase: str) -> None:  # type: ignore[no-untyped-def]
    folder = rewrite_weights(copy_of(saved, tmp_path), edit)
    with pytest.raises(StateDictMismatchError, match=phrase) as error:
        medusa_zoo.load(f"local-dir:{folder}", device="cpu")
    assert error.value.mismatched and error.value.mismatched[0].endswith(".weight")


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (lambda t: t.to_sparse(), "sparse"),
        (lambda t: torch.empty(t.shape, device="meta"), "meta tensor"),
        (lambda t: t.to(torch.complex64), "complex64"),
        (lambda t: t.tolist(), "not a tensor"),
    ],
    ids=["sparse", "meta", "complex", "list"],
)
def test_bad_tensors_given_directly_are_refused(make, phrase: str) -> None:  # type: ignore[no-untyped-def]
    model = tiny()
    state = dict(model.state_dict())
    key = first_weight(state)
    state[key] = make(state[key])
    with pytest.raises(StateDictMismatchError, match=phrase):
        load_state_strict(model, state, "a test state")


def test_integer_buffers_still_load_and_the_finite_check_is_cheap(saved: Path) -> None:
    model = tiny(1)
    state = read_weights(saved / "model.safetensors")
    assert any(not v.is_floating_point() for v in state.values())  # BatchNorm's num_batches_tracked
    start = time.perf_counter()
    load_state_strict(model, state, "saved")
    assert time.perf_counter() - start < 2.0
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


@pytest.mark.parametrize(
    ("data", "phrase"),
    [(b"", "not a readable safetensors"), (b"\xff" * 64, "not a readable safetensors"),
     (b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":1}}", "not a readable safetensors")],
    ids=["empty", "garbage", "bad-header"],
)  # fmt: skip
def test_unreadable_safetensors_is_a_checkpoint_error(tmp_path: Path, data: bytes, phrase: str) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match=phrase):
        read_weights(path)
    path.unlink()
    path.mkdir()
    with pytest.raises(CheckpointError, match="is a folder"):
        read_weights(path)


def test_int8_file_with_a_broken_scale_is_a_checkpoint_error(tmp_path: Path) -> None:
    tensors, metadata = quantize_int8({"conv.weight": torch.randn(4, 3, 3, 3)})
    tensors["conv.weight.__scale__"] = torch.ones(7)
    save_file(tensors, tmp_path / "q.safetensors", metadata=metadata)
    with pytest.raises(CheckpointError, match="do not fit"):
        read_weights(tmp_path / "q.safetensors")


# --- head files ---------------------------------------------------------------------------------------------------
@pytest.fixture
def head(tmp_path: Path) -> tuple[medusa_zoo.MultiTaskNet, Path]:
    model = medusa_zoo.load("medusa_regnetx002", tasks=["semseg", "depth"], pretrained=False, device="cpu")
    model.add_task("normals")
    folder = model.save_head("normals", tmp_path / "head")
    model.remove_task("normals")
    return model, folder


def edit_head_json(folder: Path, edit) -> None:  # type: ignore[no-untyped-def]
    record = json.loads((folder / "head.json").read_text())
    edit(record)
    (folder / "head.json").write_text(json.dumps(record))


def test_head_json_is_covered_by_the_hash(head: tuple) -> None:
    model, folder = head
    edit_head_json(folder, lambda r: r["task"].update(kind="edge"))
    with pytest.raises(IntegrityError, match="head.json was edited"):
        model.load_head(folder)
    assert "normals" not in model.tasks and "edge" not in model.tasks


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda r: r.__setitem__("task", "normals"), "'task'"),
        (lambda r: r.__setitem__("head", 3), "'head'"),
        (lambda r: r.__setitem__("backbone", []), "'backbone'"),
        (lambda r: r.__setitem__("trunk", None), "'trunk'"),
        (lambda r: r["trunk"].__setitem__("sha256", 5), "'trunk.sha256'"),
        (lambda r: r.__setitem__("parameters", "many"), "'parameters'"),
        (lambda r: r.pop("weights_sha256"), "'weights_sha256'"),
        (lambda r: r.__setitem__("head_options", [1]), "'head_options'"),
    ],
    ids=["task", "head", "backbone", "trunk", "trunk-sha", "parameters", "no-hash", "options"],
)
def test_malformed_head_json_fields_are_typed(head: tuple, edit, field: str) -> None:  # type: ignore[no-untyped-def]
    model, folder = head
    edit_head_json(folder, edit)
    with pytest.raises(IncompatibleConfigError, match=field):
        model.load_head(folder)


def test_an_old_head_file_asks_to_be_saved_again(head: tuple) -> None:
    model, folder = head
    edit_head_json(folder, lambda r: r.update(format="medusa_zoo.head/1"))
    with pytest.raises(CheckpointError, match="save the head again"):
        model.load_head(folder)


def test_a_head_still_round_trips(head: tuple) -> None:
    model, folder = head
    assert model.load_head(folder).name == "normals"


# --- a full disk ----------------------------------------------------------------------------------------------------
def no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("failing", ["weights", "config", "safetensors-error"])
def test_save_pretrained_on_a_full_disk_keeps_the_previous_files(
    saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    folder = copy_of(saved, tmp_path)
    before = snapshot(folder)
    if failing == "weights":
        monkeypatch.setattr(safetensors.torch, "save_file", no_space)
    elif failing == "config":  # the weights are written, then the config fails: neither may replace the old pair
        real = Path.write_text
        monkeypatch.setattr(
            Path, "write_text", lambda p, *a, **k: no_space() if ".config.json." in p.name else real(p, *a, **k)
        )
    else:

        def serialising_error(*args: object, **kwargs: object) -> None:
            raise SafetensorError(
                'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space" })'
            )

        monkeypatch.setattr(safetensors.torch, "save_file", serialising_error)
    with pytest.raises(CheckpointError, match="no space left on the device holding") as error:
        tiny(seed=7).save_pretrained(folder)
    assert "previous files there are intact" in str(error.value)
    assert snapshot(folder) == before  # no temporary file left either


def test_save_head_on_a_full_disk_keeps_the_previous_head(head: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    model, folder = head
    before = snapshot(folder)
    model.add_task("normals")
    real = Path.write_text
    monkeypatch.setattr(
        Path, "write_text", lambda p, *a, **k: no_space() if ".head.json." in p.name else real(p, *a, **k)
    )
    with pytest.raises(CheckpointError, match="no space left"):
        model.save_head("normals", folder)
    assert snapshot(folder) == before


def test_a_file_where_the_folder_should_be_is_a_checkpoint_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(CheckpointError, match="could not write into"):
        tiny().save_pretrained(tmp_path / "taken")
