"""Checkpoints from the Hub: pinned and verified downloads, cache and offline use, errors.

Every test talks to the Hub-protocol server on 127.0.0.1 that conftest starts before
huggingface_hub is imported (``HF_ENDPOINT``); no request leaves the machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

import medusa_zoo
from medusa_zoo.errors import (
    CheckpointFileNotFoundError,
    IncompatibleConfigError,
    IntegrityError,
    NotCachedError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    UnknownModelError,
)
from medusa_zoo.hub import HubLocation, manifest_entry
from tests.hub_server import HubServer

ARCH = "stl_regnetx002"
NAME = f"{ARCH}.tiny"


def tiny_model(seed: int) -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(seed)
    return medusa_zoo.load(ARCH, tasks=["depth"], pretrained=False, device="cpu")


def publish(hub: HubServer, repo_id: str, model: medusa_zoo.MultiTaskNet, folder: Path, **commit: object) -> str:
    """Save ``model`` with save_pretrained and commit the folder to the test server."""
    model.save_pretrained(folder)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    return hub.add_commit(repo_id, files, **commit)


def write_manifest(path: Path, entries: dict[str, dict]) -> Path:
    path.write_text(json.dumps({"format": "medusa_zoo.checkpoints/1", "checkpoints": entries}, indent=2))
    return path


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def published(hub: HubServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A repo with two commits on main; the manifest pins the first one."""
    root = tmp_path_factory.mktemp("published")
    first, second = tiny_model(1), tiny_model(2)
    repo = "medusa-test/tiny-depth"
    old = publish(hub, repo, first, root / "v1")
    new = publish(hub, repo, second, root / "v2")
    entry = manifest_entry(first, NAME, root / "v1" / "model.safetensors", hub=HubLocation(repo, old), default=True,
                           recipe="tests/test_hub.py", metrics={"dataset": "none", "split": "none", "values": {}})  # fmt: skip
    manifest = write_manifest(root / "checkpoints.json", {NAME: entry.to_dict()})
    return {"repo": repo, "old": old, "new": new, "first": first, "second": second, "manifest": manifest}


@pytest.fixture
def zoo(published: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hub: HubServer) -> dict:
    """The test manifest in use, an empty private cache and a clear request log."""
    monkeypatch.setenv("MEDUSA_ZOO_MANIFEST", str(published["manifest"]))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hub.clear_requests()
    return {**published, "cache": tmp_path / "cache"}


def load(name: str, zoo: dict, **kwargs: object) -> medusa_zoo.MultiTaskNet:
    return medusa_zoo.load(name, device="cpu", cache_dir=zoo["cache"], **kwargs)


def test_pinned_revision_is_downloaded_and_then_served_from_cache(zoo: dict, hub: HubServer) -> None:
    model = load(NAME, zoo)
    assert same_weights(model, zoo["first"]) and not same_weights(model, zoo["second"])  # the pin, not main
    assert any(zoo["old"] in path for _, path in hub.file_requests())
    hub.clear_requests()
    again = load(NAME, zoo)
    assert hub.file_requests() == []  # a cached 40-hex revision costs no request at all
    assert same_weights(again, zoo["first"])


def test_architecture_name_uses_its_default_tag_and_pretrained_false_downloads_nothing(
    zoo: dict, hub: HubServer
) -> None:
    assert same_weights(load(ARCH, zoo), zoo["first"])
    hub.clear_requests()
    random = load(NAME, zoo, pretrained=False)
    assert hub.requests == []
    assert not same_weights(random, zoo["first"])
    assert [t.name for t in random.config.tasks] == ["depth"]  # the checkpoint's architecture and tasks


