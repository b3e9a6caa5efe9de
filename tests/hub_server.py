"""A small Hugging Face Hub look-alike on 127.0.0.1, so the real `huggingface_hub` client runs in tests.

Stdlib only. It speaks the parts of the Hub protocol that `hf_hub_download`, `snapshot_download`,
`HfApi.repo_info` / `list_repo_tree`, `create_repo` and `create_commit` / `upload_folder` use (see
/work/shared/HUB_TESTING.md). It never advertises Xet, never answers 5xx (either would send the client
into its Xet path or its ~23 s retry loop), and sends `Content-Length` on every response so HTTP/1.1
keep-alive works. `trickle(repo_id, ...)` makes the file bodies of one repo arrive a few bytes at a
time (a slow or hostile server), outside the server lock so other requests are still answered.

Files named `*.safetensors` / `*.bin` are treated as LFS files: their ETag is the sha256 of the content
and the tree lists an `lfs` record, as on the real Hub; other files get the git blob sha1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin")
_HEX40 = re.compile(r"[0-9a-f]{40}")
_REPO = r"(?P<repo>[^/]+(?:/[^/]+)?)"
_RESOLVE = re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_CDN = re.compile(rf"^/_cdn/{_REPO}/(?P<rev>[0-9a-f]{{40}})/(?P<path>.+)$")
_API_INFO = re.compile(rf"^/api/models/{_REPO}(?:/revision/(?P<rev>[^/]+))?$")
_API_TREE = re.compile(rf"^/api/models/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?$")
_API_PREUPLOAD = re.compile(rf"^/api/models/{_REPO}/preupload/(?P<rev>[^/]+)$")
_API_COMMIT = re.compile(rf"^/api/models/{_REPO}/commit/(?P<rev>[^/]+)$")
_LFS_BATCH = re.compile(rf"^/{_REPO}\.git/info/lfs/objects/batch$")
_LFS_PUT = re.compile(r"^/_lfs/(?P<oid>[0-9a-f]{64})$")


class HubError(Exception):
    """An HTTP error answer: status, `X-Error-Code` and the commit to advertise, if any."""

    def __init__(
        self, status: int, code: str | None, message: str, commit: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.commit, self.extra = status, code, commit, extra


def is_lfs_path(path: str) -> bool:
    return path.endswith(LFS_SUFFIXES)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    oid = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n".encode()


@dataclass
class _File:
    """One file of a commit. `etag`, `size` and `tree_oid` are what the server advertises; `data` is what it
    serves. They agree unless a test tampered with `data` through `HubServer.set_file`."""

    data: bytes
    etag: str
    size: int
    tree_oid: str
    lfs: dict[str, Any] | None

    @classmethod
    def of(cls, path: str, data: bytes) -> _File:
        if is_lfs_path(path) and data:
            pointer = lfs_pointer(data)
            sha256 = hashlib.sha256(data).hexdigest()
            lfs = {"oid": sha256, "size": len(data), "pointerSize": len(pointer)}
            return cls(data, sha256, len(data), git_blob_sha1(pointer), lfs)
        sha1 = git_blob_sha1(data)
        return cls(data, sha1, len(data), sha1, None)


@dataclass
class _Repo:
    commits: dict[str, dict[str, _File]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str:
        sha = self.branches.get(revision) or self.tags.get(revision)
        if sha is None and _HEX40.fullmatch(revision) and revision in self.commits:
            sha = revision
        if sha is None:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return sha


class HubServer:
    """An in-memory Hub on `127.0.0.1:<free port>`, served from a daemon thread.

    Repos are filled with `add_commit` (a full snapshot per commit) or through the client's own upload
    API. Every request is logged in `requests` as `(method, raw path)`. With `lfs_redirect=True`, LFS files
    are answered with a 302 to `http://localhost:<port>/_cdn/...` (another origin, like the Hub's CDN).
    """

    def __init__(self, lfs_redirect: bool = False) -> None:
        self.lfs_redirect = lfs_redirect
        self.requests: list[tuple[str, str]] = []
        self._repos: dict[str, _Repo] = {}
        self._lfs_store: dict[str, bytes] = {}
        self._lock = threading.RLock()
        self._counter = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()
        self._trickle: dict[str, tuple[float, int]] = {}

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> HubServer:
        handler = type("_BoundHandler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        # Keep-alive connections outlive serve_forever(); close them so a stopped server answers nothing.
        with self._lock:
            for sock in list(self._sockets):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._sockets.clear()
        self._httpd = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- repo content ----------------------------------------------------------------------------------
    def add_commit(
        self, repo_id: str, files: dict[str, bytes], branch: str = "main", tags: Iterable[str] = ()
    ) -> str:
        """Create a commit holding exactly `files` (a snapshot, not a delta), move `branch` (and `tags`) to it,
        and return its 40-hex sha. The repo is created if needed."""
        with self._lock:
            repo = self._repos.setdefault(repo_id, _Repo())
            return self._commit(repo, {p: _File.of(p, bytes(d)) for p, d in files.items()}, branch, tags)

    def set_file(self, repo_id: str, revision: str, path: str, data: bytes) -> None:
        """Replace the bytes served for `path` in an existing commit, keeping its advertised ETag, size and
        tree entry: a tampered or corrupted server file. Same-length bytes are served silently; for an LFS file of
        another length the advertised `X-Linked-Size` disagrees and the client raises OSError ("Consistency check
        failed"), while a regular file's new length goes out in `Content-Length`."""
        with self._lock:
            entry = self._repos[repo_id].commits[self._repos[repo_id].resolve(revision)][path]
            entry.data = bytes(data)

    def trickle(self, repo_id: str, delay_s: float = 0.05, chunk: int = 16) -> None:
        """Send the file bodies of `repo_id` `chunk` bytes at a time, `delay_s` apart (headers at once)."""
        with self._lock:
            self._trickle[repo_id] = (delay_s, chunk)

    def stop_trickle(self, repo_id: str) -> None:
        with self._lock:
            self._trickle.pop(repo_id, None)

    def resolve(self, repo_id: str, revision: str = "main") -> str:
        """The commit sha a branch, tag or sha names (KeyError / HubError if unknown)."""
        with self._lock:
            return self._repos[repo_id].resolve(revision)

    def list_files(self, repo_id: str, revision: str = "main") -> list[str]:
        with self._lock:
            repo = self._repos[repo_id]
            return sorted(repo.commits[repo.resolve(revision)])

    def delete_repo(self, repo_id: str) -> None:
        with self._lock:
            self._repos.pop(repo_id, None)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def file_requests(self) -> list[tuple[str, str]]:
        """The logged requests for file contents (`/resolve/` and CDN), without API calls."""
        with self._lock:
            return [(m, p) for m, p in self.requests if "/resolve/" in p or p.startswith("/_cdn/")]

    def _commit(self, repo: _Repo, files: dict[str, _File], branch: str, tags: Iterable[str] = ()) -> str:
        self._counter += 1
        digest = hashlib.sha1(str(self._counter).encode())
        for path in sorted(files):
            digest.update(f"\0{path}\0{files[path].etag}".encode())
        sha = digest.hexdigest()
        repo.commits[sha] = files
        repo.branches[branch] = sha
        for tag in tags:
            repo.tags[tag] = sha
        return sha

    def _repo(self, repo_id: str) -> _Repo:
        repo = self._repos.get(repo_id)
        if repo is None:
            raise HubError(401, "RepoNotFound", f"Repository not found: {repo_id}")
        return repo

    def _lookup(self, repo_id: str, revision: str, path: str) -> tuple[str, _File]:
        repo = self._repo(repo_id)
        sha = repo.resolve(revision)
        entry = repo.commits[sha].get(path)
        if entry is None:
            raise HubError(404, "EntryNotFound", f"{path} does not exist on {revision}", commit=sha)
        return sha, entry

    # -- API answers (called from handler threads, under the lock) --------------------------------------
    def _repo_info(self, repo_id: str, revision: str) -> dict[str, Any]:
        repo = self._repo(repo_id)
        sha = repo.resolve(revision)
        siblings = [{"rfilename": p} for p in sorted(repo.commits[sha])]
        return {"id": repo_id, "modelId": repo_id, "sha": sha, "private": False, "siblings": siblings}

    def _tree(self, repo_id: str, revision: str, prefix: str, recursive: bool) -> list[dict[str, Any]]:
        repo = self._repo(repo_id)
        sha = repo.resolve(revision)
        files = repo.commits[sha]
        prefix = prefix.strip("/")
        base = prefix + "/" if prefix else ""
        if prefix and prefix in files:
            raise HubError(400, None, f"{prefix} is a file, not a folder")
        entries: dict[str, dict[str, Any]] = {}
        for path in sorted(files):
            if not path.startswith(base):
                continue
            rest = path[len(base) :].split("/")
            for depth in range(1, len(rest)):  # the folders between `prefix` and the file
                if depth > 1 and not recursive:
                    break
                folder = base + "/".join(rest[:depth])
                entries.setdefault(folder, {"type": "directory", "path": folder, "oid": git_blob_sha1(folder.encode())})
            if len(rest) == 1 or recursive:
                f = files[path]
                entry = {"type": "file", "path": path, "size": f.size, "oid": f.tree_oid}
                if f.lfs is not None:
                    entry["lfs"] = dict(f.lfs)
                entries[path] = entry
        if prefix and not entries:
            raise HubError(404, "EntryNotFound", f"{prefix} does not exist on {revision}", commit=sha)
        return list(entries.values())

    def _create_repo(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("type") not in (None, "model"):
            raise HubError(400, None, "only model repos are served")
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        if repo_id in self._repos:
            # The client reads `url` from the 409 body too when `exist_ok=True`.
            raise HubError(409, None, "You already created this model repo", url=f"{self.endpoint}/{repo_id}")
        self._repos[repo_id] = _Repo()
        return {"url": f"{self.endpoint}/{repo_id}", "name": repo_id, "id": repo_id}

    def _preupload(self, repo_id: str, revision: str, payload: dict[str, Any]) -> dict[str, Any]:
        repo = self._repo(repo_id)
        current = repo.commits[repo.resolve(revision)] if repo.commits else {}
        answer = []
        for item in payload["files"]:
            path = item["path"]
            mode = "lfs" if is_lfs_path(path) and item["size"] > 0 else "regular"
            existing = current.get(path)
            answer.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": existing and existing.etag})
        return {"files": answer, "commitOid": repo.branches.get(revision)}

    def _lfs_batch(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("operation") != "upload":
            raise HubError(400, None, "only LFS uploads are served; download through /resolve/")
        objects = []
        for obj in payload["objects"]:
            answer = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self._lfs_store:
                answer["actions"] = {"upload": {"href": f"{self.endpoint}/_lfs/{obj['oid']}"}}
            objects.append(answer)
        return {"transfer": "basic", "objects": objects}

    def _lfs_put(self, oid: str, data: bytes) -> None:
        if hashlib.sha256(data).hexdigest() != oid:
            raise HubError(400, None, f"LFS upload does not match its oid {oid}")
        self._lfs_store[oid] = data

    def _commit_ndjson(self, repo_id: str, revision: str, body: bytes, query: dict[str, list[str]]) -> dict[str, Any]:
        if query.get("create_pr", ["0"])[0] not in ("0", "false", "False"):
            raise HubError(400, None, "pull requests are not served")
        repo = self._repo(repo_id)
        if revision in repo.branches:
            parent = repo.branches[revision]
        elif not repo.commits:  # first commit of an empty repo creates the branch
            parent = None
        else:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision} is not a branch")
        files = dict(repo.commits[parent]) if parent else {}
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                expected = value.get("parentCommit")
                if expected is not None and expected != parent:
                    raise HubError(412, None, f"parentCommit {expected} is not the head of {revision}")
            elif key == "file":
                files[value["path"]] = _File.of(value["path"], base64.b64decode(value["content"]))
            elif key == "lfsFile":
                data = self._lfs_store.get(value["oid"])
                if data is None:
                    raise HubError(400, None, f"LFS object {value['oid']} was never uploaded")
                files[value["path"]] = _File.of(value["path"], data)
            elif key == "deletedFile":
                if files.pop(value["path"], None) is None:
                    raise HubError(404, "EntryNotFound", "A file with this name doesn't exist", commit=parent)
            elif key == "deletedFolder":
                folder = value["path"].rstrip("/") + "/"
                files = {p: f for p, f in files.items() if not p.startswith(folder)}
            else:
                raise HubError(400, None, f"unsupported commit operation {key!r}")
        sha = self._commit(repo, files, revision)
        return {"commitOid": sha, "commitUrl": f"{self.endpoint}/{repo_id}/commit/{sha}", "pullRequestUrl": None}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: HubServer  # set on the subclass made by HubServer.start

    def setup(self) -> None:
        super().setup()
        with self.hub._lock:
            self.hub._sockets.add(self.connection)

    def finish(self) -> None:
        with self.hub._lock:
            self.hub._sockets.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def _dispatch(self, head: bool = False) -> None:
        self._slow_body: tuple[bytes, float, int] | None = None
        body = self._read_body()
        split = urlsplit(self.path)
        raw_path, query = split.path, parse_qs(split.query)
        with self.hub._lock:
            self.hub.requests.append((self.command, self.path))
        try:
            with self.hub._lock:
                self._route(raw_path, query, body, head)
        except HubError as err:
            self._error(err, head)
        except Exception as err:  # noqa: BLE001 - a 5xx would trigger the client's long retry loop
            self._error(HubError(400, None, f"{type(err).__name__}: {err}"), head)
        if self._slow_body is not None:
            self._write_slowly(*self._slow_body)

    def _write_slowly(self, payload: bytes, delay_s: float, chunk: int) -> None:
        """The trickle: runs after the server lock is released; stops when the client goes away."""
        try:
            for start in range(0, len(payload), chunk):
                self.wfile.write(payload[start : start + chunk])
                self.wfile.flush()
                time.sleep(delay_s)
        except OSError:
            self.close_connection = True

    def _route(self, raw_path: str, query: dict[str, list[str]], body: bytes, head: bool) -> None:
        hub, method = self.hub, self.command
        if method in ("GET", "HEAD") and (m := _RESOLVE.match(raw_path)):
            return self._resolve(unquote(m["repo"]), unquote(m["rev"]), unquote(m["path"]), head)
        if method in ("GET", "HEAD") and (m := _CDN.match(raw_path)):
            _, entry = hub._lookup(unquote(m["repo"]), m["rev"], unquote(m["path"]))
            return self._send_bytes(entry.data, {"ETag": f'"{entry.etag}"'}, head, repo_id=unquote(m["repo"]))
        if method == "GET" and (m := _API_TREE.match(raw_path)):
            recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
            tree = hub._tree(unquote(m["repo"]), unquote(m["rev"]), unquote(m["path"] or ""), recursive)
            return self._send_json(tree)
        if method == "GET" and (m := _API_INFO.match(raw_path)):
            return self._send_json(hub._repo_info(unquote(m["repo"]), unquote(m["rev"] or "main")))
        if method == "POST" and raw_path == "/api/repos/create":
            return self._send_json(hub._create_repo(json.loads(body)))
        if method == "POST" and raw_path == "/api/validate-yaml":  # sent before committing a README.md
            return self._send_json({})
        if method == "POST" and (m := _API_PREUPLOAD.match(raw_path)):
            return self._send_json(hub._preupload(unquote(m["repo"]), unquote(m["rev"]), json.loads(body)))
        if method == "POST" and (m := _LFS_BATCH.match(raw_path)):
            return self._send_json(hub._lfs_batch(json.loads(body)))
        if method == "PUT" and (m := _LFS_PUT.match(raw_path)):
            hub._lfs_put(m["oid"], body)
            return self._send_bytes(b"", {}, head)
        if method == "POST" and (m := _API_COMMIT.match(raw_path)):
            return self._send_json(hub._commit_ndjson(unquote(m["repo"]), unquote(m["rev"]), body, query))
        raise HubError(404, None, f"no route for {method} {raw_path}")

    def _resolve(self, repo_id: str, revision: str, path: str, head: bool) -> None:
        sha, entry = self.hub._lookup(repo_id, revision, path)
        headers = {"X-Repo-Commit": sha, "ETag": f'"{entry.etag}"', "Accept-Ranges": "bytes"}
        if entry.lfs is not None:
            headers.update({"X-Linked-Etag": f'"{entry.etag}"', "X-Linked-Size": str(entry.size)})
            if self.hub.lfs_redirect:
                location = f"http://localhost:{self.hub.port}/_cdn/{quote(repo_id)}/{sha}/{quote(path)}"
                return self._send_bytes(b"", {**headers, "Location": location}, head, status=302)
        self._send_bytes(entry.data, headers, head, repo_id=repo_id)

    # -- wire helpers --------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_bytes(
        self, data: bytes, headers: dict[str, str], head: bool, status: int = 200, repo_id: str | None = None
    ) -> None:
        start, end = 0, len(data)
        byte_range = self.headers.get("Range") if status == 200 and self.command == "GET" else None
        if byte_range and (m := re.fullmatch(r"bytes=(\d*)-(\d*)", byte_range.strip())):
            if m[1]:
                start, end = int(m[1]), min(int(m[2]) + 1, len(data)) if m[2] else len(data)
            elif m[2]:
                start = max(len(data) - int(m[2]), 0)
            if start >= len(data) and data:
                return self._error(HubError(416, None, f"range {byte_range} outside {len(data)} bytes"), head)
            status = 206
            headers = {**headers, "Content-Range": f"bytes {start}-{max(end - 1, start)}/{len(data)}"}
        content_type = "application/octet-stream" if status in (200, 206) else "text/plain"
        slow = self.hub._trickle.get(repo_id) if repo_id is not None and status in (200, 206) else None
        self._send(status, data[start:end], {"Content-Type": content_type, **headers}, head, slow)

    def _send_json(self, obj: Any) -> None:
        self._send(200, json.dumps(obj).encode(), {"Content-Type": "application/json"}, head=False)

    def _error(self, err: HubError, head: bool) -> None:
        headers = {"Content-Type": "application/json"}
        if err.code:
            headers["X-Error-Code"] = err.code
            headers["X-Error-Message"] = str(err)
        if err.commit:
            headers["X-Repo-Commit"] = err.commit
        self._send(err.status, json.dumps({"error": str(err), **err.extra}).encode(), headers, head)

    def _send(
        self, status: int, payload: bytes, headers: dict[str, str], head: bool, slow: tuple[float, int] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if head:
            return
        if slow is None:
            self.wfile.write(payload)
        else:
            self.wfile.flush()
            self._slow_body = (payload, *slow)
