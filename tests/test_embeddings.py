"""Tests for medusa_zoo.embeddings: features() batched into an embeddings file, and its readers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

import medusa_zoo
from medusa_zoo import embeddings as emb
from medusa_zoo.embeddings import FORMAT, Embeddings, extract_embeddings, load_embeddings, save_embeddings
from medusa_zoo.errors import EmbeddingsError, ImageNotFoundError, InvalidImageError, MedusaZooError

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
SIZE = (64, 64)


@pytest.fixture(scope="module")
def model() -> medusa_zoo.MultiTaskNet:
    return medusa_zoo.load("medusa_regnetx002", tasks=["semseg"], pretrained=False, device="cpu")


def _arrays(count: int, shape: tuple[int, int] = SIZE, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8) for _ in range(count)]


def _folder(tmp_path: Path, count: int = 3) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for i, array in enumerate(_arrays(count)):
        Image.fromarray(array).save(folder / f"img_{count - i}.png")  # written out of name order
    return folder


def _single(model: medusa_zoo.MultiTaskNet, images: list) -> torch.Tensor:
    return torch.cat([model.features(image).embedding for image in images])


# ----------------------------------------------------------------------------- values


def test_batched_vectors_equal_features_of_each_image(model) -> None:
    images = _arrays(5)
    result = extract_embeddings(model, images, size=SIZE, batch_size=2, progress=False)
    assert result.vectors.dtype == torch.float32 and result.vectors.shape == (5, sum(model.feature_info.channels))
    torch.testing.assert_close(result.vectors, _single(model, images), atol=1e-5, rtol=1e-4)
    assert result.names == [f"image_{i:04d}" for i in range(5)] and len(result) == 5


def test_images_are_resized_bilinear_antialiased_to_size(model) -> None:
    images = [_arrays(1, (48, 80))[0], _arrays(1, (100, 70), seed=1)[0]]
    result = extract_embeddings(model, images, size=SIZE, progress=False)
    resized = [TF.resize(torch.from_numpy(a).permute(2, 0, 1).float() / 255, list(SIZE),
                         interpolation=InterpolationMode.BILINEAR, antialias=True).clamp(0, 1) for a in images]
    torch.testing.assert_close(result.vectors, _single(model, resized), atol=1e-5, rtol=1e-4)
    assert result.metadata["size"] == list(SIZE)


def test_default_size_is_the_models_input_size(model) -> None:
    result = extract_embeddings(model, _arrays(1), progress=False)
    assert result.metadata["size"] == list(model.config.preprocessing.input_size)


def test_bchw_tensor_and_paths_give_the_same_rows(model, tmp_path) -> None:
    folder = _folder(tmp_path)
    files = sorted(folder.iterdir())
    from_paths = extract_embeddings(model, files, size=SIZE, progress=False)
    batch = torch.stack([torch.from_numpy(np.array(Image.open(f))).permute(2, 0, 1) for f in files])
    from_tensor = extract_embeddings(model, batch, size=SIZE, batch_size=3, progress=False)
    torch.testing.assert_close(from_paths.vectors, from_tensor.vectors, atol=1e-5, rtol=1e-4)
    assert from_paths.names == [f.name for f in files]


# ----------------------------------------------------------------------------- file


def test_folder_file_round_trip_and_metadata(model, tmp_path) -> None:
    folder = _folder(tmp_path)
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"AppleDouble junk")
    (folder / "sub").mkdir()
    Image.fromarray(_arrays(1)[0]).save(folder / "sub" / "deeper.png")
    out = tmp_path / "new" / "emb.safetensors"
    written = extract_embeddings(model, folder, out, size=SIZE, progress=False, metadata={"model": "untrained"})
    assert written.names == ["img_1.png", "img_2.png", "img_3.png"]  # sorted, non-recursive, images only
    loaded = load_embeddings(out)
    assert torch.equal(loaded.vectors, written.vectors) and loaded.names == written.names
    assert loaded.metadata == written.metadata
    meta = loaded.metadata
    assert meta["format"] == FORMAT and meta["size"] == list(SIZE) and meta["arch"] == "medusa_regnetx002"
    assert meta["channels"] == list(model.feature_info.channels) and meta["strides"] == list(model.feature_info.strides)
    assert sum(meta["channels"]) == loaded.vectors.shape[1] and meta["model"] == "untrained"
    assert sorted(p.name for p in out.parent.iterdir()) == ["emb.safetensors"]  # no temporary left
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_file_is_plain_safetensors(model, tmp_path) -> None:
    from safetensors import safe_open

    out = tmp_path / "e.safetensors"
    extract_embeddings(model, _arrays(2), out, size=SIZE, progress=False)
    with safe_open(str(out), framework="pt") as handle:
        assert list(handle.keys()) == ["embeddings"]
        header = handle.metadata()
    assert header["format"] == FORMAT and json.loads(header["names"]) == ["image_0000", "image_0001"]


def test_dataset_pairs_vectors_with_targets(model) -> None:
    result = Embeddings(torch.randn(4, 6), ["a.png", "b.png", "c.png", "d.png"], {"format": FORMAT})
    by_name = result.dataset({"d.png": 3.0, "c.png": 2.0, "b.png": 1.0, "a.png": 0.0, "extra.png": 9.0})
    x, y = by_name.tensors
    assert torch.equal(x, result.vectors) and torch.equal(y, torch.tensor([0.0, 1.0, 2.0, 3.0]))
    assert y.dtype == torch.float32
    classes = result.dataset(np.array([0, 1, 1, 0]))
    assert classes.tensors[1].dtype == torch.int64
    batches = list(DataLoader(result.dataset(torch.zeros(4, 2)), batch_size=3))
    assert [tuple(b[0].shape) for b in batches] == [(3, 6), (1, 6)] and tuple(batches[0][1].shape) == (3, 2)
    with pytest.raises(EmbeddingsError, match="no entry for 1 of 4 images.*d.png"):
        result.dataset({"a.png": 0, "b.png": 0, "c.png": 0})
    with pytest.raises(EmbeddingsError, match="one row per embedding"):
        result.dataset([1.0, 2.0])
    with pytest.raises(EmbeddingsError, match="numbers"):
        result.dataset(["x", "y", "z", "w"])


# ----------------------------------------------------------------------------- errors


def test_missing_and_empty_folders(model, tmp_path) -> None:
    with pytest.raises(ImageNotFoundError, match="image folder not found") as missing:
        extract_embeddings(model, tmp_path / "nope", progress=False)
    assert isinstance(missing.value, FileNotFoundError)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidImageError, match="no image files in folder"):
        extract_embeddings(model, tmp_path / "empty", progress=False)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.txt").write_text("x")
    with pytest.raises(InvalidImageError, match=r"1 other file\(s\), e.g. 'a.txt'"):
        extract_embeddings(model, tmp_path / "text", progress=False)
    with pytest.raises(InvalidImageError, match="no images given"):
        extract_embeddings(model, [], progress=False)
    with pytest.raises(InvalidImageError, match="is a file, not a folder"):
        extract_embeddings(model, str(_folder(tmp_path) / "img_1.png"), progress=False)


def test_unreadable_image_is_named_and_nothing_is_written(model, tmp_path) -> None:
    folder = _folder(tmp_path)
    (folder / "img_2.png").write_bytes(b"not a png at all")
    out = tmp_path / "out" / "emb.safetensors"
    with pytest.raises(InvalidImageError, match=r"image 2 of 3 \(img_2.png\).*not an image file"):
        extract_embeddings(model, folder, out, size=SIZE, batch_size=1, progress=False)
    assert not out.parent.exists() or not any(out.parent.iterdir())


@pytest.mark.parametrize("size", [(8, 8), (64,), (64.0, 64), "64", (True, 64)])
def test_bad_size(model, size) -> None:
    with pytest.raises(EmbeddingsError, match="size") as error:
        extract_embeddings(model, _arrays(1), size=size, progress=False)
    assert isinstance(error.value, ValueError) and isinstance(error.value, MedusaZooError)


def test_bad_batch_size_metadata_and_nested_input(model) -> None:
    with pytest.raises(EmbeddingsError, match="batch_size"):
        extract_embeddings(model, _arrays(1), batch_size=0, progress=False)
    with pytest.raises(EmbeddingsError, match="set by extract_embeddings"):
        extract_embeddings(model, _arrays(1), metadata={"names": []}, progress=False)
    with pytest.raises(InvalidImageError, match="image 2 of 2 .*nested"):
        extract_embeddings(model, [_arrays(1)[0], _arrays(2)], progress=False)


def test_load_rejects_other_files(tmp_path) -> None:
    from safetensors.torch import save_file

    with pytest.raises(EmbeddingsError, match="not found"):
        load_embeddings(tmp_path / "missing.safetensors")
    png = tmp_path / "picture.safetensors"
    Image.fromarray(_arrays(1)[0]).save(png, format="PNG")
    with pytest.raises(EmbeddingsError, match="not a readable safetensors file"):
        load_embeddings(png)
    weights = tmp_path / "model.safetensors"
    save_file({"embeddings": torch.zeros(2, 3)}, str(weights))
    with pytest.raises(EmbeddingsError, match="not an embeddings file.*medusa_zoo.load"):
        load_embeddings(weights)
    damaged = tmp_path / "damaged.safetensors"
    save_file({"embeddings": torch.zeros(2, 3)}, str(damaged), metadata={"format": FORMAT, "names": '["a"]'})
    with pytest.raises(EmbeddingsError, match="damaged"):
        load_embeddings(damaged)


def test_failed_write_leaves_the_old_file_and_no_temporary(model, tmp_path, monkeypatch) -> None:
    out = tmp_path / "emb.safetensors"
    out.write_bytes(b"previous")

    def crash(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half a fi")
        raise OSError("disk full")

    monkeypatch.setattr(emb, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        extract_embeddings(model, _arrays(2), out, size=SIZE, progress=False)
    assert out.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["emb.safetensors"]
    with pytest.raises(EmbeddingsError, match="is a folder"):
        save_embeddings(Embeddings(torch.zeros(1, 2), ["a"]), tmp_path)
    with pytest.raises(EmbeddingsError, match="is a folder; pass a file path"):
        extract_embeddings(model, _arrays(1), tmp_path, size=SIZE, progress=False)


# ----------------------------------------------------------------------------- CLI and example


@pytest.mark.slow
def test_example_runs_end_to_end(tmp_path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, str(REPO / "examples" / "extract_features.py"), "--images", "12",
                          "--out", str(tmp_path)], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stderr
    errors = {kind: float(mae) for kind, mae in re.findall(r"(linear probe|baseline).*?MAE\s+([\d.]+) pp", run.stdout)}
    assert set(errors) == {"linear probe", "baseline"} and all(v >= 0 for v in errors.values()), run.stdout
    assert "3 held-out images" in run.stdout
    assert len(load_embeddings(tmp_path / "embeddings.safetensors")) == 12
    assert len(list((tmp_path / "images").glob("*.png"))) == 12 and (tmp_path / "floor.csv").is_file()