def test_offline_mode_loads_from_cache_and_says_when_nothing_is_cached(
    zoo: dict, hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(NotCachedError, match="HF_HUB_OFFLINE") as error:
        load(NAME, zoo)
    assert "not in the local cache" in str(error.value)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    load(NAME, zoo)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub.clear_requests()
    assert same_weights(load(NAME, zoo), zoo["first"])
    assert hub.requests == []


def cached_weights(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("model.safetensors")]


def flip_byte(data: bytes, at: int = -100) -> bytes:
    buffer = bytearray(data)
    buffer[at] ^= 0xFF
    return bytes(buffer)


def test_tampered_cache_file_is_refused_and_downloaded_again(zoo: dict, hub: HubServer) -> None:
    load(NAME, zoo)
    [path] = cached_weights(zoo["cache"])
    blob = Path(os.path.realpath(path))
    blob.write_bytes(flip_byte(blob.read_bytes()))
    hub.clear_requests()
    model = load(NAME, zoo)  # detected before use, evicted, fetched once more
    assert same_weights(model, zoo["first"])
    assert sum(method == "GET" for method, _ in hub.file_requests()) == 1


def test_tampered_server_file_is_refused_before_use(
    zoo: dict, hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = "medusa-test/tampered"
    model = tiny_model(3)
    sha = publish(hub, repo, model, tmp_path / "good")
    good = (tmp_path / "good" / "model.safetensors").read_bytes()
    hub.set_file(repo, sha, "model.safetensors", flip_byte(good))
    entry = manifest_entry(model, f"{ARCH}.tampered", tmp_path / "good" / "model.safetensors", hub=HubLocation(repo, sha),
                           recipe="tests", metrics={})  # fmt: skip
    monkeypatch.setenv("MEDUSA_ZOO_MANIFEST", str(write_manifest(tmp_path / "m.json", {entry.name: entry.to_dict()})))
    with pytest.raises(IntegrityError) as error:
        load(entry.name, zoo)
    assert error.value.expected == entry.sha256 and error.value.actual not in ("", entry.sha256)
    assert "model.safetensors" in str(error.value) and entry.sha256 in str(error.value)
    assert cached_weights(zoo["cache"]) == [] and not list(zoo["cache"].rglob("*.incomplete"))
    with pytest.raises(IntegrityError):  # hf-hub: names check the sha256 the server advertised (its LFS ETag)
        load(f"hf-hub:{repo}@{sha}", zoo)
    hub.set_file(repo, sha, "model.safetensors", good)


def test_hub_names_load_any_repo_at_a_branch_or_commit(zoo: dict) -> None:
    assert same_weights(load(f"hf-hub:{zoo['repo']}", zoo), zoo["second"])  # main by default
    assert same_weights(load(f"hf-hub:{zoo['repo']}@{zoo['old']}", zoo), zoo["first"])
    with pytest.raises(IncompatibleConfigError, match="tasks"):
        load(f"hf-hub:{zoo['repo']}", zoo, tasks=["semseg"])


@pytest.mark.parametrize(
    ("name", "error", "phrase"),
    [
        ("hf-hub:medusa-test/no-such-repo", RepositoryNotFoundError, "no repository"),
        ("hf-hub:medusa-test/tiny-depth@no-such-branch", RevisionNotFoundError, "no revision"),
        ("hf-hub:medusa-test/not-a-model", CheckpointFileNotFoundError, "no file 'config.json'"),
        ("hf-hub:not-a-repo-id", medusa_zoo.CheckpointError, "org/name"),
    ],
)
def test_each_hub_failure_has_its_own_error(zoo: dict, hub: HubServer, name: str, error: type, phrase: str) -> None:
    hub.add_commit("medusa-test/not-a-model", {"notes.txt": b"hello"})
    with pytest.raises(error, match=phrase):
        load(name, zoo)


def test_unknown_checkpoint_name_suggests_published_ones(zoo: dict) -> None:
    with pytest.raises(UnknownModelError) as error:
        load(f"{ARCH}.tinyy", zoo)
    assert error.value.suggestions == [NAME]


def test_downloaded_config_only_selects_registered_components(zoo: dict, hub: HubServer, tmp_path: Path) -> None:
    tiny_model(0).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["head"] = "os.system"
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()} | {"config.json": json.dumps(config).encode()}
    sha = hub.add_commit("medusa-test/evil", files)
    with pytest.raises(IncompatibleConfigError, match="os.system"):
        load(f"hf-hub:medusa-test/evil@{sha}", zoo)


def test_listing_and_info_come_from_the_manifest(zoo: dict) -> None:
    assert medusa_zoo.list_models(pretrained=True) == [NAME]
    assert medusa_zoo.list_models("medusa_*", pretrained=True) == []
    info = medusa_zoo.model_info(NAME)
    assert info.source == f"hf-hub:{zoo['repo']}@{zoo['old']}"
    assert info.file_size == (Path(zoo["manifest"]).parent / "v1" / "model.safetensors").stat().st_size
    assert info.license == "Apache-2.0" and info.recipe == "tests/test_hub.py" and info.tasks == {"depth": 1}
