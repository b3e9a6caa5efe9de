"""``examples/real_photos.py``: its gallery has a cell per photo and task, and its depth check scores
the truth as perfect and a "far at the top" map as the prior it reports."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import medusa_zoo

SPEC = importlib.util.spec_from_file_location("real_photos", Path(__file__).parents[1] / "examples" / "real_photos.py")
real_photos = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(real_photos)


@pytest.fixture(scope="module")
def model() -> medusa_zoo.MultiTaskNet:
    torch.manual_seed(0)
    return medusa_zoo.load("mtl_regnetx002", pretrained=False, tasks=["semseg", "depth"]).eval()


def test_gallery_has_a_row_per_photo_and_a_column_per_task(model) -> None:
    photos = real_photos.photos()
    assert set(photos) == {*real_photos.PHOTOS, "motorcycle"}
    assert all(p.ndim == 3 and p.shape[2] == 3 and p.dtype == np.uint8 for p in photos.values())
    two = dict(list(photos.items())[:2])
    sheet = real_photos.gallery(model, two)
    h, w = real_photos.TILE
    assert sheet.size == (3 * (w + 2) - 2, 20 + 2 * (h + 2))


class _Oracle:
    """Predicts a fixed depth map whatever the image."""

    def __init__(self, depth: np.ndarray) -> None:
        self.depth = torch.from_numpy(np.nan_to_num(depth, nan=0.0).astype(np.float32))

    def predict(self, image, tasks=None, native=False):
        return {"depth": self.depth}


def test_depth_check_scores_the_truth_and_the_prior() -> None:
    from skimage.data import stereo_motorcycle

    _, _, disparity = stereo_motorcycle()
    valid = np.isfinite(disparity) & (disparity > 0)
    truth = np.where(valid, 1.0 / np.where(valid, disparity, 1.0), np.nan)
    perfect = real_photos.depth_check(_Oracle(truth))
    assert perfect["spearman"] == pytest.approx(1.0, abs=1e-4)
    assert perfect["spearman_within_rows"] == pytest.approx(1.0, abs=1e-4)
    assert 0.6 < perfect["prior_spearman"] < 0.7  # shared/FINDINGS.md: about 0.67
    inverted = real_photos.depth_check(_Oracle(np.where(valid, -truth + 10, np.nan)))
    assert inverted["spearman_within_rows"] == pytest.approx(-1.0, abs=1e-4)
