"""Publishing a checkpoint: a Hub-ready folder, the upload, and its manifest entry.

``write_hub_folder`` writes ``config.json``, ``model.safetensors`` and a ``README.md`` card
(tasks, metrics, recipe, licence). ``push_to_hub`` uploads that folder with huggingface_hub
and returns (and prints) the ``checkpoints.json`` entry pinned to the new commit, ready to paste.

The functions take any :class:`Publishable` (a network: its ``config`` and ``save_pretrained``),
so the network's own ``push_to_hub`` can call them without this module importing the network.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from ..errors import CheckpointError, IncompatibleConfigError
from ..fetch import check_repo_id, check_revision, http_errors
from ..files import sha256_of
from .checkpoints import CheckpointEntry, HubLocation, parse_entry
from .config import ModelConfig
from .serialization import WEIGHTS_NAME

DEFAULT_LICENSE = "Apache-2.0"


class Publishable(Protocol):
    """What publishing needs of a model: its config and a way to save itself into a folder."""

    config: ModelConfig

    def save_pretrained(
        self, directory: str | Path, *, name: str | None = ..., metrics: Mapping[str, Any] | None = ...,
        recipe: str | None = ..., license: str | None = ..., load_name: str | None = ...,
    ) -> Path: ...


def write_hub_folder(
    model: Publishable,
    folder: str | Path,
    *,
    name: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    recipe: str | None = None,
    license: str = DEFAULT_LICENSE,
) -> Path:
    """Write everything a Hub repo of this model holds into ``folder`` and return it.

    ``name`` (``"arch.tag"``) is shown in the card's usage snippet; ``metrics`` are the
    measured ``{"dataset", "split", "values"}`` of our evaluation.
    """
    load_name = name or "hf-hub:<org>/<repo>@<revision>"
    return model.save_pretrained(folder, name=name, metrics=metrics, recipe=recipe or None, license=license, load_name=load_name)


def manifest_entry(
    model: Publishable,
    name: str,
    weights: str | Path,
    *,
    hub: HubLocation | None,
    bundled: bool = False,
    default: bool = False,
    metrics: Mapping[str, Any] | None = None,
    recipe: str = "",
    license: str = DEFAULT_LICENSE,
    description: str = "",
) -> CheckpointEntry:
    """The validated manifest entry for ``model`` saved at ``weights`` (hash and size measured)."""
    raw = {
        "architecture": name.partition(".")[0],
        "default": default,
        "description": description,
        "filename": Path(weights).name,
        "sha256": sha256_of(weights),
        "size": Path(weights).stat().st_size,
        "bundled": bundled,
        "hub": None if hub is None else {"repo_id": hub.repo_id, "revision": hub.revision},
        "config": model.config.to_dict(),
        "metrics": dict(metrics or {}),
        "recipe": recipe,
        "license": license,
    }
    return parse_entry(name, raw)


def push_to_hub(
    model: Publishable,
    repo_id: str,
    *,
    name: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    recipe: str = "",
    license: str = DEFAULT_LICENSE,
    private: bool = False,
    token: str | None = None,
    branch: str | None = None,
    commit_message: str | None = None,
    endpoint: str | None = None,
) -> CheckpointEntry:
    """Upload the model to ``repo_id`` and return its manifest entry pinned to the new commit.

    The repository is created if needed. The entry (printed as JSON) names the commit the
    upload made, so pasting it into ``checkpoints.json`` pins exactly these bytes. ``name``
    defaults to ``<architecture>.<repo name>``; ``endpoint`` defaults to ``HF_ENDPOINT``.
    """
    from huggingface_hub import HfApi

    if model.config.arch is None:
        raise IncompatibleConfigError(
            "only registered architectures can be published to the manifest; build the model with "
            "medusa_zoo.load(<architecture>, pretrained=False) or pass arch in its config"
        )
    check_repo_id(repo_id)
    if branch is not None:
        check_revision(branch)
    name = name or f"{model.config.arch}.{repo_id.rpartition('/')[2].lower()}"
    api = HfApi(endpoint=endpoint, token=token)
    with tempfile.TemporaryDirectory(prefix="medusa_zoo_push_") as tmp:
        folder = write_hub_folder(model, tmp, name=name, metrics=metrics, recipe=recipe, license=license)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            commit = api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                revision=branch,
                commit_message=commit_message or f"Upload {name} with medusa_zoo",
            )
        except (*http_errors(), OSError, ValueError, RuntimeError) as bad:
            raise CheckpointError(
                f"could not upload {name} to {repo_id} ({type(bad).__name__}: {bad}); check the network, the token "
                "(`hf auth login`) and that you may write to the repository, then retry"
            ) from None
        entry = manifest_entry(
            model, name, folder / WEIGHTS_NAME,
            hub=HubLocation(repo_id, commit.oid), metrics=metrics, recipe=recipe, license=license,
        )  # fmt: skip
    print(json.dumps({entry.name: entry.to_dict()}, indent=2))
    return entry
