"""Shared fixtures: the local Hub server, small deterministic inputs and task targets.

The Hub-protocol server on 127.0.0.1 starts when this file is imported, before anything imports
huggingface_hub, because the client reads ``HF_ENDPOINT`` and friends at import time. No
request leaves the machine.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from tests.hub_server import HubServer  # stdlib only: safe before huggingface_hub is imported

_HUB_SERVER = HubServer().start()
os.environ["HF_ENDPOINT"] = _HUB_SERVER.endpoint
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="medusa-zoo-hf-home-")
os.environ["HF_HUB_DISABLE_XET"] = "1"  # hf_xet may be installed; uploads would try the Xet protocol
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
for _name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "MEDUSA_ZOO_MANIFEST"):
    os.environ.pop(_name, None)

import torch  # noqa: E402  (after the environment above)

from medusa_zoo.tasks import Task  # noqa: E402


@pytest.fixture(scope="session")
def hub() -> Iterator[HubServer]:
    """The local Hub that HF_ENDPOINT points at; give each test its own repo id."""
    yield _HUB_SERVER


def pytest_unconfigure(config: pytest.Config) -> None:
    _HUB_SERVER.stop()


def make_targets(tasks: dict[str, Task], batch: int, size: tuple[int, int], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random labels of the right dtype and range for each task (some pixels unlabelled): each task
    kind makes its own (``Task.example_target``)."""
    g = torch.Generator().manual_seed(seed)
    return {name: task.example_target(batch, size, g) for name, task in tasks.items()}


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
