"""Turn ``model.features`` into a dataset of embeddings: images in, a safetensors file out.

    import medusa_zoo
    from medusa_zoo.embeddings import extract_embeddings, load_embeddings

    model = medusa_zoo.load("medusa_efficientnet_lite0.synthrooms")
    extract_embeddings(model, "photos/", "photos.safetensors")    # batched, with a progress bar
    embeddings = load_embeddings("photos.safetensors")            # .vectors (N, D), .names, .metadata
    dataset = embeddings.dataset({"cat.png": 1.0, "dog.png": 0.0})  # torch Dataset of (vector, target)

    python -m medusa_zoo embed --model medusa_efficientnet_lite0.synthrooms --images photos/ --out photos.safetensors

Row ``i`` is :attr:`Features.embedding <medusa_zoo.models.outputs.Features>` of image ``i``: each
backbone feature map averaged over space, concatenated finest first, so the first
``metadata["channels"][0]`` columns come from the stride ``metadata["strides"][0]`` map, and so on.
The file holds one float32 tensor ``"embeddings"`` (N, D); its string metadata holds ``format``
(:data:`FORMAT`) and, JSON-encoded, ``names`` (one per row), ``size`` ([H, W] the images were
resized to), ``arch``, ``channels``, ``strides`` and any extra entries given (the CLI adds ``model``).
``examples/extract_features.py`` trains a linear probe on such a file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch.utils.data import TensorDataset
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from .errors import EmbeddingsError, ImageNotFoundError, InvalidImageError
from .files import atomic_write
from .inputs import ImageInput, to_image_list

if TYPE_CHECKING:
    from .models import MultiTaskNet

__all__ = ["FORMAT", "IMAGE_EXTENSIONS", "Embeddings", "extract_embeddings", "load_embeddings", "save_embeddings"]

FORMAT = "medusa_zoo.embeddings/1"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
_TENSOR = "embeddings"


@dataclass
class Embeddings:
    """One embedding per image: ``vectors`` (N, D) float32, ``names`` (N strings), ``metadata``.

    ``metadata`` holds the decoded file metadata (``format``, ``size``, ``arch``, ``channels``,
    ``strides`` and any extra entries); ``names`` are file names for images given as paths and
    ``image_0000``, ``image_0001``, ... for images given in memory.
    """

    vectors: torch.Tensor
    names: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def dataset(self, targets: Mapping[str, Any] | Sequence[Any] | np.ndarray | torch.Tensor) -> TensorDataset:
        """A torch Dataset of ``(vector, target)`` pairs, ready for a ``DataLoader``.

        ``targets`` is either a mapping from image name to target (every name must be in it;
        extra keys are ignored) or one target per row in row order (sequence, numpy array or
        tensor with ``len(self)`` rows). Floating and boolean targets become float32 like the
        vectors; integer targets (class indices) become int64. ``dataset.tensors`` gives both as tensors.
        """
        if isinstance(targets, Mapping):
            missing = [name for name in self.names if name not in targets]
            if missing:
                raise EmbeddingsError(
                    f"targets has no entry for {len(missing)} of {len(self)} images, e.g. {missing[:3]}; "
                    "key it by the names in embeddings.names (file names for images read from disk)")
            targets = [targets[name] for name in self.names]
        values = _as_tensor(targets)
        if values.dim() == 0 or values.shape[0] != len(self):
            raise EmbeddingsError(
                f"targets must have one row per embedding ({len(self)}), got shape {tuple(values.shape)}")
        return TensorDataset(self.vectors, values)


def extract_embeddings(
    model: MultiTaskNet,
    images: str | os.PathLike | ImageInput | Sequence[ImageInput],
    out: str | os.PathLike | None = None,
    *,
    batch_size: int = 16,
    size: tuple[int, int] | None = None,
    progress: bool = True,
    metadata: Mapping[str, Any] | None = None,
) -> Embeddings:
    """Embed every image with ``model.features``, ``batch_size`` at a time; optionally write ``out``.

    ``images`` is a folder (its ``.png/.jpg/.jpeg/.bmp/.webp`` files, sorted by name, not
    recursive; hidden files skipped) or anything :func:`~medusa_zoo.inputs.to_image_list`
    accepts. Every image is resized to ``size`` (H, W; default the model's
    ``config.preprocessing.input_size``) with antialiased bilinear interpolation, ignoring its
    aspect ratio, so they batch; images are read one batch at a time. ``out`` is written as
    safetensors (see the module docstring) via a temporary file, so it is never half written;
    ``metadata`` adds JSON-serialisable entries to it. Bad input raises
    :class:`~medusa_zoo.errors.InvalidImageError` (or ``ImageNotFoundError``) or
    :class:`~medusa_zoo.errors.EmbeddingsError`, before anything is written.
    """
    size = _check_size(model.config.preprocessing.input_size if size is None else size, model.feature_info.max_stride)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise EmbeddingsError(f"batch_size must be a positive int, got {batch_size!r}")
    extra = _check_extra(metadata)
    if out is not None:
        _check_out(Path(out))  # now, not after embedding every image
    names, items = _list_images(images)
    vectors, features = [], None
    with tqdm(total=len(items), unit="image", desc="embeddings", disable=not progress) as bar:
        for start in range(0, len(items), batch_size):
            indices = range(start, min(start + batch_size, len(items)))
            batch = torch.stack([_load(items[i], names[i], i, len(items), size) for i in indices])
            features = model.features(batch)
            vectors.append(features.embedding.float().cpu())
            bar.update(len(indices))
    info = {"size": list(size), "arch": model.config.arch,
            "channels": list(features.channels), "strides": list(features.strides), **extra}
    embeddings = Embeddings(torch.cat(vectors), names, {"format": FORMAT, **info})
    if out is not None:
        save_embeddings(embeddings, out)
    return embeddings


def save_embeddings(embeddings: Embeddings, path: str | os.PathLike) -> Path:
    """Write ``embeddings`` to ``path`` (safetensors, format :data:`FORMAT`) atomically; return the path.

    The file is written next to ``path`` under a temporary name and moved into place with
    ``os.replace``, so readers see the old file or the whole new one, never a part.
    """
    path = Path(path)
    vectors = embeddings.vectors
    if vectors.dim() != 2 or len(embeddings.names) != vectors.shape[0]:
        raise EmbeddingsError(
            f"embeddings need vectors of shape (N, D) and N names, got {tuple(vectors.shape)} and "
            f"{len(embeddings.names)} names")
    _check_out(path)
    header = {"format": FORMAT, "names": json.dumps([str(n) for n in embeddings.names])}
    try:
        header.update({str(k): json.dumps(v) for k, v in embeddings.metadata.items() if k not in header})
    except (TypeError, ValueError) as error:
        raise EmbeddingsError(f"embeddings.metadata must be JSON-serialisable ({error})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {_TENSOR: vectors.detach().cpu().float().contiguous()}
    atomic_write(path, lambda temporary: save_file(tensors, str(temporary), metadata=header))
    return path


def load_embeddings(path: str | os.PathLike) -> Embeddings:
    """Read a file written by :func:`extract_embeddings` / :func:`save_embeddings`.

    Raises :class:`~medusa_zoo.errors.EmbeddingsError` if the file is missing, is not
    safetensors, or is not an embeddings file of format :data:`FORMAT`.
    """
    path = Path(path)
    if not path.is_file():
        raise EmbeddingsError(
            f"embeddings file not found: {str(path)!r}" + (" (it is a folder)" if path.is_dir() else "")
            + "; write one with extract_embeddings(model, images, out=...) or python -m medusa_zoo.embeddings")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            vectors = handle.get_tensor(_TENSOR) if _TENSOR in handle.keys() else None
    except (SafetensorError, OSError) as error:
        raise EmbeddingsError(f"{path} is not a readable safetensors file ({error})") from None
    if header.get("format") != FORMAT:
        raise EmbeddingsError(
            f"{path} is not an embeddings file: its metadata format is {header.get('format')!r}, not {FORMAT!r}. "
            "Embeddings files come from medusa_zoo.embeddings; model weights load with medusa_zoo.load")
    try:
        decoded = {k: v if k == "format" else json.loads(v) for k, v in header.items()}
    except json.JSONDecodeError as error:
        raise EmbeddingsError(f"{path} has malformed metadata ({error}); re-extract it") from None
    names = decoded.pop("names", None)
    if vectors is None or vectors.dim() != 2 or not isinstance(names, list) or len(names) != vectors.shape[0]:
        raise EmbeddingsError(
            f"{path} is damaged: it needs a 2-D tensor {_TENSOR!r} and one name per row; re-extract it")
    return Embeddings(vectors, [str(n) for n in names], decoded)


def _check_size(size: object, min_side: int) -> tuple[int, int]:
    ok = isinstance(size, (tuple, list)) and len(size) == 2
    if not ok or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in size):
        raise EmbeddingsError(f"size must be a pair (H, W) of ints, got {size!r}")
    if min(size) < min_side:
        raise EmbeddingsError(
            f"size {tuple(size)} is too small: this model needs sides of at least {min_side} pixels "
            "(its coarsest stride); pass a larger size, or leave size unset to use the model's input size")
    return int(size[0]), int(size[1])


def _check_out(path: Path) -> None:
    if path.is_dir():
        example = str(path / "embeddings.safetensors")
        raise EmbeddingsError(f"out {str(path)!r} is a folder; pass a file path such as {example!r}")


def _check_extra(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    extra = dict(metadata or {})
    reserved = sorted(set(extra) & {"format", "names", "size", "arch", "channels", "strides"})
    if reserved:
        raise EmbeddingsError(f"metadata keys {reserved} are set by extract_embeddings itself; rename them")
    try:
        json.dumps(extra)
    except (TypeError, ValueError) as error:
        raise EmbeddingsError(f"metadata must be JSON-serialisable ({error})") from None
    return extra


def _list_images(images: object) -> tuple[list[str], list[Any]]:
    """(names, items) for a folder, a BCHW tensor, a list of images or one image."""
    if isinstance(images, (str, os.PathLike)):
        return _list_folder(Path(images))
    if isinstance(images, torch.Tensor) and images.dim() == 4:
        items: list[Any] = list(images.unbind(0))
    elif isinstance(images, (list, tuple)):
        items = list(images)
    else:
        items = [images]
    if not items:
        raise InvalidImageError("no images given: the list or batch is empty")
    names = [Path(x).name if isinstance(x, (str, os.PathLike)) else f"image_{i:04d}" for i, x in enumerate(items)]
    return names, items


def _list_folder(folder: Path) -> tuple[list[str], list[Any]]:
    if not folder.exists():
        hint = "" if folder.is_absolute() else f" (relative to the current directory {os.getcwd()})"
        raise ImageNotFoundError(f"image folder not found: {str(folder)!r}{hint}")
    if not folder.is_dir():
        raise InvalidImageError(
            f"{str(folder)!r} is a file, not a folder; pass a folder, or a list such as [{str(folder)!r}]")
    # Hidden files are skipped: macOS copies leave "._photo.jpg" companions that are not images.
    files = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")), key=lambda p: p.name)
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    if not images:
        others = f"; it holds {len(files)} other file(s), e.g. {files[0].name!r}" if files else ""
        raise InvalidImageError(
            f"no image files in folder {str(folder)!r} (looked for {', '.join(IMAGE_EXTENSIONS)}, not in "
            f"sub-folders){others}. Put images there, or pass a list of paths or images")
    return [p.name for p in images], images


def _load(item: Any, name: str, index: int, total: int, size: tuple[int, int]) -> torch.Tensor:
    """One image as a (3, H, W) float tensor at ``size``; errors name the image."""
    try:
        if isinstance(item, (list, tuple)):
            raise InvalidImageError(f"got a nested {type(item).__name__}; pass a flat list of images")
        tensors, batched = to_image_list(item, min_size=1)  # any size: it is resized below
        if batched:
            raise InvalidImageError(
                f"got a batch of {len(tensors)} images as one element; pass a flat list or one BCHW tensor")
    except InvalidImageError as error:
        raise type(error)(f"image {index + 1} of {total} ({name}): {error}") from None
    image = tensors[0]
    if tuple(image.shape[-2:]) == size:
        return image
    return TF.resize(image, list(size), interpolation=InterpolationMode.BILINEAR, antialias=True).clamp_(0.0, 1.0)


def _as_tensor(targets: Any) -> torch.Tensor:
    try:
        if isinstance(targets, torch.Tensor):
            values = targets.detach().cpu()
        elif isinstance(targets, Sequence) and targets and all(isinstance(t, torch.Tensor) for t in targets):
            values = torch.stack([t.detach().cpu() for t in targets])
        else:
            values = torch.as_tensor(np.asarray(targets))
    except (TypeError, ValueError, RuntimeError) as error:
        raise EmbeddingsError(f"targets must be numbers or tensors of one shape ({error})") from None
    if values.dtype.is_complex:
        raise EmbeddingsError(f"targets must be real numbers, got dtype {values.dtype}")
    return values.float() if values.dtype.is_floating_point or values.dtype == torch.bool else values.long()


if __name__ == "__main__":  # the older entry point of ``python -m medusa_zoo embed``
    from .cli import main

    sys.exit(main(["embed", *sys.argv[1:]], legacy="medusa_zoo.embeddings"))
