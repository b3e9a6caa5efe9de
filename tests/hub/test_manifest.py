"""checkpoints.json: the shipped manifest validates, bundled files match it, bad entries are named."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import torch

import medusa_zoo
from medusa_zoo.errors import ManifestError
from medusa_zoo.hub import MANIFEST_FORMAT, HubLocation, Manifest, load_manifest, manifest_entry, sha256_of

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_manifest_validates_and_every_bundled_file_matches_it() -> None:
    manifest = load_manifest(ROOT / "checkpoints.json")
    for name in manifest.names():
        entry = manifest.get(name)
        if entry.bundled:
            assert entry.bundled_path.is_file(), f"{name}: bundled file {entry.bundled_path} is missing"
            assert entry.bundled_path.stat().st_size == entry.size
            assert sha256_of(entry.bundled_path) == entry.sha256
        for task, values in entry.metrics.get("values", {}).items():
            assert values, f"{name}: metrics for {task} are empty"


@pytest.fixture(scope="module")
def good_entry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    torch.manual_seed(0)
    model = medusa_zoo.load("stl_regnetx002", tasks=["edge"], pretrained=False, device="cpu")
    folder = model.save_pretrained(tmp_path_factory.mktemp("entry"))
    entry = manifest_entry(
        model, "stl_regnetx002.demo", folder / "model.safetensors", hub=HubLocation("org/demo", "a" * 40),
        metrics={"dataset": "synthrooms", "split": "val[0:8]", "values": {"edge": {"odsF": 50.0}}}, recipe="r.json",
    )  # fmt: skip
    return entry.to_dict()


def manifest_with(entry: dict[str, Any], name: str = "stl_regnetx002.demo") -> dict[str, Any]:
    return {"format": MANIFEST_FORMAT, "checkpoints": {name: entry}}


def test_a_valid_entry_round_trips(good_entry: dict[str, Any]) -> None:
    manifest = Manifest.from_dict(manifest_with(good_entry))
    entry = manifest.get("stl_regnetx002.demo")
    assert entry.to_dict() == good_entry
    assert entry.tag == "demo" and entry.hub == HubLocation("org/demo", "a" * 40)
    assert manifest.default_for("stl_regnetx002") is entry  # the only checkpoint of its architecture


BAD = [
    ("sha256", lambda e: e.update(sha256="abc"), "sha256"),
    ("size", lambda e: e.update(size=-1), "size"),
    ("size bool", lambda e: e.update(size=True), "size"),
    ("filename", lambda e: e.update(filename="model.pt"), "filename"),
    ("missing field", lambda e: e.pop("license"), "license"),
    ("unknown field", lambda e: e.update(weights_url="http://x"), "weights_url"),
    ("branch revision", lambda e: e["hub"].update(revision="main"), "hub.revision"),
    ("made-up repo", lambda e: e["hub"].update(repo_id="no slash"), "hub.repo_id"),
    ("nowhere to load from", lambda e: e.update(hub=None, bundled=False), "hub"),
    ("architecture", lambda e: e.update(architecture="mtl_regnetx002"), "architecture"),
    ("config head", lambda e: e["config"].update(head="nope"), "config"),
    ("metrics task", lambda e: e["metrics"]["values"].update(depth={"rmse": 1.0}), "metrics.values.depth"),
    ("metrics value", lambda e: e["metrics"]["values"].update(edge={"odsF": "high"}), "metrics.values.edge"),
]


@pytest.mark.parametrize(("case", "damage", "field"), BAD, ids=[b[0] for b in BAD])
def test_a_malformed_entry_names_the_entry_and_field(good_entry: dict[str, Any], case: str, damage: Any, field: str) -> None:
    entry = copy.deepcopy(good_entry)
    damage(entry)
    with pytest.raises(ManifestError) as error:
        Manifest.from_dict(manifest_with(entry))
    assert "'stl_regnetx002.demo'" in str(error.value) and f"'{field}'" in str(error.value)


def test_manifest_level_errors(good_entry: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="<name>"):
        Manifest.from_dict(manifest_with(good_entry, name="NoTag"))
    with pytest.raises(ManifestError, match="format"):
        Manifest.from_dict({"format": "something/9", "checkpoints": {}})
    two = {**manifest_with(good_entry)}
    second = copy.deepcopy(good_entry)
    two["checkpoints"] = {"stl_regnetx002.demo": {**good_entry, "default": True}, "stl_regnetx002.b": {**second, "default": True}}
    with pytest.raises(ManifestError, match="only one checkpoint per architecture"):
        Manifest.from_dict(two)
    broken = tmp_path / "checkpoints.json"
    broken.write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(broken)


def test_a_malformed_manifest_in_use_fails_at_load_time(
    good_entry: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = {**good_entry, "sha256": "0" * 10}
    path = tmp_path / "checkpoints.json"
    path.write_text(json.dumps(manifest_with(entry)))
    monkeypatch.setenv("MEDUSA_ZOO_MANIFEST", str(path))
    with pytest.raises(ManifestError, match="'stl_regnetx002.demo', field 'sha256'"):
        medusa_zoo.load("stl_regnetx002.demo")
