"""config.json is data: allow-listed backbone kwargs (no paths reach timm), bounded numbers, safe task names.

Every bad config is refused with :class:`IncompatibleConfigError` naming the field, before anything is
built or allocated; every real config (the manifest's, every registered architecture's) still validates.
The one test that could allocate a lot if validation regressed runs in a child with an address-space limit.
"""

from __future__ import annotations

import copy
import json
import math
import os
import resource
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import timm

import medusa_zoo
from medusa_zoo import IncompatibleConfigError
from medusa_zoo.models.config import ModelConfig
from medusa_zoo.models.zoo import ARCHITECTURES

MANIFEST = Path(__file__).resolve().parents[1] / "checkpoints.json"
Edit = Callable[[dict[str, Any]], Any]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny saved model (two tasks, generic timm backbone, 64x64)."""
    folder = tmp_path_factory.mktemp("tiny") / "model"
    medusa_zoo.build_model(
        "medusa", "mobilenetv3_small_050", tasks=["semseg", "depth"], input_size=(64, 64), refine_blocks=1
    ).save_pretrained(folder)
    return folder


@pytest.fixture
def config(saved: Path) -> dict[str, Any]:
    return json.loads((saved / "config.json").read_text())


@pytest.fixture
def spy_timm(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Records every call that could build a backbone or open a checkpoint through timm."""
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(timm, "create_model", lambda *a, **k: calls.append(("create_model", k)))
    import timm.models._builder as builder
    import timm.models._helpers as helpers

    for module in (timm.models, helpers, builder):
        if hasattr(module, "load_checkpoint"):
            monkeypatch.setattr(module, "load_checkpoint", lambda *a, **k: calls.append(("load_checkpoint", a)))
    return calls


# --- 1. the backbone kwargs hole -------------------------------------------------------------------


def test_checkpoint_path_in_config_never_reaches_timm(config: dict, tmp_path: Path, spy_timm: list) -> None:
    secret = tmp_path / "secret.pth"
    secret.write_bytes(b"not for timm")
    config["backbone"]["kwargs"] = {"checkpoint_path": str(secret)}
    with pytest.raises(IncompatibleConfigError, match="checkpoint_path.*not allowed.*drop_path_rate"):
        ModelConfig.from_dict(config)
    assert spy_timm == []


def test_checkpoint_path_in_saved_folder_is_refused_by_load(saved: Path, tmp_path: Path, spy_timm: list) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    for item in saved.iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    fifo = tmp_path / "fifo.pth"
    os.mkfifo(fifo)  # opening it would block forever: the test would hang, not pass
    config = json.loads((folder / "config.json").read_text())
    config["backbone"]["kwargs"] = {"checkpoint_path": str(fifo)}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(IncompatibleConfigError, match="checkpoint_path"):
        medusa_zoo.load(f"local-dir:{folder}")
    assert spy_timm == []


def _set(section: str, **values: Any) -> Edit:
    return lambda c: c[section].update(values)


def _task(index: int, **values: Any) -> Edit:
    return lambda c: c["tasks"][index].update(values)


def _top(**values: Any) -> Edit:
    return lambda c: c.update(values)


def _kwargs(**values: Any) -> Edit:
    return lambda c: c["backbone"].update(kwargs=values)


