"""Names and revisions given to ``load``: a typed error or the right model, and nothing written outside the cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medusa_zoo
from tests.fuzz.harness import assert_ok
from tests.hub_server import HubServer

REPO = "medusa-fuzz/tiny-depth"
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def published(hub: HubServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("fuzz-publish") / "model"
    model = medusa_zoo.load("stl_regnetx002", tasks=["depth"], pretrained=False, device="cpu")
    model.save_pretrained(folder)
    commit = hub.add_commit(REPO, {p.name: p.read_bytes() for p in folder.iterdir()}, tags=["v1"])
    return {"commit": commit, "weights": model.state_dict()}


def files_outside(root: Path, cache: Path) -> list[Path]:
    return [p for p in root.rglob("*") if cache not in p.parents and p != cache and p.is_file()]


REVISIONS = st.one_of(
    st.sampled_from(["main", "v1", "../../../../tmp/x", "..", "refs/../../x", "/abs", "-rf", "a//b", "a..b", "x.lock",
                     "@{1}", "main~1", "a b", "a\x00b", "%2e%2e%2f", "\\..\\", "a" * 300, "", "ref/", ".hidden"]),
    st.text(alphabet=st.sampled_from(list("ab./\\-_~^:?*[@{}%\x00 \n01")), min_size=1, max_size=24),
)


@given(REVISIONS)
@SETTINGS
def test_revisions_load_the_right_model_or_are_refused_and_never_escape_the_cache(published, tmp_path, revision) -> None:
    root = tmp_path / f"case-{abs(hash(revision))}"
    cache = root / "deep" / "cache"
    cache.mkdir(parents=True)

    def check(model) -> bool:
        return all(torch.equal(model.state_dict()[k], v) for k, v in published["weights"].items())

    name = f"hf-hub:{REPO}@{revision}"
    assert_ok("hf-hub: revisions", lambda: medusa_zoo.load(name, device="cpu", cache_dir=cache), "either", check)
    assert files_outside(root, cache) == []


@pytest.mark.parametrize("name", [None, 3, b"medusa", Path("some/folder"), ["medusa"], "", " ", "hf-hub:", "local-dir:",
                                  "medusa-fuzz/tiny-depth", "hf-hub:a/b/c", "hf-hub:../x", "hf-hub:org/name@",
                                  "no_such_model.tag", "medusa_efficientnet_lite0.no-such-tag"])
def test_odd_names_get_a_typed_error(published, tmp_path, name) -> None:
    assert_ok("load: names", lambda: medusa_zoo.load(name, device="cpu", cache_dir=tmp_path / "cache"), "typed")


def test_a_path_object_error_suggests_local_dir(tmp_path) -> None:
    assert_ok("load: names", lambda: medusa_zoo.load(Path(tmp_path), device="cpu"), "typed", match="local-dir:")


def test_an_org_name_error_suggests_hf_hub(published, tmp_path) -> None:
    assert_ok("load: names", lambda: medusa_zoo.load(REPO, device="cpu", cache_dir=tmp_path), "typed",
              match=f"hf-hub:{REPO}")
