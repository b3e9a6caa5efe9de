"""medusa_zoo.finetune on a frozen trunk, and the UFL benchmark (python -m medusa_zoo ufl)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision import tv_tensors

import medusa_zoo
from medusa_zoo import ufl
from medusa_zoo.data import SynthRooms
from medusa_zoo.errors import DatasetError, TrainingError, UnknownTaskError
from medusa_zoo.metrics import delta_m
from medusa_zoo.training.data import evaluation_loader
from medusa_zoo.training.evaluation import evaluate

RESOLUTION = (64, 96)


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def synthrooms(split: str, size: int, tasks: list[str]) -> SynthRooms:
    return SynthRooms(split, size=size, tasks=tasks, resolution=RESOLUTION)


def trained_trunk() -> medusa_zoo.MultiTaskNet:
    """The bundled Medusa checkpoint without its normals head: a real trained trunk."""
    model = medusa_zoo.load("medusa_efficientnet_lite0.synthrooms", device="cpu")
    model.remove_task("normals")
    return model


def normals_error(model: medusa_zoo.MultiTaskNet) -> float:
    loader = evaluation_loader("synthrooms", "val", ["normals"], {"resolution": list(RESOLUTION)}, 16, None,
                               model.config.preprocessing)
    return evaluate(model, loader, "synthrooms", tasks=["normals"])["normals"]["mean"]


def test_finetuning_trains_the_new_head_only_and_beats_an_untrained_one() -> None:
    model = trained_trunk()
    torch.manual_seed(0)
    model.add_task("normals")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probe = torch.rand(1, 3, *RESOLUTION, generator=torch.Generator().manual_seed(3))
    others = {k: v for k, v in model(model.normalize(probe)).logits.items() if k != "normals"}
    untrained = normals_error(model)
    result = medusa_zoo.finetune(model, "normals", synthrooms("train", 64, ["normals"]), steps=40, batch_size=4,
                                 lr=2e-3, progress=False)
    after = model.state_dict()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert changed and all(k.startswith("decoder.heads.normals.") for k in changed)
    assert any("running_mean" in k for k in changed)  # the new head's own BatchNorms did train
    trunk_buffers = [k for k in after if k.startswith("backbone.") and "running" in k]
    assert trunk_buffers and all(torch.equal(after[k], before[k]) for k in trunk_buffers)
    for name, value in model(model.normalize(probe)).logits.items():
        if name != "normals":
            assert torch.equal(value, others[name])
    assert len(result.history) == 40 and result.trainable.trainable < result.trainable.frozen
    assert not model.training
    tuned = normals_error(model)
    assert tuned < untrained - 5.0, (untrained, tuned)  # degrees of mean angular error


def test_finetune_reports_validation_metrics_and_works_on_user_tasks() -> None:
    """A user-defined dense regression task on a user's own dataset: predict the image's own brightness."""

    class Brightness(torch.utils.data.Dataset):
        def __init__(self, size: int) -> None:
            self.rooms = synthrooms("train", size, ["depth"])

        def __len__(self) -> int:
            return len(self.rooms)

        def __getitem__(self, index: int) -> dict:
            image = self.rooms[index]["image"]
            grey = image.float().mean(dim=0, keepdim=True) / 255.0
            return {"image": image, "brightness": tv_tensors.Mask(grey)}

    model = medusa_zoo.load("medusa_efficientnet_lite0.synthrooms", device="cpu")
    torch.manual_seed(0)
    model.add_task("brightness", kind="dense_regression", out_channels=1)
    data = Brightness(24)
    start = medusa_zoo.finetune(model, "brightness", data, data, steps=1, progress=False).metrics
    result = medusa_zoo.finetune(model, "brightness", data, data, steps=30, lr=3e-3, batch_size=4, eval_every=10,
                                 progress=False)
    assert set(result.metrics) == {"rmse", "mae"}
    assert [sorted(h["eval"]) for h in result.history if "eval" in h] == [["mae", "rmse"]] * 2
    assert result.metrics["rmse"] < 0.5 * start["rmse"]


def test_finetune_refuses_bad_requests_before_training() -> None:
    model = trained_trunk()
    with pytest.raises(UnknownTaskError, match="add_task"):
        medusa_zoo.finetune(model, "normals", synthrooms("train", 4, ["normals"]), steps=1, progress=False)
    model.add_task("normals")
    with pytest.raises(DatasetError, match="no label for 'normals'"):
        medusa_zoo.finetune(model, "normals", synthrooms("train", 4, ["depth"]), steps=1, progress=False)
    with pytest.raises(DatasetError, match="map-style"):
        medusa_zoo.finetune(model, "normals", [1, 2, 3], steps=1, progress=False)  # type: ignore[arg-type]
    with pytest.raises(TrainingError, match="lower the learning rate"):
        medusa_zoo.finetune(model, "normals", synthrooms("train", 8, ["normals"]), steps=3, lr=1e30, progress=False)


TINY = {
    "format": "medusa_zoo.recipe/1", "name": "tiny_ufl", "dataset": "synthrooms",
    "architectures": ["medusa_regnetx002", "mtl_regnetx002", "mtinet_regnetx002", "stl_regnetx002"],
    "tasks": ["semseg", "depth", "normals"], "data": {"seed": 0, "resolution": [64, 96], "sizes": {"train": 16}},
    "train_size": [64, 96], "crop": [64, 64], "eval_size": [64, 96], "eval_images": 4, "lr": 0.001,
    "warmup": 1, "batch_size": 2, "steps": 2, "checkpoint_every": 2, "log_every": 1, "num_workers": 0,
}


def test_ufl_benchmark_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(TINY))
    out = tmp_path / "ufl.json"
    argv = ["--recipe", str(recipe), "--arch", "medusa_regnetx002", "mtinet_regnetx002", "--held-out", "normals",
            "depth", "--steps", "2", "--head-steps", "1", "--seeds", "0", "1", "--common-heads", "mtl",
            "--runs", str(tmp_path / "runs"), "--out", str(out), "--threads", "1", "--no-progress"]
    assert ufl.main(argv) == 0
    printed = capsys.readouterr().out
    document = json.loads(out.read_text())
    assert document["stl_steps"] == 3 and document["seeds"] == [0, 1]  # the fair budget: trunk + head steps
    primary = {t: tuple(v) for t, v in document["primary"].items()}
    cells = {(c["trunk"], c["held_out"], c["head"]): c for c in document["cells"]}
    assert set(cells) == {(a, t, h) for a, heads in (("medusa_regnetx002", ("medusa", "mtl")),
                                                    ("mtinet_regnetx002", ("mtinet", "mtl")))
                          for t in ("normals", "depth") for h in heads}
    runs = tmp_path / "runs/tiny_ufl"
    for (arch, task, design), cell in cells.items():
        assert cell["seeds"] == [0, 1] and len(cell["scores"]) == 2
        assert cell["own_head"] == (design == arch.split("_")[0])
        for i, seed in enumerate((0, 1)):
            head_type = arch.split("_")[0]
            trunk = json.loads((runs / f"steps2_seed{seed}/{head_type}/without_{task}/metrics.json").read_text())
            assert task not in trunk["values"] and trunk["steps"] == 2  # the trunk never trained on it
            stl = json.loads((runs / f"steps3_seed{seed}/stl/{task}/metrics.json").read_text())
            assert stl["steps"] == 3
            expected = delta_m({task: cell["values"][i]}, {task: stl["values"][task]}, {task: primary[task]})
            assert cell["scores"][i] == pytest.approx(expected)
    # the common head is the same design on every trunk: same size, reading the backbone only
    assert cells[("medusa_regnetx002", "normals", "mtl")]["head_parameters"] == \
        cells[("mtinet_regnetx002", "normals", "mtl")]["head_parameters"]
    fitted = json.loads((runs / "steps2_seed0/mtinet/without_normals/head_normals_mtinet_steps1.json").read_text())
    assert "decoder.distill.0.adapters.normals__from__semseg" in fitted["retrained_modules"]
    common = json.loads((runs / "steps2_seed0/mtinet/without_normals/head_normals_mtl_steps1.json").read_text())
    assert all(m.startswith("decoder.heads.normals") for m in common["retrained_modules"])
    rows = {(r["trunk"], r["head"]): r for r in document["rows"]}
    medusa = rows[("medusa_regnetx002", "medusa")]
    per_seed = [(cells[("medusa_regnetx002", "normals", "medusa")]["scores"][i]
                 + cells[("medusa_regnetx002", "depth", "medusa")]["scores"][i]) / 2 for i in range(2)]
    assert medusa["ufl_seeds"] == pytest.approx(per_seed)
    pair = next(c for c in document["comparisons"]
                if c["head"] == "mtl" and c["held_out"] == "mean" and c["a"] == "medusa_regnetx002")
    assert pair["mean"] == pytest.approx(np.mean(np.subtract(rows[("medusa_regnetx002", "mtl")]["ufl_seeds"],
                                                             rows[("mtinet_regnetx002", "mtl")]["ufl_seeds"])))
    assert pair["low"] <= pair["mean"] <= pair["high"]
    assert set(document["trivial"]["scores"]) == {"normals", "depth"}
    assert "| MTI-Net | HRNet head (common) |" in printed and "paper's figure" in printed
    assert (runs / "steps2_seed0/medusa/without_normals/head_normals_medusa_steps1/head.json").is_file()
    stamp = (runs / "steps2_seed0/medusa/without_normals/model/model.safetensors").stat().st_mtime_ns
    assert ufl.main(argv) == 0  # a second run reuses every trunk, head and reference
    assert (runs / "steps2_seed0/medusa/without_normals/model/model.safetensors").stat().st_mtime_ns == stamp
    assert json.loads(out.read_text())["cells"] == document["cells"]
    assert ufl.main(["--report", str(out)]) == 0
    assert "UFL score" in capsys.readouterr().out


@pytest.mark.slow
def test_finetune_new_head_example_runs(tmp_path: Path) -> None:
    """examples/finetune_new_head.py at a tiny size (its full size is measured in MODEL_CARD.md)."""
    script = Path(__file__).resolve().parents[2] / "examples" / "finetune_new_head.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    results = tmp_path / "new_head.json"
    done = subprocess.run([sys.executable, str(script), "--steps", "3", "--images", "4", "--out", str(tmp_path),
                           "--results", str(results)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "new head on the frozen no-normals trunk" in done.stdout and "jointly trained normals head" in done.stdout
    assert (tmp_path / "normals_head" / "head.json").is_file() and "loaded it back" in done.stdout
    record = json.loads(results.read_text())
    assert record["images"] == 4 and record["head_steps"] == 3 and "--results" in record["command"]
    assert set(record["values"]) == {"new_head", "joint_head", "untrained_head"}
    assert f"{record['values']['new_head']['mean']:6.1f}°" in done.stdout  # the file holds what was printed
    assert 0 < record["trainable"] < record["frozen"]


@pytest.mark.parametrize(("change", "message"), [
    ({"common": ["mtinet"]}, "common head 'mtinet' must be a per-task head type"),
    ({"common": ["stl"]}, "common head 'stl' must be a per-task head type"),
    ({"saliency_protocol": "astmt"}, "unknown saliency protocol 'astmt'"),
    ({"held_out": ["parts"]}, "not among recipe"),
    ({"archs": ["stl_regnetx002"]}, "not a multi-task architecture"),
])
def test_ufl_refuses_bad_requests_before_training(tmp_path: Path, change: dict, message: str) -> None:
    from medusa_zoo.errors import RecipeError
    from medusa_zoo.training.recipe import recipe_from_dict
    from medusa_zoo.training.ufl import Budget, run_protocol

    arguments = {"archs": ["medusa_regnetx002"], "held_out": ["normals"], "common": ["mtl"],
                 "saliency_protocol": "pooled", **change}
    with pytest.raises(RecipeError, match=message):
        run_protocol(recipe_from_dict(TINY), arguments["archs"], arguments["held_out"], [Budget(2, 1, 0)],
                     tmp_path, arguments["common"], arguments["saliency_protocol"])
    assert not any(tmp_path.iterdir())  # nothing was trained
