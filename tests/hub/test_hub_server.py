"""The Hub look-alike in tests/hub_server.py, checked against the real huggingface_hub client.

What tests/conftest.py must do for the whole suite (these tests pass `endpoint=` and `cache_dir=`
explicitly, so they do not depend on it):
  * before anything imports huggingface_hub, set `HF_HUB_DISABLE_XET=1` (hf_xet is installed: without it
    `upload_folder` insists on Xet and fails), `HF_HUB_DISABLE_TELEMETRY=1`, and `HF_HOME` /
    `HF_HUB_CACHE` to a temporary folder (so no test touches ~/.cache or a saved token);
  * provide a session-scoped `hub_server` fixture that starts a `HubServer` and stops it at the end.
`HF_ENDPOINT` is read at import, before the server's port is known, so code under test gets the
endpoint passed explicitly (or via a monkeypatched setting of our own), never via `HF_ENDPOINT`.
"""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Iterator
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import HfApi, constants, errors, get_hf_file_metadata, hf_hub_download, hf_hub_url

from tests.hub_server import HubServer, git_blob_sha1

# 2.x raises RemoteEntryNotFoundError for a missing remote file; 0.x raised EntryNotFoundError.
RemoteEntryNotFound = getattr(errors, "RemoteEntryNotFoundError", errors.EntryNotFoundError)

WEIGHTS = bytes(range(256)) * 4
FILES = {"config.json": b'{"arch": "tiny"}', "README.md": b"# tiny\n", "heads/depth.safetensors": WEIGHTS}


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    with HubServer() as server:
        yield server


@pytest.fixture
def repo(hub: HubServer, request: pytest.FixtureRequest) -> str:
    """A fresh repo per test, named after it, holding FILES in one commit on main."""
    repo_id = f"org/{request.node.name.replace('[', '-').rstrip(']')}"
    hub.add_commit(repo_id, FILES)
    hub.clear_requests()
    return repo_id


def _download(hub: HubServer, repo_id: str, filename: str, cache: Path, revision: str = "main") -> bytes:
    path = hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache, endpoint=hub.endpoint)
    return Path(path).read_bytes()


def test_download_at_commit_then_served_from_cache(hub: HubServer, repo: str, tmp_path: Path) -> None:
    sha = hub.resolve(repo)
    assert _download(hub, repo, "heads/depth.safetensors", tmp_path, sha) == WEIGHTS
    assert [m for m, _ in hub.file_requests()] == ["HEAD", "GET"]
    hub.clear_requests()
    assert _download(hub, repo, "heads/depth.safetensors", tmp_path, sha) == WEIGHTS
    assert hub.requests == []


def test_branch_costs_one_head_when_cached(hub: HubServer, repo: str, tmp_path: Path) -> None:
    assert _download(hub, repo, "config.json", tmp_path) == FILES["config.json"]
    hub.clear_requests()
    assert _download(hub, repo, "config.json", tmp_path) == FILES["config.json"]
    assert hub.requests == [("HEAD", f"/{repo}/resolve/main/config.json")]


def test_branch_move_is_followed_and_old_commit_kept(hub: HubServer, repo: str, tmp_path: Path) -> None:
    old = hub.resolve(repo)
    new = hub.add_commit(repo, {**FILES, "config.json": b'{"arch": "tinier"}'})
    assert new != old and len(new) == 40
    assert _download(hub, repo, "config.json", tmp_path) == b'{"arch": "tinier"}'
    assert _download(hub, repo, "config.json", tmp_path, old) == FILES["config.json"]


def test_tags_and_pr_refs_resolve(hub: HubServer, repo: str, tmp_path: Path) -> None:
    sha = hub.add_commit(repo, {"a.txt": b"pr"}, branch="refs/pr/1", tags=["v1.0"])
    assert _download(hub, repo, "a.txt", tmp_path, "refs/pr/1") == b"pr"
    assert _download(hub, repo, "a.txt", tmp_path, "v1.0") == b"pr"
    assert ("HEAD", f"/{repo}/resolve/refs%2Fpr%2F1/a.txt") in hub.requests
    assert (Path(tmp_path) / f"models--{repo.replace('/', '--')}" / "refs" / "refs" / "pr" / "1").read_text() == sha


