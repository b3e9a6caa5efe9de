"""Checkpoint loading across processes: concurrent cold-cache downloads, and an installed wheel offline.

Both tests run real ``python`` subprocesses, so they also prove the environment variables
(``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_OFFLINE``) are honoured from a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch

import medusa_zoo
from medusa_zoo.hub import HubLocation, manifest_entry
from tests.hub_server import HubServer

ROOT = Path(__file__).resolve().parents[2]
FINGERPRINT = """
import hashlib, os, sys, time
from pathlib import Path
import medusa_zoo
go = Path(sys.argv[2])
while not go.exists():  # start loading together
    time.sleep(0.01)
model = medusa_zoo.load(sys.argv[1], device="cpu")
digest = hashlib.sha256()
for key, value in sorted(model.state_dict().items()):
    digest.update(key.encode() + value.numpy().tobytes())
print(medusa_zoo.__file__)
print(digest.hexdigest())
"""


def fingerprint(model: torch.nn.Module) -> str:
    import hashlib

    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode() + value.numpy().tobytes())
    return digest.hexdigest()


def tiny(seed: int) -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(seed)
    return medusa_zoo.load("stl_regnetx002", tasks=["saliency"], pretrained=False, device="cpu")


def write_manifest(path: Path, entry: object) -> Path:
    checkpoints = {entry.name: entry.to_dict()}  # type: ignore[attr-defined]
    path.write_text(json.dumps({"format": "medusa_zoo.checkpoints/1", "checkpoints": checkpoints}, indent=2))
    return path


@pytest.mark.slow
def test_four_processes_loading_one_uncached_checkpoint_agree_and_leave_a_clean_cache(
    hub: HubServer, tmp_path: Path
) -> None:
    model = tiny(7)
    folder = model.save_pretrained(tmp_path / "repo")
    sha = hub.add_commit("medusa-test/concurrent", {p.name: p.read_bytes() for p in folder.iterdir()})
    entry = manifest_entry(model, "stl_regnetx002.concurrent", folder / "model.safetensors",
                           hub=HubLocation("medusa-test/concurrent", sha), recipe="tests")  # fmt: skip
    home = tmp_path / "hf_home"
    env = {**os.environ, "HF_HOME": str(home), "MEDUSA_ZOO_MANIFEST": str(write_manifest(tmp_path / "m.json", entry)),
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "OMP_NUM_THREADS": "1"}  # fmt: skip
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("HF_HUB_CACHE", None)
    go = tmp_path / "go"
    workers = [
        subprocess.Popen([sys.executable, "-c", FINGERPRINT, entry.name, str(go)], env=env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        for _ in range(4)
    ]
    time.sleep(0.5)
    go.touch()
    results = [worker.communicate(timeout=300) for worker in workers]
    for worker, (out, err) in zip(workers, results):
        assert worker.returncode == 0, err[-2000:]
    assert {out.split()[-1] for out, _ in results} == {fingerprint(model)}
    cache = home / "hub"  # HF_HOME honoured: everything went under it
    blobs = list(cache.rglob("blobs/*"))
    assert len(blobs) == 1 and blobs[0].name == entry.sha256  # one download, no duplicates
    assert not [p for p in cache.rglob("*") if p.name.endswith(".incomplete")]
    [weights] = cache.rglob("snapshots/*/model.safetensors")
    assert weights.read_bytes() == (folder / "model.safetensors").read_bytes()


def build_wheel_with_bundled_checkpoint(tmp_path: Path) -> tuple[Path, str, str]:
    """A copy of the project with one bundled checkpoint added, built into a wheel."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "medusa_zoo", project / "medusa_zoo", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__"))  # scripts ship, not pictures
    model = tiny(11)
    name = "stl_regnetx002.bundledtest"
    bundled = project / "medusa_zoo" / "bundled" / name
    model.save_pretrained(tmp_path / "saved")
    bundled.mkdir(parents=True)
    shutil.copy(tmp_path / "saved" / "model.safetensors", bundled / "model.safetensors")
    entry = manifest_entry(model, name, bundled / "model.safetensors", hub=None, bundled=True, recipe="tests")
    write_manifest(project / "checkpoints.json", entry)
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "-o", str(tmp_path / "dist"), str(project)],
                   check=True, capture_output=True)  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("*.whl")
    return wheel, name, fingerprint(model)


@pytest.mark.slow
def test_an_installed_wheel_loads_its_bundled_checkpoint_with_the_network_off(tmp_path: Path) -> None:
    wheel, name, expected = build_wheel_with_bundled_checkpoint(tmp_path)
    members = zipfile.ZipFile(wheel).namelist()
    assert wheel.stat().st_size < 60e6, f"the wheel is {wheel.stat().st_size / 1e6:.1f} MB; keep it under 60 MB"
    assert "medusa_zoo/checkpoints.json" in members
    assert f"medusa_zoo/bundled/{name}/model.safetensors" in members
    shipped = sorted(m for m in members if m.startswith("medusa_zoo/examples/"))
    assert "medusa_zoo/examples/quickstart.py" in shipped and all(m.endswith(".py") for m in shipped), shipped
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    ours = subprocess.run([sys.executable, "-c", "import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))"],
                          check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    Path(site, "_dependencies.pth").write_text(ours + "\n")  # torch & co. from this environment, like system site packages
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MEDUSA_ZOO_"))}
    env |= {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "empty_home")}
    go = tmp_path / "go"
    go.touch()
    out = subprocess.run([str(python), "-c", FINGERPRINT, name, str(go)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    installed, digest = out.stdout.split()[-2:]
    assert installed.startswith(str(venv)), installed  # the wheel's copy, not the source tree
    assert digest == expected