BAD_CONFIGS: dict[str, tuple[Edit, str]] = {
    # backbone: allow-list, plain timm names, bounded levels and widths
    "kwarg_checkpoint_path": (_kwargs(checkpoint_path="/etc/passwd"), "not allowed"),
    "kwarg_pretrained_cfg_overlay": (_kwargs(pretrained_cfg_overlay={"file": "/x"}), "pretrained_cfg_overlay"),
    "kwarg_in_chans": (_kwargs(in_chans=4), "in_chans"),
    "kwarg_output_stride_7": (_kwargs(output_stride=7), "output_stride"),
    "kwarg_output_stride_bool": (_kwargs(output_stride=True), "output_stride"),
    "kwarg_drop_path_one": (_kwargs(drop_path_rate=1.0), "drop_path_rate"),
    "kwarg_drop_path_nan": (_kwargs(drop_path_rate=math.nan), "finite"),
    "kwarg_drop_rate_str": (_kwargs(drop_rate="0.1"), "drop_rate"),
    "kwarg_feature_location": (_kwargs(feature_location="/tmp"), "feature_location"),
    "timm_name_hub_prefix": (_set("backbone", timm_name="hf-hub:timm/resnet18"), "plain timm model name"),
    "timm_name_local_dir": (_set("backbone", timm_name="local-dir:/tmp/x"), "plain timm model name"),
    "timm_name_path": (_set("backbone", timm_name="../../resnet18"), "plain timm model name"),
    "timm_name_int": (_set("backbone", timm_name=18), "plain timm model name"),
    "out_indices_bool": (_set("backbone", out_indices=[True, 2]), "out_indices"),
    "out_indices_repeat": (_set("backbone", out_indices=[2, 2]), "repeat"),
    "out_indices_str": (_set("backbone", out_indices="1234"), "out_indices"),
    "max_channels_huge": (_set("backbone", max_channels=10**9), "max_channels"),
    "max_channels_bool": (_set("backbone", max_channels=True), "max_channels"),
    "backbone_unknown_field": (_set("backbone", weights="/x"), "no field"),
    # head options: bounded before any module exists
    "refine_blocks_huge": (_top(head_options={"refine_blocks": 10**9}), "refine_blocks"),
    "refine_blocks_negative": (_top(head_options={"refine_blocks": -1}), "[0, 64]"),
    "refine_blocks_bool": (_top(head_options={"refine_blocks": True}), "refine_blocks"),
    "refine_blocks_float": (_top(head_options={"refine_blocks": 2.5}), "integer"),
    "mask_int": (_top(head_options={"mask": 3}), "mask"),
    "scale_attention_str": (_top(head_options={"scale_attention": "yes"}), "true or false"),
    "option_typo": (_top(head_options={"refine_block": 2}), "did you mean 'refine_blocks'"),
    "head_options_list": (_top(head_options=[1]), "JSON object"),
    "padnet_width_huge": (_top(head="padnet", head_options={"width": 10**9}), "width"),
    "attached_str": (_top(head="mtinet", head_options={"attached": "depth"}), "attached"),
    # tasks: class counts, names, labels
    "classes_huge": (_task(0, out_channels=10**9, labels=[]), "[1, 4096]"),
    "classes_zero": (_task(0, out_channels=0, labels=[]), "out_channels"),
    "classes_negative": (_task(0, out_channels=-3, labels=[]), "out_channels"),
    "classes_float": (_task(0, out_channels=12.0), "out_channels"),
    "name_training": (_task(1, name="training"), "clashes"),
    "name_forward": (_task(1, name="forward"), "clashes"),
    "name_keys": (_task(1, name="keys"), "clashes"),
    "name_underscore": (_task(1, name="_modules"), "underscore"),
    "name_dot": (_task(1, name="a.b"), "identifier"),
    "name_long": (_task(1, name="x" * 65), "at most 64"),
    "name_keyword": (_task(1, name="class"), "keyword"),
    "name_int": (_task(1, name=5), "identifier"),
    "labels_count": (_task(0, labels=["a", "b"]), "label names"),
    "labels_not_strings": (_task(0, labels=list(range(40))), "strings"),
    "label_too_long": (_task(0, labels=["x" * 101] * 40), "at most 100"),
    "labels_str": (_task(0, labels="floor"), "list of class names"),
    "task_not_object": (_top(tasks=["semseg"]), "JSON object"),
    "task_unknown_field": (_task(1, scale=2), "no field"),
    "too_many_tasks": (
        lambda c: c.update(tasks=[{"name": f"t{i}", "kind": "depth", "out_channels": 1} for i in range(65)]),
        "at most 64",
    ),
    # preprocessing: finite, sane std, bounded sizes
    "std_tiny": (_set("preprocessing", std=[1e-50, 0.2, 0.2]), "positive stds"),
    "std_inf": (_set("preprocessing", std=[math.inf, 0.2, 0.2]), "std"),
    "std_negative": (_set("preprocessing", std=[-0.2, 0.2, 0.2]), "std"),
    "std_str": (_set("preprocessing", std="0.2"), "std"),
    "mean_huge": (_set("preprocessing", mean=[1e9, 0.5, 0.5]), "mean"),
    "size_huge": (_set("preprocessing", input_size=[10**9, 64]), "input_size"),
    "size_zero": (_set("preprocessing", input_size=[0, 64]), "input_size"),
    "size_bool": (_set("preprocessing", input_size=[True, 64]), "input_size"),
    "size_float": (_set("preprocessing", input_size=[64.5, 64]), "input_size"),
    "preprocessing_unknown": (_set("preprocessing", scale=2), "no field"),
    # the config itself
    "head_int": (_top(head=5), "head"),
    "arch_list": (_top(arch=["x"]), "arch"),
    "unknown_top_field": (_top(evil=1), "unknown field"),
    "backbone_list": (_top(backbone=[1]), "JSON object"),
    "preprocessing_str": (_top(preprocessing="imagenet"), "JSON object"),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_is_refused_naming_the_field(config: dict, case: str, spy_timm: list) -> None:
    edit, phrase = BAD_CONFIGS[case]
    edit(config)
    with pytest.raises(IncompatibleConfigError) as caught:
        ModelConfig.from_dict(config)
    assert phrase in str(caught.value), str(caught.value)
    assert spy_timm == []


@pytest.mark.parametrize("value", [None, [], "config", 3, 1.5])
def test_non_object_config_is_a_config_error(value: Any) -> None:
    with pytest.raises(IncompatibleConfigError, match="must be a JSON object"):
        ModelConfig.from_dict(value)


def test_hostile_values_are_shown_short_in_messages(config: dict) -> None:
    config["tasks"][1]["name"] = "y" * 1_000_000
    with pytest.raises(IncompatibleConfigError) as caught:
        ModelConfig.from_dict(config)
    assert len(str(caught.value)) < 1000


@pytest.mark.parametrize(("options", "phrase"), [({"refine_blocks": 10**9}, "refine_blocks"), ({"width": -1}, "width")])
def test_keyword_head_options_are_bounded_too(options: dict, phrase: str) -> None:
    head = "medusa" if "refine_blocks" in options else "padnet"
    with pytest.raises(IncompatibleConfigError, match=phrase):
        medusa_zoo.build_model(head, "mobilenetv3_small_050", tasks=["semseg", "depth"], input_size=(64, 64), **options)


def test_python_task_and_preprocessing_values_are_bounded() -> None:
    with pytest.raises(IncompatibleConfigError, match="num_classes"):
        medusa_zoo.tasks.get_task("semseg", num_classes=10**9)
    with pytest.raises(IncompatibleConfigError, match="out_channels"):
        medusa_zoo.tasks.make_task("big", kind="segmentation", out_channels=10**9)
    with pytest.raises(IncompatibleConfigError, match="positive stds"):
        medusa_zoo.models.config.Preprocessing(std=(1e-50, 1.0, 1.0))
    with pytest.raises(IncompatibleConfigError, match="input_size"):
        medusa_zoo.build_model("mtl", "mobilenetv3_small_050", tasks=["depth"], input_size=(10**6, 10**6))


# --- real configs still validate and build ------------------------------------------------------------


def _manifest_configs() -> dict[str, dict]:
    entries = json.loads(MANIFEST.read_text())["checkpoints"]
    return {name: entry["config"] for name, entry in entries.items()}


@pytest.mark.parametrize("name", list(_manifest_configs()))
def test_every_published_config_validates_and_builds(name: str) -> None:
    raw = _manifest_configs()[name]
    config = ModelConfig.from_dict(copy.deepcopy(raw))
    assert config.to_dict() == raw
    model = medusa_zoo.MultiTaskNet(config)
    assert list(model.tasks) == [t["name"] for t in raw["tasks"]]


def test_every_registered_architecture_config_validates() -> None:
    names = medusa_zoo.list_models()
    assert len(names) >= 20
    for name in names:
        config = ARCHITECTURES.get(name).config()
        assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config, name


@pytest.mark.slow
def test_every_registered_architecture_builds() -> None:
    for name in medusa_zoo.list_models():
        assert medusa_zoo.load(name, pretrained=False).config.arch == name


# --- refused before allocating, proven under an address-space limit --------------------------------

_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import medusa_zoo
    folder = Path(sys.argv[1])
    config = json.loads((folder / "config.json").read_text())
    medusa_zoo.load(f"local-dir:{folder}")  # the intact folder loads (and imports are warm before timing)
    cases = {
        "classes": lambda c: c["tasks"][0].update(out_channels=10**9, labels=[]),
        "refine_blocks": lambda c: c.update(head_options={"refine_blocks": 10**9}),
    }
    for case, edit in cases.items():
        changed = json.loads(json.dumps(config))
        edit(changed)
        (folder / "config.json").write_text(json.dumps(changed))
        start = time.monotonic()
        try:
            medusa_zoo.load(f"local-dir:{folder}")
        except medusa_zoo.IncompatibleConfigError as refused:
            print(case, "refused", round(time.monotonic() - start, 2), str(refused)[:200], flush=True)
        else:
            print(case, "LOADED", flush=True)
    """
)


@pytest.mark.slow
def test_huge_class_count_and_refine_blocks_are_refused_before_allocating(saved: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    for item in saved.iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    limit = 6 * 1024**3  # torch maps ~2 GiB of address space on import; 10^9 classes would need far more

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [["classes", "refused"], ["refine_blocks", "refused"]], done.stdout
    assert all(float(line.split()[2]) < 5 for line in lines), done.stdout
    assert "[1, 4096]" in lines[0] and "refine_blocks" in lines[1]
    assert time.monotonic() - start < 120