def test_snapshot_download_gets_every_file(hub: HubServer, repo: str, tmp_path: Path) -> None:
    folder = Path(huggingface_hub.snapshot_download(repo, cache_dir=tmp_path, endpoint=hub.endpoint))
    got = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert got == FILES
    assert folder.name == hub.resolve(repo)


def test_etags_follow_git_and_lfs_rules(hub: HubServer, repo: str) -> None:
    sha = hub.resolve(repo)
    lfs = get_hf_file_metadata(hf_hub_url(repo, "heads/depth.safetensors", endpoint=hub.endpoint))
    assert (lfs.etag, lfs.size, lfs.commit_hash) == (hashlib.sha256(WEIGHTS).hexdigest(), len(WEIGHTS), sha)
    regular = get_hf_file_metadata(hf_hub_url(repo, "config.json", endpoint=hub.endpoint))
    assert regular.etag == git_blob_sha1(FILES["config.json"])
    assert lfs.xet_file_data is None and regular.xet_file_data is None


def test_repo_info_and_tree(hub: HubServer, repo: str) -> None:
    api = HfApi(endpoint=hub.endpoint, token="test")
    info = api.repo_info(repo)
    assert info.sha == hub.resolve(repo)
    assert sorted(s.rfilename for s in info.siblings) == sorted(FILES)
    top = {e.path: type(e).__name__ for e in api.list_repo_tree(repo)}
    assert top == {"README.md": "RepoFile", "config.json": "RepoFile", "heads": "RepoFolder"}
    files = [e for e in api.list_repo_tree(repo, recursive=True) if isinstance(e, huggingface_hub.RepoFile)]
    assert sorted(f.path for f in files) == sorted(FILES)
    (weights,) = api.list_repo_tree(repo, path_in_repo="heads")
    assert weights.lfs.sha256 == hashlib.sha256(WEIGHTS).hexdigest() and weights.size == len(WEIGHTS)
    assert all(f.xet_hash is None for f in files)


def test_offline_mode_serves_cache_only(
    hub: HubServer, repo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _download(hub, repo, "config.json", tmp_path) == FILES["config.json"]
    hub.clear_requests()
    # The client reads this module attribute at request time, so no re-import is needed.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert _download(hub, repo, "config.json", tmp_path) == FILES["config.json"]
    with pytest.raises(errors.LocalEntryNotFoundError) as missing:
        _download(hub, repo, "README.md", tmp_path)
    assert isinstance(missing.value.__cause__, errors.OfflineModeIsEnabled)
    assert hub.requests == []


def test_unknown_repo(hub: HubServer, tmp_path: Path) -> None:
    with pytest.raises(errors.RepositoryNotFoundError):
        _download(hub, "org/nope", "config.json", tmp_path)
    with pytest.raises(errors.RepositoryNotFoundError):
        huggingface_hub.snapshot_download("org/nope", cache_dir=tmp_path, endpoint=hub.endpoint)


def test_unknown_revision(hub: HubServer, repo: str, tmp_path: Path) -> None:
    with pytest.raises(errors.RevisionNotFoundError):
        _download(hub, repo, "config.json", tmp_path, "no-such-branch")
    with pytest.raises(errors.RevisionNotFoundError):
        _download(hub, repo, "config.json", tmp_path, "0" * 40)
    with pytest.raises(errors.RevisionNotFoundError):
        huggingface_hub.snapshot_download(repo, revision="nope", cache_dir=tmp_path, endpoint=hub.endpoint)


def test_missing_file(hub: HubServer, repo: str, tmp_path: Path) -> None:
    with pytest.raises(RemoteEntryNotFound):
        _download(hub, repo, "heads/normals.safetensors", tmp_path)


def test_deleted_repo_is_not_found(hub: HubServer, tmp_path: Path) -> None:
    hub.add_commit("org/short-lived", {"a.txt": b"a"})
    hub.delete_repo("org/short-lived")
    with pytest.raises(errors.RepositoryNotFoundError):
        _download(hub, "org/short-lived", "a.txt", tmp_path)


def test_tampered_file_keeps_its_advertised_etag(hub: HubServer, repo: str, tmp_path: Path) -> None:
    tampered = bytes(reversed(WEIGHTS))
    hub.set_file(repo, "main", "heads/depth.safetensors", tampered)
    path = hf_hub_download(repo, "heads/depth.safetensors", cache_dir=tmp_path, endpoint=hub.endpoint)
    assert Path(path).read_bytes() == tampered
    # The client names the blob after the advertised ETag and does not re-hash: only our own check can notice.
    assert Path(path).resolve().name == hashlib.sha256(WEIGHTS).hexdigest()


def test_range_requests(hub: HubServer, repo: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=5)
    try:
        for header, expected in [("bytes=10-", WEIGHTS[10:]), ("bytes=3-5", WEIGHTS[3:6]), ("bytes=-4", WEIGHTS[-4:])]:
            conn.request("GET", f"/{repo}/resolve/main/heads/depth.safetensors", headers={"Range": header})
            response = conn.getresponse()  # the same connection each time: keep-alive works
            assert (response.status, response.read()) == (206, expected)
    finally:
        conn.close()


def test_stop_closes_keep_alive_connections() -> None:
    hub = HubServer().start()
    hub.add_commit("org/stop", {"a.txt": b"a"})
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=5)
    conn.request("GET", "/org/stop/resolve/main/a.txt")
    assert conn.getresponse().read() == b"a"
    hub.stop()
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.request("GET", "/org/stop/resolve/main/a.txt")
        conn.getresponse()
    conn.close()


