"""The idioms of huggingface_hub, timm and torch.hub: from_pretrained, pretrained_cfg, transforms(),
Hub model cards, torch.hub entry points, and a re-saved checkpoint keeping its name and metrics."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard

import medusa_zoo
from medusa_zoo.errors import CheckpointError, IncompatibleConfigError, UnknownModelError
from medusa_zoo.models.provenance import PROVENANCE_KEY
from tests.hub_server import HubServer

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = "medusa_efficientnet_lite0"
METRICS = {"dataset": "synthrooms", "split": "val", "values": {"depth": {"rmse": 0.25, "nan": float("nan")}}}


def tiny(seed: int = 0) -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(seed)
    return medusa_zoo.load("stl_regnetx002", tasks=["depth"], pretrained=False, device="cpu")


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def default() -> medusa_zoo.MultiTaskNet:
    return medusa_zoo.MultiTaskNet.from_pretrained(DEFAULT)


def test_from_pretrained_loads_a_saved_folder_as_path_or_string(tmp_path: Path) -> None:
    model = tiny()
    model.save_pretrained(tmp_path / "m", metrics=METRICS, recipe="r.json", license="MIT")
    for spec in (tmp_path / "m", str(tmp_path / "m"), f"local-dir:{tmp_path / 'm'}"):
        loaded = medusa_zoo.MultiTaskNet.from_pretrained(spec)
        assert same_weights(loaded, model) and not loaded.training and loaded.device.type == "cpu"
    cfg = loaded.pretrained_cfg
    assert cfg["license"] == "MIT" and cfg["recipe"] == "r.json" and cfg["source"] == str(tmp_path / "m")
    assert cfg["metrics"]["values"] == {"depth": {"rmse": 0.25}}  # the NaN is dropped, not written


def test_from_pretrained_refuses_bad_inputs_with_typed_errors(tmp_path: Path) -> None:
    load = medusa_zoo.MultiTaskNet.from_pretrained
    with pytest.raises(IncompatibleConfigError, match="folder path, a Hub repo id"):
        load(42)  # type: ignore[arg-type]
    with pytest.raises(CheckpointError, match="is not a folder"):
        load(str(tmp_path / "missing" / "deeper" / "model"))
    with pytest.raises(CheckpointError, match="is not a folder"):
        load(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="org/name"):
        load("org/../name")
    with pytest.raises(CheckpointError, match="revision"):
        load("org/name", revision="../../etc")
    tiny().save_pretrained(tmp_path / "m")
    with pytest.raises(IncompatibleConfigError, match="revision= applies to Hub repositories"):
        load(tmp_path / "m", revision="main")
    with pytest.raises(IncompatibleConfigError, match="pinned by the manifest"):
        load(DEFAULT, revision="main")
    with pytest.raises(IncompatibleConfigError, match="names a revision already"):
        load("hf-hub:org/name@main", revision="v1")
    with pytest.raises(UnknownModelError, match="medusa_efficientnet_lite0"):
        load("medusa_efficientnet_lite")


def test_from_pretrained_reads_a_hub_repo_at_a_revision(hub: HubServer, tmp_path: Path) -> None:
    first, second = tiny(1), tiny(2)
    commits = []
    for index, model in enumerate((first, second)):
        model.save_pretrained(tmp_path / str(index), name="stl_regnetx002.hubbed", license="Apache-2.0")
        files = {p.name: p.read_bytes() for p in (tmp_path / str(index)).iterdir()}
        commits.append(hub.add_commit("medusa-test/idioms", files))
    load = medusa_zoo.MultiTaskNet.from_pretrained
    latest = load("medusa-test/idioms", cache_dir=tmp_path / "cache")
    pinned = load("medusa-test/idioms", revision=commits[0], cache_dir=tmp_path / "cache")
    assert same_weights(latest, second) and same_weights(pinned, first)
    assert pinned.source == f"hf-hub:medusa-test/idioms@{commits[0]}"
    assert pinned.pretrained_cfg["name"] == "stl_regnetx002.hubbed" and pinned.pretrained_cfg["license"] == "Apache-2.0"


def test_pretrained_cfg_describes_inputs_tasks_and_provenance(default: medusa_zoo.MultiTaskNet) -> None:
    cfg = default.pretrained_cfg
    assert cfg["input_size"] == (3, *default.config.preprocessing.input_size) and cfg["crop_pct"] == 1.0
    assert cfg["mean"] == default.config.preprocessing.mean and cfg["interpolation"] == "bilinear"
    assert cfg["tasks"]["semseg"]["labels"][:2] == ("floor", "wall") and cfg["tasks"]["depth"]["out_channels"] == 1
    assert cfg["name"] == f"{DEFAULT}.synthrooms" and cfg["source"] == DEFAULT and cfg["arch"] == DEFAULT
    assert cfg["license"] == "Apache-2.0" and cfg["metrics"]["values"]["semseg"]["mIoU"] > 50
    assert medusa_zoo.load(DEFAULT, device="cpu").pretrained_cfg["name"] == cfg["name"]  # load() learns it too


def test_transforms_then_forward_equals_predict_at_the_design_size(default: medusa_zoo.MultiTaskNet) -> None:
    h, w = default.pretrained_cfg["input_size"][1:]
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    batch = default.transforms()(image)[None]
    assert batch.shape == (1, 3, h, w) and batch.dtype == torch.float32
    with torch.no_grad():
        logits = default(batch, ["depth", "semseg"]).logits
    predicted = default.predict(image, tasks=["depth", "semseg"])
    torch.testing.assert_close(default.tasks["depth"].postprocess(logits["depth"])[0], predicted["depth"], atol=1e-4, rtol=1e-4)
    assert torch.equal(default.tasks["semseg"].postprocess(logits["semseg"])[0], predicted["semseg"])


def test_resaving_keeps_name_metrics_and_licence_in_card_and_config(default: medusa_zoo.MultiTaskNet, tmp_path: Path) -> None:
    default.save_pretrained(tmp_path / "a")
    medusa_zoo.MultiTaskNet.from_pretrained(tmp_path / "a").save_pretrained(tmp_path / "b")
    again = medusa_zoo.load(f"local-dir:{tmp_path / 'b'}", device="cpu")
    cfg = again.pretrained_cfg
    assert cfg["name"] == f"{DEFAULT}.synthrooms" and cfg["license"] == "Apache-2.0"
    assert cfg["recipe"] == "synthrooms_efficientnet_lite0" and cfg["metrics"] == default.pretrained_cfg["metrics"]
    data = ModelCard.load(tmp_path / "b" / "README.md").data
    assert data.license == "apache-2.0" and data.library_name == "medusa_zoo" and data.datasets == ["synthrooms"]
    assert "multi-task-learning" in data.tags and data.model_name == f"{DEFAULT}.synthrooms"
    miou = [r for r in data.eval_results if r.metric_name == "semseg mIoU"]  # the Hub groups rows by task type
    assert len(miou) == 1 and miou[0].task_type == "image-segmentation" and miou[0].dataset_split == "val"
    assert miou[0].metric_type == "mIoU" and len(data.eval_results) == sum(map(len, cfg["metrics"]["values"].values()))
    assert miou[0].metric_value == pytest.approx(cfg["metrics"]["values"]["semseg"]["mIoU"])


def test_removing_a_task_drops_its_metrics_on_save(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = medusa_zoo.build_model("mtl", "regnetx002", tasks=["depth", "edge"], input_size=(64, 64))
    model.save_pretrained(tmp_path / "m", metrics={"dataset": "d", "split": "s", "values": {"depth": {"rmse": 1.0}, "edge": {"odsF": 50.0}}})
    loaded = medusa_zoo.MultiTaskNet.from_pretrained(tmp_path / "m")
    loaded.remove_task("edge")
    loaded.save_pretrained(tmp_path / "n")
    again = medusa_zoo.MultiTaskNet.from_pretrained(tmp_path / "n")
    assert again.pretrained_cfg["metrics"]["values"] == {"depth": {"rmse": 1.0}}
    assert [r.metric_name for r in ModelCard.load(tmp_path / "n" / "README.md").data.eval_results] == ["depth rmse"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"name": "x", "owner": "me"}', "must be an object with"),
        ('{"metrics": {"dataset": "d", "split": "s", "values": {"sky": {"m": 1}}}}', "sky"),
        ('{"license": ' + json.dumps("x" * 600) + "}", "at most 500"),
        ('{"name": "' + "x" * 70000 + '"}', "exceeds"),
        ("[" * 5000 + "]" * 5000, "not valid JSON"),  # too deep: typed, no RecursionError
    ],
)
def test_a_damaged_provenance_record_is_a_checkpoint_error(tmp_path: Path, record: str, message: str) -> None:
    from safetensors.torch import load_file, save_file

    model = tiny()
    model.save_pretrained(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    save_file(load_file(weights), weights, metadata={"format": "pt", PROVENANCE_KEY: record})
    with pytest.raises(CheckpointError, match=message) as caught:
        medusa_zoo.MultiTaskNet.from_pretrained(tmp_path / "m")
    assert "model.safetensors" in str(caught.value)


def test_save_pretrained_refuses_unknown_or_malformed_card_fields(tmp_path: Path) -> None:
    with pytest.raises(IncompatibleConfigError, match="'dataset', 'split' and 'values'"):
        tiny().save_pretrained(tmp_path / "m", metrics={"rmse": 1.0})
    with pytest.raises(IncompatibleConfigError, match="recipe must be a string"):
        tiny().save_pretrained(tmp_path / "m", recipe=3)  # type: ignore[arg-type]


def test_torch_hub_lists_and_loads_every_published_checkpoint() -> None:
    # torch.hub.list/help read only GitHub repos in this torch; list as they do: public callables of hubconf
    spec = importlib.util.spec_from_file_location("hubconf", ROOT / "hubconf.py")
    hubconf = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(hubconf)  # type: ignore[union-attr]
    entries = [name for name in dir(hubconf) if callable(getattr(hubconf, name)) and not name.startswith("_")]
    assert set(entries) == {"medusa_efficientnet_lite0", "medusa_efficientnet_lite0_no_normals", "mtinet_efficientnet_lite0"}
    assert hubconf.dependencies == ["torch", "timm", "huggingface_hub", "safetensors"]
    manifest = json.loads((ROOT / "checkpoints.json").read_text())["checkpoints"]
    docs = " ".join(getattr(hubconf, e).__doc__ for e in entries)
    assert all(name in docs for name in manifest)  # one entry point per published checkpoint
    model = torch.hub.load(str(ROOT), "medusa_efficientnet_lite0", source="local")
    assert model.pretrained_cfg["name"] == f"{DEFAULT}.synthrooms" and not model.training
    random = torch.hub.load(str(ROOT), "medusa_efficientnet_lite0", source="local", pretrained=False, tasks=["depth"])
    assert list(random.tasks) == ["depth"] and random.pretrained_cfg["name"] is None
