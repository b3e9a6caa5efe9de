"""Per-surface lookup tables: every pixel's labels, normal and texture come from its surface id.

A *surface* is one planar face or curved patch: the six room planes (ids 0..5, see
``ROOM_SURFACES``), one per wall item, six per box (faces ``2 * axis + side`` in box-local
axes), one per sphere and three per cylinder (mantle, bottom cap, top cap). The renderer only
records a surface id per pixel; gathering from these tables turns it into labels, a world
normal (zero for curved surfaces, whose normals are computed per pixel) and texture
coordinates ``u = p . t1 + w1``, ``v = p . t2 + w2`` in texels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import labels as L
from .scene import ROOM_SURFACES, Box, Cylinder, Material, Scene, Sphere
from .textures import TEX_SIZE

__all__ = ["SurfaceTable", "build_surfaces", "UV_BIAS"]

# Added to texture coordinates so that they stay positive: float->int truncation is then floor.
UV_BIAS = 8192.0

_AXES = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


@dataclass
class SurfaceTable:
    """Columns of the surface table (lists while building, arrays after :meth:`freeze`)."""

    semseg: list = field(default_factory=list)
    part: list = field(default_factory=list)
    instance: list = field(default_factory=list)
    normal: list = field(default_factory=list)  # world frame; (0, 0, 0) = curved
    t1: list = field(default_factory=list)  # (tx, ty, tz, w)
    t2: list = field(default_factory=list)
    colour_a: list = field(default_factory=list)
    colour_b: list = field(default_factory=list)
    texture: list = field(default_factory=list)  # offset into the texture bank
    emission: list = field(default_factory=list)
    piece_surface: list = field(default_factory=list)  # first surface id of each piece

    def add(self, semseg: int, part: int, instance: int, normal, tangents, material: Material) -> int:
        """Append one surface; ``tangents`` are two unit world directions spanning its texture."""
        (u_dir, v_dir), s = tangents, material.scale
        self.semseg.append(semseg)
        self.part.append(part)
        self.instance.append(instance)
        self.normal.append(normal)
        self.t1.append((u_dir[0] * s, u_dir[1] * s, u_dir[2] * s, material.offset[0] + UV_BIAS))
        self.t2.append((v_dir[0] * s, v_dir[1] * s, v_dir[2] * s, material.offset[1] + UV_BIAS))
        self.colour_a.append(material.colour_a)
        self.colour_b.append(material.colour_b)
        self.texture.append(material.texture * TEX_SIZE * TEX_SIZE)
        self.emission.append(material.emission)
        return len(self.semseg) - 1

    def freeze(self) -> "SurfaceTable":
        """Turn the columns into arrays (float32 / int) ready for per-pixel gathers."""
        out = SurfaceTable()
        out.semseg = np.asarray(self.semseg, dtype=np.int64)
        out.part = np.asarray(self.part, dtype=np.int64)
        out.instance = np.asarray(self.instance, dtype=np.int32)
        for name in ("normal", "t1", "t2", "colour_a", "colour_b"):
            setattr(out, name, np.ascontiguousarray(np.asarray(getattr(self, name), dtype=np.float32).T))
        out.colour_step = out.colour_b - out.colour_a
        out.texture = np.asarray(self.texture, dtype=np.intp)
        out.emission = np.asarray(self.emission, dtype=np.float32)
        out.piece_surface = list(self.piece_surface)
        return out


def _room(table: SurfaceTable, scene: Scene) -> None:
    floor, ceiling, walls = scene.shell
    for index, (_, axis, side) in enumerate(ROOM_SURFACES):
        normal = tuple((1.0 if side == 0 else -1.0) if a == axis else 0.0 for a in range(3))  # inward
        if axis == 1:
            cls, mat = (L.FLOOR, floor) if side == 0 else (L.CEILING, ceiling)
            tangents = (_AXES[0], _AXES[2])
        else:
            cls, mat, tangents = L.WALL, walls, (_AXES[2 - axis], _AXES[1])
        table.add(cls, L.PART_BACKGROUND, index, normal, tangents, mat)


def _wall_items(table: SurfaceTable, scene: Scene) -> None:
    for item in scene.wall_items:
        axis = ROOM_SURFACES[item.wall][1]
        normal = table.normal[item.wall]
        table.add(item.semseg, L.PART_BACKGROUND, item.instance, normal, (_AXES[2 - axis], _AXES[1]), item.material)


def _box_faces(table: SurfaceTable, piece, box: Box) -> None:
    axes = box.axes()
    for code in range(6):
        axis, side = divmod(code, 2)
        sign = 1.0 if side else -1.0
        normal = tuple(sign * c for c in axes[axis])
        others = [axes[a] for a in range(3) if a != axis]
        part = piece.part if piece.part is not None else (L.PART_TOP if code == 3 else L.PART_SIDE)
        table.add(piece.semseg, part, piece.instance, normal, others, piece.material)


def build_surfaces(scene: Scene) -> SurfaceTable:
    """The surface table of ``scene``, in the id order the renderer uses."""
    table = SurfaceTable()
    _room(table, scene)
    _wall_items(table, scene)
    curved = (0.0, 0.0, 0.0)
    for piece in scene.pieces:
        table.piece_surface.append(len(table.semseg))
        shape, mat = piece.shape, piece.material
        if isinstance(shape, Box):
            _box_faces(table, piece, shape)
        elif isinstance(shape, Sphere):
            table.add(piece.semseg, L.PART_SPHERE, piece.instance, curved, (_AXES[0], _AXES[1]), mat)
        elif isinstance(shape, Cylinder):
            table.add(piece.semseg, L.PART_CURVED_SIDE, piece.instance, curved, ((0.7071, 0.0, 0.7071), _AXES[1]), mat)
            table.add(piece.semseg, L.PART_CAP, piece.instance, (0.0, -1.0, 0.0), (_AXES[0], _AXES[2]), mat)
            table.add(piece.semseg, L.PART_CAP, piece.instance, (0.0, 1.0, 0.0), (_AXES[0], _AXES[2]), mat)
    return table.freeze()