def test_lfs_redirect_to_another_origin(tmp_path: Path) -> None:
    with HubServer(lfs_redirect=True) as hub:
        hub.add_commit("org/cdn", FILES)
        assert _download(hub, "org/cdn", "heads/depth.safetensors", tmp_path) == WEIGHTS
        assert _download(hub, "org/cdn", "config.json", tmp_path) == FILES["config.json"]
        assert any(path.startswith("/_cdn/org/cdn/") for _, path in hub.requests)


@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # the client's LFS PUT
def test_upload_round_trip(hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # hf_xet is installed; without this, upload_folder takes the Xet pipeline, which the server does not speak.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    api = HfApi(endpoint=hub.endpoint, token="test")
    api.create_repo("org/uploaded", exist_ok=True)
    api.create_repo("org/uploaded", exist_ok=True)
    folder = tmp_path / "publish"
    for name, data in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    first = api.upload_folder(repo_id="org/uploaded", folder_path=folder)
    (folder / "config.json").write_bytes(b"{}")
    second = api.upload_folder(repo_id="org/uploaded", folder_path=folder)
    assert first.oid != second.oid and len(second.oid) == 40
    assert ("POST", "/org/uploaded.git/info/lfs/objects/batch") in hub.requests
    cache = tmp_path / "cache"
    snapshot = Path(huggingface_hub.snapshot_download("org/uploaded", revision=first.oid, cache_dir=cache,
                                                      endpoint=hub.endpoint))
    assert {p: (snapshot / p).read_bytes() for p in FILES} == FILES
    assert _download(hub, "org/uploaded", "config.json", cache) == b"{}"
    meta = get_hf_file_metadata(hf_hub_url("org/uploaded", "heads/depth.safetensors", endpoint=hub.endpoint))
    assert meta.etag == hashlib.sha256(WEIGHTS).hexdigest()


def test_create_commit_deletes_and_checks_parent(hub: HubServer, repo: str) -> None:
    api = HfApi(endpoint=hub.endpoint, token="test")
    parent = hub.resolve(repo)
    ops = [huggingface_hub.CommitOperationDelete("README.md"),
           huggingface_hub.CommitOperationAdd("notes.txt", b"regular files travel inline")]
    info = api.create_commit(repo, operations=ops, commit_message="edit", parent_commit=parent)
    assert hub.list_files(repo, info.oid) == ["config.json", "heads/depth.safetensors", "notes.txt"]
    with pytest.raises(errors.HfHubHTTPError) as stale:
        stale_op = huggingface_hub.CommitOperationAdd("late.txt", b"based on an old head")
        api.create_commit(repo, operations=[stale_op], commit_message="stale", parent_commit=parent)
    assert stale.value.response.status_code == 412
