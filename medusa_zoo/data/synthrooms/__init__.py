"""SynthRooms: procedurally ray-cast indoor rooms with exact labels for every dense task.

>>> from medusa_zoo.data.synthrooms import SynthRooms
>>> sample = SynthRooms("val", size=100, resolution=(192, 256))[0]
>>> sorted(sample)  # image, the six task labels and meta
['depth', 'edge', 'image', 'meta', 'normals', 'parts', 'saliency', 'semseg']

Submodules by role: :mod:`.labels` (class lists), :mod:`.scene` (scene description and
camera conventions), :mod:`.sampling` (random scenes), :mod:`.raycast` (intersections),
:mod:`.surfaces` (per-surface tables), :mod:`.shading` (lights and shadows), :mod:`.render`
(image and labels), :mod:`.textures` (texture bank, noise, gamma), :mod:`.dataset`,
:mod:`.training` (the recipe builder and training augmentation).
"""

from .dataset import DEFAULT_SIZES, RENDERER_VERSION, SPLITS, SynthRooms, render_sample, sample_rng
from .labels import PART_CLASSES, SALIENT_CLASSES, SEMSEG_CLASSES, TASKS
from .render import Rendered, render
from .sampling import sample_scene
from .scene import Scene, intrinsics
from .tasks import synthrooms_tasks
from .training import augmentation, from_options

__all__ = [
    "SynthRooms",
    "SPLITS",
    "DEFAULT_SIZES",
    "RENDERER_VERSION",
    "render_sample",
    "sample_rng",
    "SEMSEG_CLASSES",
    "PART_CLASSES",
    "SALIENT_CLASSES",
    "TASKS",
    "Rendered",
    "render",
    "sample_scene",
    "Scene",
    "intrinsics",
    "synthrooms_tasks",
    "augmentation",
    "from_options",
]
