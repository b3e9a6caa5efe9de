"""config.json is data: any mutation of a real config is refused with a typed error or builds a sane network.

The oracle is independent of the validation code: a config that is accepted must name tasks that
are identifiers and not attributes of ``torch.nn.Module``, keep every count and size finite and
modest, have a standard deviation that is a real number above 1e-6, and pass no path or download
option to timm; and the network it builds must have exactly those tasks.
"""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medusa_zoo
from medusa_zoo.models import ModelConfig, MultiTaskNet
from tests.fuzz.harness import assert_ok

BASE = None  # the bundled default's config, read once
SAFE_TIMM_OPTIONS_NEVER = {"checkpoint_path", "pretrained", "pretrained_cfg", "pretrained_cfg_overlay", "cache_dir"}


def base_config() -> dict:
    global BASE
    if BASE is None:
        entry = medusa_zoo.load("medusa_efficientnet_lite0", device="cpu").config
        BASE = entry.to_dict()
    return copy.deepcopy(BASE)


def paths(value, prefix=()):
    """Every (path, container) in a JSON value, the root included."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


HOSTILE = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.sampled_from([0, -1, 1, 10**9, 2**31, 4097, 1e-50, -0.0, 1e308, math.inf, math.nan, True, False, None]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "training", "forward", "state_dict", "/etc/passwd", "../x", "a" * 5000, "semseg", "0bad"]),
    st.text(max_size=12),
    st.lists(st.integers(-5, 300), max_size=4),
    st.dictionaries(st.sampled_from(["checkpoint_path", "pretrained", "drop_rate", "x", "in_chans"]),
                    st.one_of(st.integers(-3, 10**6), st.text(max_size=8), st.booleans()), max_size=2),
)


@st.composite
def mutated(draw) -> dict:
    config = base_config()
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(paths(config))[1:]))
        parent = config
        for key in where[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            parent[draw(st.sampled_from(["checkpoint_path", "extra", "pretrained", "labels", "refine_blocks"]))] = draw(HOSTILE)
        else:
            parent[where[-1]] = draw(HOSTILE)
    return config


def sane(config: ModelConfig) -> bool:
    """The independent oracle for an accepted config (see the module docstring)."""
    for task in config.tasks:
        assert task.name.isidentifier() and not hasattr(torch.nn.Module, task.name), task.name
        assert 1 <= task.out_channels <= 4096, task.out_channels
    pre = config.preprocessing
    assert all(math.isfinite(s) and s > 1e-6 for s in pre.std), pre.std
    assert all(math.isfinite(m) for m in pre.mean), pre.mean
    assert all(1 <= side <= 16384 for side in pre.input_size), pre.input_size
    kwargs = config.backbone.to_config().get("kwargs", {})
    assert not SAFE_TIMM_OPTIONS_NEVER & set(kwargs), kwargs
    assert not any(isinstance(v, str) and ("/" in v or "\\" in v) for v in kwargs.values()), kwargs
    for value in config.head_options.values():
        assert not isinstance(value, int) or abs(value) <= 4096, config.head_options
    return True


def build(raw: dict) -> MultiTaskNet:
    config = ModelConfig.from_dict(raw)
    sane(config)
    return MultiTaskNet(config)


@given(mutated())
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_mutated_configs_are_refused_or_build_a_sane_network(raw) -> None:
    def check(net: MultiTaskNet) -> bool:
        return list(net.tasks) == [t["name"] for t in raw["tasks"]]

    assert_ok("config.json: mutated fields", lambda: build(raw), "either", check, seconds=60)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("saved") / "model"
    medusa_zoo.load("stl_regnetx002", tasks=["depth"], pretrained=False, device="cpu").save_pretrained(folder)
    return folder


def _with_config(saved: Path, tmp_path: Path, text: str | None) -> str:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes((saved / "model.safetensors").read_bytes())
    if text is None:
        os.mkfifo(folder / "config.json")
    else:
        (folder / "config.json").write_text(text)
    return f"local-dir:{folder}"


def _edited(saved: Path, edit) -> str:
    raw = json.loads((saved / "config.json").read_text())
    edit(raw)
    return json.dumps(raw)


FILES = {
    "deeply nested": lambda saved: '{"format": ' + "[" * 50_000 + "]" * 50_000 + "}",
    "NaN token": lambda saved: (saved / "config.json").read_text().replace("0.229", "NaN"),
    "not UTF-8": lambda saved: "\udcff",
    "truncated": lambda saved: (saved / "config.json").read_text()[:40],
    "a list": lambda saved: "[1, 2]",
    "a FIFO": lambda saved: None,
    "checkpoint_path": lambda saved: _edited(saved, lambda r: r["backbone"]["kwargs"].update(checkpoint_path="/etc/hostname")),
    "pretrained": lambda saved: _edited(saved, lambda r: r["backbone"]["kwargs"].update(pretrained=True)),
    "std 1e-50": lambda saved: _edited(saved, lambda r: r["preprocessing"].update(std=[1e-50] * 3)),
    "task named training": lambda saved: _edited(saved, lambda r: r["tasks"][0].update(name="training")),
    "task named forward": lambda saved: _edited(saved, lambda r: r["tasks"][0].update(name="forward")),
    "10^9 classes": lambda saved: _edited(saved, lambda r: r["tasks"][0].update(out_channels=10**9)),
    "10^9 refine blocks": lambda saved: _edited(saved, lambda r: r["head_options"].update(refine_blocks=10**9)),
    "input size 0": lambda saved: _edited(saved, lambda r: r["preprocessing"].update(input_size=[0, 256])),
    "unknown head": lambda saved: _edited(saved, lambda r: r.update(head="os.system")),
}


@pytest.mark.parametrize("damage", sorted(FILES))
def test_damaged_config_files_are_refused_with_a_typed_error(saved, tmp_path, damage) -> None:
    text = FILES[damage](saved)
    if text is not None:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if damage != "not UTF-8" else text
    name = _with_config(saved, tmp_path, text) if damage != "not UTF-8" else _bytes_config(saved, tmp_path)
    assert_ok("config.json: damaged files", lambda: medusa_zoo.load(name, device="cpu"), "typed", seconds=60)


def _bytes_config(saved: Path, tmp_path: Path) -> str:
    name = _with_config(saved, tmp_path, "{}")
    (tmp_path / "model" / "config.json").write_bytes(b'{"format": "\xff\xfe"}')
    return name
