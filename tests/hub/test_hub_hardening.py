"""The Hub path under attack and under bad networks: checked revisions and repo ids, typed transport
errors, an overall download deadline, stale partial downloads, damaged cache entries, load() names.

Every test talks to the Hub-protocol server on 127.0.0.1 that conftest starts (``HF_ENDPOINT``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx2
import huggingface_hub
import pytest
import safetensors.torch
import torch
from huggingface_hub import constants as hf_constants

import medusa_zoo
from medusa_zoo import fetch
from medusa_zoo.errors import (
    CheckpointError,
    DownloadTimeoutError,
    IncompatibleConfigError,
    IntegrityError,
    UnknownModelError,
)
from medusa_zoo.fetch import check_repo_id, check_revision, hub_file, remove_stale_downloads
from medusa_zoo.limits import limits
from tests.hub_server import HubServer

ARCH = "stl_regnetx002"


def publish_tiny(hub: HubServer, repo: str, folder: Path, seed: int = 0) -> str:
    torch.manual_seed(seed)
    medusa_zoo.load(ARCH, tasks=["depth"], pretrained=False, device="cpu").save_pretrained(folder)
    return hub.add_commit(repo, {p.name: p.read_bytes() for p in folder.iterdir()})


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, hub: HubServer) -> HubServer:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return hub


def every_file(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


# --- revisions and repo ids ------------------------------------------------------------------------------------
BAD_REVISIONS = [
    "../../../../escape", "..", "a/../b", "/etc/passwd", "-rf", "a//b", "a b", "tab\there", "nul\0", "a~1", "a^2",
    "a:b", "what?", "st*r", "br[acket", "back\\slash", "a@{1}", "@", "trailing/", "name.lock", "dot.", ".hidden",
    "x/.hidden", "x" * 256, "", "del\x7f",
]  # fmt: skip


@pytest.mark.parametrize("revision", BAD_REVISIONS)
def test_malformed_revisions_are_refused(revision: str) -> None:
    with pytest.raises(CheckpointError, match="not a valid git revision"):
        check_revision(revision)


@pytest.mark.parametrize(
    "revision", ["main", "v1.0", "refs/pr/1", "feature/x-y_z", "a" * 40, "0123abcd" * 5, "r\u00e9sum\u00e9"]
)
def test_ordinary_revisions_pass(revision: str) -> None:
    assert check_revision(revision) == revision


@pytest.mark.parametrize(
    "repo_id", ["org/..", "../x", "org/na/me", "org--x/y", "org/x.git", "/x", "org/", "a b/c", "o/" + "x" * 96]
)
def test_malformed_repo_ids_are_refused(repo_id: str) -> None:
    with pytest.raises(CheckpointError, match="org/name"):
        check_repo_id(repo_id)


def test_traversal_revision_never_reaches_huggingface_hub_or_the_disk(
    online: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_tiny(online, "medusa-test/traversal", tmp_path / "model")
    calls = []
    real = huggingface_hub.hf_hub_download
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: calls.append(a) or real(*a, **k))
    sandbox = tmp_path / "sandbox"
    cache = sandbox / "a" / "b" / "cache"
    cache.mkdir(parents=True)
    before = every_file(tmp_path)
    for name in ("hf-hub:medusa-test/traversal@../../../../escape", "hf-hub:medusa-test/traversal@../../../refs/x"):
        with pytest.raises(CheckpointError, match="not a valid git revision") as error:
            medusa_zoo.load(name, device="cpu", cache_dir=cache)
        assert "hf-hub:org/name@revision" in str(error.value)
    with pytest.raises(CheckpointError, match="not a valid git revision"):
        hub_file("medusa-test/traversal", "config.json", "../../x", cache_dir=cache)
    assert calls == []
    assert every_file(tmp_path) == before  # nothing written anywhere, inside the cache or outside
    medusa_zoo.load("hf-hub:medusa-test/traversal@main", device="cpu", cache_dir=cache)  # a good one still works
    assert len(calls) == 2 and all(str(p).startswith(str(cache)) for p in every_file(tmp_path) - before)


# --- transport errors --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raised", "error", "phrase"),
    [
        (httpx2.RemoteProtocolError("peer closed connection without sending complete message body"), CheckpointError,
         "RemoteProtocolError"),
        (httpx2.ConnectError("[Errno 111] Connection refused"), CheckpointError, "HF_ENDPOINT"),
        (httpx2.ReadTimeout("timed out"), DownloadTimeoutError, "stopped answering"),
        (httpx2.HTTPError("something else"), CheckpointError, "check the network"),
        (httpx2.StreamError("stream consumed"), CheckpointError, "StreamError"),
        (ConnectionResetError(104, "Connection reset by peer"), CheckpointError, "Connection reset"),
    ],
    ids=["remote-protocol", "connect", "read-timeout", "http-error", "stream-error", "reset"],
)  # fmt: skip
def test_transport_errors_are_typed(
    online: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raised: Exception, error: type, phrase: str
) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise raised

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", broken)
    with pytest.raises(error, match=phrase) as caught:
        medusa_zoo.load("hf-hub:medusa-test/any@main", device="cpu", cache_dir=tmp_path)
    assert "config.json in medusa-test/any@main" in str(caught.value)


# --- the download deadline and partial files ---------------------------------------------------------------------
def test_a_trickling_server_ends_in_download_timeout_and_leaves_no_partial_file(
    online: HubServer, tmp_path: Path
) -> None:
    repo = "medusa-test/trickle"
    data = bytes(range(256)) * 256  # 64 KiB: 20 s at the trickle's pace
    sha = online.add_commit(repo, {"model.safetensors": data})
    cache = tmp_path / "cache"
    online.trickle(repo, delay_s=0.02, chunk=64)
    try:
        start = time.monotonic()
        with limits(download_timeout_s=1.5), pytest.raises(DownloadTimeoutError, match="download_timeout_s") as error:
            hub_file(repo, "model.safetensors", sha, cache_dir=cache)
        assert time.monotonic() - start < 5
        assert isinstance(error.value, TimeoutError) and "longer than 1.5 s" in str(error.value)
        assert list(cache.rglob("*.incomplete")) == []
    finally:
        online.stop_trickle(repo)
    path = hub_file(repo, "model.safetensors", sha, cache_dir=cache)  # the next attempt starts clean
    assert path.read_bytes() == data and list(cache.rglob("*.incomplete")) == []


def test_stale_partial_downloads_are_removed_and_fresh_ones_kept(online: HubServer, tmp_path: Path) -> None:
    repo = "medusa-test/stale"
    sha = publish_tiny(online, repo, tmp_path / "model")
    blobs = tmp_path / "cache" / "models--medusa-test--stale" / "blobs"
    blobs.mkdir(parents=True)
    stale, fresh = blobs / "deadbeef.0badc0de.incomplete", blobs / "deadbeef.1234abcd.incomplete"
    stale.write_bytes(b"x" * 10_000)
    fresh.write_bytes(b"y" * 100)
    hour_ago = time.time() - 3700
    os.utime(stale, (hour_ago, hour_ago))
    hub_file(repo, "config.json", sha, cache_dir=tmp_path / "cache")
    assert not stale.exists() and fresh.exists()
    assert remove_stale_downloads(blobs.parent, older_than_s=0.0) == [fresh] and not fresh.exists()


# --- damaged cache entries -----------------------------------------------------------------------------------------
def test_a_cached_blob_replaced_by_a_folder_is_evicted_and_fetched_again(
    online: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = "medusa-test/folder-blob"
    sha = publish_tiny(online, repo, tmp_path / "model")
    good = (tmp_path / "model" / "model.safetensors").read_bytes()
    cache = tmp_path / "cache"
    blob = Path(os.path.realpath(hub_file(repo, "model.safetensors", sha, cache_dir=cache)))

    def replace_by_folder() -> None:
        blob.unlink()
        (blob / "inside").mkdir(parents=True)

    replace_by_folder()
    path = hub_file(repo, "model.safetensors", sha, cache_dir=cache)
    assert path.read_bytes() == good and blob.is_file()
    replace_by_folder()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(IntegrityError, match="not a regular file.*HF_HUB_OFFLINE"):
        hub_file(repo, "model.safetensors", sha, cache_dir=cache)
    assert not blob.exists()  # evicted, not left to fail for ever


def test_an_unreadable_cached_blob_is_evicted_and_fetched_again(
    online: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = "medusa-test/unreadable-blob"
    sha = publish_tiny(online, repo, tmp_path / "model")
    cache = tmp_path / "cache"
    hub_file(repo, "model.safetensors", sha, cache_dir=cache)
    online.clear_requests()
    real, failures = fetch.sha256_of, []

    def unreadable_once(path: Path) -> str:  # root reads any file, so chmod 000 cannot show this
        if not failures:
            failures.append(path)
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(fetch, "sha256_of", unreadable_once)
    path = hub_file(repo, "model.safetensors", sha, cache_dir=cache)
    assert failures and path.read_bytes() == (tmp_path / "model" / "model.safetensors").read_bytes()
    assert sum(method == "GET" for method, _ in online.file_requests()) == 1  # evicted and downloaded once more


def cached_config(cache: Path) -> Path:
    [path] = list(cache.rglob("snapshots/*/config.json"))
    return Path(os.path.realpath(path))


@pytest.mark.parametrize("damage", ["edited-std", "truncated"])
def test_an_edited_or_truncated_cached_config_is_noticed_and_fetched_again(
    online: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    repo = f"medusa-test/config-{damage}"
    publish_tiny(online, repo, tmp_path / "model")
    cache = tmp_path / "cache"
    name = f"hf-hub:{repo}"
    original = medusa_zoo.load(name, device="cpu", cache_dir=cache).config.preprocessing.std
    blob = cached_config(cache)
    text = blob.read_text()

    def spoil() -> None:
        if damage == "truncated":
            blob.write_text(text[: len(text) // 2])
        else:
            config = json.loads(text)
            config["preprocessing"]["std"] = [9.0, 9.0, 9.0]
            blob.write_text(json.dumps(config, indent=2) + "\n")

    spoil()
    assert medusa_zoo.load(name, device="cpu", cache_dir=cache).config.preprocessing.std == original
    assert cached_config(cache).read_text() == text
    spoil()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(IntegrityError, match="config.json.*git blob sha1.*HF_HUB_OFFLINE"):
        medusa_zoo.load(name, device="cpu", cache_dir=cache)


# --- names given to load() -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "phrase"), [(None, "NoneType"), (123, "int 123"), (b"medusa", "bytes")])
def test_load_refuses_names_that_are_not_strings(name: object, phrase: str) -> None:
    with pytest.raises(IncompatibleConfigError, match=phrase) as error:
        medusa_zoo.load(name)  # type: ignore[arg-type]
    assert "hf-hub:org/name" in str(error.value) and "local-dir:PATH" in str(error.value)


def test_load_of_a_path_suggests_local_dir(tmp_path: Path) -> None:
    with pytest.raises(IncompatibleConfigError, match=f"'local-dir:{tmp_path}'"):
        medusa_zoo.load(tmp_path)  # type: ignore[arg-type]
    with pytest.raises(UnknownModelError, match=f"'local-dir:{tmp_path}'"):
        medusa_zoo.load(str(tmp_path))


def test_load_of_a_bare_repo_id_suggests_hf_hub() -> None:
    with pytest.raises(UnknownModelError, match="'hf-hub:some-org/some-model'"):
        medusa_zoo.load("some-org/some-model")


def test_a_stalled_server_ends_in_download_timeout_and_the_next_attempt_succeeds(
    online: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = "medusa-test/stall"
    data = bytes(range(256)) * 64
    sha = online.add_commit(repo, {"model.safetensors": data})
    cache = tmp_path / "cache"
    monkeypatch.setattr(hf_constants, "HF_HUB_DOWNLOAD_TIMEOUT", 1)  # each read; the deadline is ours
    online.trickle(repo, delay_s=3600, chunk=64)  # the first 64 bytes, then silence
    try:
        start = time.monotonic()
        with limits(download_timeout_s=1.0), pytest.raises(DownloadTimeoutError, match="slow or stalled"):
            hub_file(repo, "model.safetensors", sha, cache_dir=cache)
        assert time.monotonic() - start < 4
    finally:
        online.stop_trickle(repo)
    assert hub_file(repo, "model.safetensors", sha, cache_dir=cache).read_bytes() == data
    assert list(cache.rglob("*.incomplete")) == []


# --- publishing ------------------------------------------------------------------------------------------------------
def test_publishing_refuses_bad_names_and_types_upload_and_disk_failures(
    online: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = medusa_zoo.load(ARCH, tasks=["depth"], pretrained=False, device="cpu")
    with pytest.raises(CheckpointError, match="org/name"):
        model.push_to_hub("../escape", token="test")
    with pytest.raises(CheckpointError, match="not a valid git revision"):
        model.push_to_hub("medusa-test/pushed", token="test", branch="a..b")

    def refused(*args: object, **kwargs: object) -> None:
        raise httpx2.ConnectError("[Errno 111] Connection refused")

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", refused)
    with pytest.raises(CheckpointError, match="could not upload .*ConnectError"):
        model.push_to_hub("medusa-test/pushed", token="test")

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", no_space)
    with pytest.raises(CheckpointError, match="no space left"):
        model.push_to_hub("medusa-test/pushed", token="test")
