"""Class lists of SynthRooms: semantic classes, object parts and the tasks every sample carries.

Classes are decided by an object's shape and role in the scene, never by its colour: every
colour and texture is drawn at random for every object, so a model has to look at geometry.

* ``semseg``: :data:`SEMSEG_CLASSES` (index = label). The room shell is floor / wall / ceiling;
  pictures, windows and doors are flat rectangles on the walls; the rest stand on the floor or
  on each other. ``table`` is a thin top on four legs, ``cabinet`` a tall box, ``bed`` a long low
  box with a headboard and a pillow, ``box`` any other cuboid.
* ``saliency``: 1 exactly where ``semseg`` is in :data:`SALIENT_CLASSES` (free-standing objects).
* ``parts``: :data:`PART_CLASSES`, a human-parts analogue; 0 (``background``) on everything that is
  not a salient object, so ``parts == 0`` exactly where ``saliency == 0``.
"""

from __future__ import annotations

__all__ = [
    "SEMSEG_CLASSES",
    "PART_CLASSES",
    "SALIENT_CLASSES",
    "TASKS",
    "FLOOR",
    "WALL",
    "CEILING",
    "TABLE",
    "CABINET",
    "BED",
    "BOX",
    "BALL",
    "CYLINDER",
    "PICTURE",
    "WINDOW",
    "DOOR",
    "PART_BACKGROUND",
    "PART_TOP",
    "PART_SIDE",
    "PART_LEG",
    "PART_CAP",
    "PART_CURVED_SIDE",
    "PART_SPHERE",
]

SEMSEG_CLASSES: tuple[str, ...] = (
    "floor",
    "wall",
    "ceiling",
    "table",
    "cabinet",
    "bed",
    "box",
    "ball",
    "cylinder",
    "picture",
    "window",
    "door",
)
FLOOR, WALL, CEILING, TABLE, CABINET, BED, BOX, BALL, CYLINDER, PICTURE, WINDOW, DOOR = range(12)

#: Indices of the free-standing object classes (saliency 1, parts > 0).
SALIENT_CLASSES: tuple[int, ...] = (TABLE, CABINET, BED, BOX, BALL, CYLINDER)

PART_CLASSES: tuple[str, ...] = (
    "background",  # room shell, wall items
    "top",  # upward-facing face of a cuboid (table top, cabinet top, bed top, box lid)
    "side",  # every other face of a cuboid
    "leg",  # table legs
    "cap",  # flat ends of a cylinder
    "curved_side",  # mantle of a cylinder
    "sphere",  # surface of a ball
)
PART_BACKGROUND, PART_TOP, PART_SIDE, PART_LEG, PART_CAP, PART_CURVED_SIDE, PART_SPHERE = range(7)

TASKS: tuple[str, ...] = ("semseg", "depth", "normals", "edge", "saliency", "parts")
