"""Evaluation (python -m medusa_zoo evaluate), Δm against shipped STL results, registration and compact storage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from medusa_zoo.errors import IncompatibleConfigError, MedusaZooError, RecipeError, TrainingError
from medusa_zoo.evaluate import main as evaluate_main
from medusa_zoo.evaluate import parse_data
from medusa_zoo.hub import MANIFEST_FORMAT, load_manifest
from medusa_zoo.models.serialization import dequantize_int8, quantize_int8, read_weights
from medusa_zoo.training import build_for_recipe, recipe_from_dict
from medusa_zoo.training.register import register
from medusa_zoo.training.results import delta_m_against, merge_single_task, read_results, write_results

TINY = {
    "format": "medusa_zoo.recipe/1", "name": "tiny", "dataset": "synthrooms",
    "architectures": ["medusa_regnetx002", "stl_regnetx002"], "tasks": ["semseg", "depth", "edge"],
    "data": {"seed": 0, "resolution": [64, 96]}, "train_size": [64, 96], "eval_size": [64, 96],
    "eval_images": 6, "batch_size": 2, "steps": 1, "num_workers": 0,
}  # fmt: skip


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = build_for_recipe(recipe_from_dict(TINY), "medusa_regnetx002")
    return model.save_pretrained(tmp_path_factory.mktemp("model"))


def test_parse_data_needs_dataset_and_split() -> None:
    assert parse_data("synthrooms:val") == ("synthrooms", "val")
    with pytest.raises(RecipeError, match="synthrooms:val"):
        parse_data("synthrooms")


def test_the_cli_prints_every_task_and_writes_a_results_file(saved_model: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.json"
    code = evaluate_main(["--model", f"local-dir:{saved_model}", "--data", "synthrooms:val", "--images", "3",
                          "--resolution", "64", "96", "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    for task in ("semseg", "depth", "edge", "Δm"):
        assert task in printed
    result = read_results(out)
    assert result["images"] == 3 and set(result["values"]) == {"semseg", "depth", "edge"}
    assert result["values"]["depth"]["rmse"] > 0
    assert result["command"].startswith("python -m medusa_zoo.evaluate --model local-dir:")


def test_the_cli_reports_a_bad_data_spec_without_a_traceback(saved_model: Path, capsys) -> None:
    assert evaluate_main(["--model", f"local-dir:{saved_model}", "--data", "nyud:val"]) == 2
    assert "needs its folder" in capsys.readouterr().err


def test_delta_m_uses_the_reference_only_when_the_evaluation_sets_match() -> None:
    reference = {"dataset": "synthrooms", "split": "val", "images": 10,
                 "values": {"semseg": {"mIoU": 50.0}, "depth": {"rmse": 1.0}}}  # fmt: skip
    primary = {"semseg": ("mIoU", False), "depth": ("rmse", True)}
    values = {"semseg": {"mIoU": 55.0}, "depth": {"rmse": 1.1}}
    value, _ = delta_m_against(values, reference, primary, "synthrooms", "val", 10)
    assert value == pytest.approx((10.0 - 10.0) / 2)
    value, why = delta_m_against(values, reference, primary, "synthrooms", "val", 20)
    assert value is None and "10" in why and "20" in why


def test_single_task_files_merge_into_one_reference(tmp_path: Path) -> None:
    files = []
    for task, metric in (("semseg", "mIoU"), ("depth", "rmse")):
        files.append(write_results(tmp_path / f"{task}.json", {"dataset": "synthrooms", "split": "val", "images": 4,
                                                               "values": {task: {metric: 1.0}}, "model": task}))
    merged = merge_single_task(files)
    assert merged["values"] == {"semseg": {"mIoU": 1.0}, "depth": {"rmse": 1.0}}
    write_results(tmp_path / "odd.json", {"dataset": "synthrooms", "split": "val", "images": 5, "values": {"edge": {}}})
    with pytest.raises(IncompatibleConfigError, match="share"):
        merge_single_task([*files, tmp_path / "odd.json"])


def test_int8_storage_round_trips_within_half_a_step_per_channel(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    torch.manual_seed(0)
    state = {"conv.weight": torch.randn(8, 4, 3, 3) * torch.linspace(0.01, 2, 8)[:, None, None, None],
             "bn.running_var": torch.rand(8), "bn.num_batches_tracked": torch.tensor(7)}  # fmt: skip
    stored, metadata = quantize_int8(state)
    assert stored["conv.weight"].dtype == torch.int8 and stored["bn.running_var"].dtype == torch.float16
    save_file(stored, tmp_path / "w.safetensors", metadata=metadata)
    back = read_weights(tmp_path / "w.safetensors")
    assert set(back) == set(state) and back["bn.num_batches_tracked"] == 7
    step = state["conv.weight"].abs().amax(dim=(1, 2, 3)) / 127
    error = (back["conv.weight"] - state["conv.weight"]).abs().amax(dim=(1, 2, 3))
    assert (error <= step / 2 + 1e-7).all()
    assert torch.equal(back["conv.weight"], dequantize_int8(stored)["conv.weight"])


def test_register_bundles_the_weights_and_writes_measured_metrics(
    saved_model: Path, tmp_path: Path
) -> None:
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(TINY))
    checkout = tmp_path / "checkout"
    (checkout / "medusa_zoo").mkdir(parents=True)
    manifest = checkout / "checkpoints.json"
    manifest.write_text(json.dumps({"format": MANIFEST_FORMAT, "checkpoints": {}}))
    with pytest.raises(TrainingError, match="not a medusa_zoo source checkout"):
        register("medusa_regnetx002.tiny", saved_model, str(recipe), repo_root=tmp_path)
    with pytest.raises(MedusaZooError, match="precision must be one of"):
        register("medusa_regnetx002.tiny", saved_model, str(recipe), repo_root=checkout, precision="int4")
    assert not (checkout / "medusa_zoo" / "bundled").exists()  # refused before anything was written
    entry = register("medusa_regnetx002.tiny", saved_model, str(recipe), repo_root=checkout,
                     check_images=2, default=True, command="python -m medusa_zoo register ...")
    stored = checkout / "medusa_zoo" / "bundled" / "medusa_regnetx002.tiny" / "model.safetensors"
    assert stored.is_file() and entry.size == stored.stat().st_size
    assert {v.dtype for v in read_weights(stored).values()} <= {torch.float16, torch.int64}
    written = load_manifest(manifest).get("medusa_regnetx002.tiny")
    assert written.default and written.metrics["images"] == 6 and written.metrics["check"]["images"] == 2
    assert set(written.metrics["values"]) == {"semseg", "depth", "edge"}
    assert written.metrics["precision"] == "float16"


def test_without_out_the_results_go_under_outputs(saved_model: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert evaluate_main(["--model", f"local-dir:{saved_model}", "--data", "synthrooms:val", "--images", "2",
                          "--resolution", "64", "96"]) == 0  # fmt: skip
    written = list((tmp_path / "outputs" / "evaluate").glob("local-dir_*.synthrooms_val.json"))
    assert len(written) == 1 and read_results(written[0])["images"] == 2
    # the family's shipped STL reference covers 300 val images, so Δm is skipped with a hint
    assert "not computed" in capsys.readouterr().out.split("Δm")[1]
