"""Datasets, joint transforms and the sample format every loader shares.

Every dataset in this package (SynthRooms, NYUD-v2, PASCAL-Context) returns the same kind of
sample, so training and evaluation code cannot tell them apart. A sample is a ``dict``:

========== ======================== ==================================================
key        value                    meaning / ignore value
========== ======================== ==================================================
image      uint8  (3, H, W)         RGB, ``tv_tensors.Image``
semseg     int64  (H, W)            class index 0..C-1; 255 (``labels.IGNORE_INDEX``) = ignore, ``tv_tensors.Mask``
parts /    int64  (H, W)            part index, 0 = background; 255 = ignore, ``Mask``
human_parts
depth      float32 (1, H, W)        metres along the optical axis; 0 = no measurement, ``Mask``
normals    float32 (3, H, W)        unit vectors, camera frame (x right, y up, z towards the
                                    camera, NYUD convention); all-zero = invalid, ``Mask``
edge       float32 (1, H, W)        1 on boundaries, 0 elsewhere; 255 = ignore, ``Mask``
saliency   float32 (1, H, W)        1 salient, 0 not; 255 = ignore, ``Mask``
meta       dict                     ``{"dataset": str, "split": str, "name": str, "index": int}``
========== ======================== ==================================================

Labels are ``tv_tensors.Mask`` so that torchvision's v2 transforms resize them with nearest
interpolation and fill them with 255 (ignored by every task's loss and metric) where a
geometric transform exposes pixels without a label. Every key other than ``meta`` is a
tensor of the listed dtype and shape, so ``torch.utils.data.default_collate`` batches them.

Datasets are looked up by name in the registry :data:`DATASETS` (:mod:`.catalog`), whose rows own
each dataset's builder, task definitions, training augmentation and meter options.
"""

from .catalog import DATASETS, DatasetSpec, dataset_spec, train_transforms
from .nyud import NYUDv2
from .pascal import PascalContext
from .samples import sample_image_path, sample_labels
from .synthrooms import SynthRooms, synthrooms_tasks
from .transforms import eval_transforms

__all__ = [
    "DATASETS", "DatasetSpec", "NYUDv2", "PascalContext", "SynthRooms", "dataset_spec", "eval_transforms",
    "sample_image_path", "sample_labels", "synthrooms_tasks", "train_transforms",
]
