"""Publishing: the Hub-ready folder, the upload to the (local) Hub, and the printed manifest entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import medusa_zoo
from medusa_zoo.hub import sha256_of, write_hub_folder
from tests.hub_server import HubServer

pytestmark = pytest.mark.filterwarnings("ignore:Use .content=:DeprecationWarning")  # httpx inside huggingface_hub

METRICS = {"dataset": "synthrooms", "split": "val[0:16]", "values": {"depth": {"rmse": 0.25, "log_rmse": 0.08}}}


@pytest.fixture(scope="module")
def model() -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(5)
    return medusa_zoo.load("stl_regnetx002", tasks=["depth"], pretrained=False, device="cpu")


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_the_hub_folder_holds_config_weights_and_a_card_with_metrics_and_recipe(
    model: medusa_zoo.MultiTaskNet, tmp_path: Path
) -> None:
    folder = write_hub_folder(model, tmp_path / "repo", name="stl_regnetx002.demo", metrics=METRICS,
                              recipe="recipes/synthrooms/stl.json", license="Apache-2.0")  # fmt: skip
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    card = (folder / "README.md").read_text()
    for expected in ("license: apache-2.0", "| depth | rmse | 0.25 |", "synthrooms val[0:16]",
                     "recipes/synthrooms/stl.json", 'medusa_zoo.load("stl_regnetx002.demo")', "| depth | depth | 1 |"):  # fmt: skip
        assert expected in card, expected
    assert json.loads((folder / "config.json").read_text())["arch"] == "stl_regnetx002"
    assert same_weights(medusa_zoo.load(f"local-dir:{folder}", device="cpu"), model)


def test_push_to_hub_uploads_and_prints_the_pinned_manifest_entry(
    model: medusa_zoo.MultiTaskNet, hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    entry = model.push_to_hub("medusa-test/published", token="test", metrics=METRICS, recipe="recipes/x.json")
    printed = json.loads(capsys.readouterr().out)
    assert printed == {entry.name: entry.to_dict()}
    assert entry.name == "stl_regnetx002.published" and entry.hub is not None and not entry.bundled
    assert entry.hub.revision == hub.resolve("medusa-test/published")  # the commit the upload made
    assert sorted(hub.list_files("medusa-test/published", entry.hub.revision)) == [
        "README.md", "config.json", "model.safetensors",
    ]  # fmt: skip
    manifest = tmp_path / "checkpoints.json"
    manifest.write_text(json.dumps({"format": "medusa_zoo.checkpoints/1", "checkpoints": printed}))
    monkeypatch.setenv("MEDUSA_ZOO_MANIFEST", str(manifest))
    loaded = medusa_zoo.load(entry.name, device="cpu", cache_dir=tmp_path / "cache")
    assert same_weights(loaded, model)
    [weights] = (tmp_path / "cache").rglob("model.safetensors")
    assert sha256_of(weights) == entry.sha256


def test_only_registered_architectures_can_be_published(hub: HubServer) -> None:
    model = medusa_zoo.build_model("stl", "regnetx002", tasks=["depth"])
    with pytest.raises(medusa_zoo.IncompatibleConfigError, match="registered architectures"):
        model.push_to_hub("medusa-test/unregistered", token="test")
