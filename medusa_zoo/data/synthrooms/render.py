"""Render a :class:`~.scene.Scene` to an image and exact, mutually consistent labels.

Pipeline (float32 numpy, one core): primary rays are cast against the room box, then wall
items, then each object piece inside its projected screen rectangle only, keeping a depth
buffer and a per-pixel surface id; hit points follow from depth; labels, normals and texture
coordinates are gathered from the surface table (:mod:`.surfaces`); irradiance with cast
shadows is computed on tiles (:mod:`.shading`); exposure, white balance, sensor noise from a
fixed buffer and a gamma lookup table finish the image.

Label conventions (all exact at pixel centres; no anti-aliasing):

* ``depth``: metres along the optical axis (z-depth), > 0 everywhere (the room is closed).
* ``normals``: unit vectors in the camera frame (x right, y up, z towards the camera), facing
  the camera: a wall seen head-on is (0, 0, 1), the floor seen level is (0, 1, 0).
* ``edge``: 1 where a 4-neighbour lies on another *instance*: another object, wall item or
  room plane. Room-shell corners (floor/wall, wall/wall, wall/ceiling) DO count: each plane is
  its own instance. Faces of one object (a box's top and side, a table's top and legs) do not.
  Both sides of a boundary are marked, so edges are 2 px wide (1 px at the image border).
* ``saliency`` = ``semseg`` in ``SALIENT_CLASSES``; ``parts`` is 0 exactly where saliency is 0.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from . import labels as L
from .raycast import box_enter, cylinder_enter, room_exit, sphere_enter
from .scene import ROOM_SURFACES, Box, Cylinder, Scene, Sphere, intrinsics
from .shading import TILE, from_tiles, irradiance, to_tiles
from .surfaces import SurfaceTable, build_surfaces
from .photo_textures import full_bank
from .textures import LEVELS, TEX_SIZE, gamma_table, noise_slice

__all__ = ["Rendered", "render"]

_MASK = TEX_SIZE - 1
# the 8 corners of a box as high/low selectors per axis
_CORNERS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=bool)
_SALIENT = np.isin(np.arange(len(L.SEMSEG_CLASSES)), L.SALIENT_CLASSES).astype(np.float32)


@dataclass(frozen=True)
class Rendered:
    """One rendered view: the image, every task's label, and the instance / surface maps.

    ``image`` is (3, H, W) uint8, ``normals`` (3, H, W) float32, the rest (H, W): ``semseg``,
    ``parts`` int64, ``depth``, ``edge``, ``saliency`` float32, ``instance``, ``surface`` int32.
    ``planar[surface]`` tells whether a surface is flat (its normal is constant).
    """

    image: np.ndarray
    semseg: np.ndarray
    parts: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    edge: np.ndarray
    saliency: np.ndarray
    instance: np.ndarray
    surface: np.ndarray
    planar: np.ndarray


@functools.lru_cache(maxsize=8)
def _ray_grid(resolution: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame ray slopes per column and row, padded to whole tiles (read-only)."""
    height, width = resolution
    fx, fy, cx, cy = intrinsics(resolution)
    hp, wp = -(-height // TILE) * TILE, -(-width // TILE) * TILE
    xn = (np.arange(wp, dtype=np.float32) - np.float32(cx)) / np.float32(fx)
    yn = (np.float32(cy) - np.arange(hp, dtype=np.float32)) / np.float32(fy)
    xn.setflags(write=False)
    yn.setflags(write=False)
    return xn, yn


def _dot(a: tuple, b: tuple) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


class _Caster:
    """Primary-ray state of one image: depth buffer, surface ids and the ray directions."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.origin = scene.camera.position
        self.frame = scene.camera.frame()
        self.to_camera = np.array(self.frame, dtype=np.float64).T
        self.xn, self.yn = _ray_grid(scene.camera.resolution)
        self.fx, self.fy, self.cx, self.cy = scene.camera.intrinsics()
        right, up, forward = self.frame
        self.dirs = tuple(self._dirs(right[a], up[a], forward[a], (0, len(self.yn), 0, len(self.xn))) for a in range(3))
        depth, plane = room_exit(self.origin, *self.dirs, scene.room)
        self.depth, self.surface = depth, plane.astype(np.intp)

    def _dirs(self, along_x: float, along_y: float, along_f: float, rect: tuple) -> np.ndarray:
        """One component of the ray directions in ``rect`` for a direction with these camera parts."""
        v0, v1, u0, u1 = rect
        col = self.xn[u0:u1] * np.float32(along_x)
        row = self.yn[v0:v1] * np.float32(along_y) + np.float32(along_f)
        return col[None, :] + row[:, None]

    def rect(self, low: tuple, high: tuple) -> tuple[int, int, int, int] | None:
        """Pixel rectangle ``(v0, v1, u0, u1)`` covering the projection of a world AABB, or None."""
        rel = np.where(_CORNERS, np.asarray(high), np.asarray(low)) - self.origin
        cam = rel @ self.to_camera  # (8, 3): right, up, ahead; rounding is absorbed by the margins
        ahead = cam[:, 2]
        if ahead.min() < 1e-3:  # straddles the camera plane: project nothing, test every pixel
            return 0, len(self.yn), 0, len(self.xn)
        us, vs = self.cx + self.fx * cam[:, 0] / ahead, self.cy - self.fy * cam[:, 1] / ahead
        u0, u1 = max(0, math.floor(us.min()) - 1), min(len(self.xn), math.ceil(us.max()) + 2)
        v0, v1 = max(0, math.floor(vs.min()) - 1), min(len(self.yn), math.ceil(vs.max()) + 2)
        return (v0, v1, u0, u1) if u0 < u1 and v0 < v1 else None

    def wall_item(self, item, surface: int) -> None:
        """Relabel wall pixels inside the item's rectangle (the item is flush with its wall)."""
        _, axis, side = ROOM_SURFACES[item.wall]
        along = 2 - axis
        plane = self.scene.room[axis] if side else 0.0
        low, high = [0.0, item.y[0], 0.0], [0.0, item.y[1], 0.0]
        low[axis] = high[axis] = plane
        low[along], high[along] = item.along
        rect = self.rect(tuple(low), tuple(high))
        if rect is None:
            return
        v0, v1, u0, u1 = rect
        t, sid = self.depth[v0:v1, u0:u1], self.surface[v0:v1, u0:u1]
        pa = np.float32(self.origin[along]) + t * self.dirs[along][v0:v1, u0:u1]
        py = np.float32(self.origin[1]) + t * self.dirs[1][v0:v1, u0:u1]
        inside = (sid == item.wall) & (pa >= item.along[0]) & (pa <= item.along[1])
        inside &= (py >= item.y[0]) & (py <= item.y[1])
        np.copyto(sid, surface, where=inside)

    def piece(self, shape, first: int) -> tuple | None:
        """Z-test one piece inside its screen rectangle; returns the rectangle (or None)."""
        rect = self.rect(*shape.bounds())
        if rect is None:
            return None
        v0, v1, u0, u1 = rect
        oc = tuple(self.origin[a] - shape.centre[a] for a in range(3))
        world = tuple(d[v0:v1, u0:u1] for d in self.dirs)
        if isinstance(shape, Box):
            t, face = self._box(shape, oc, world, rect)
            sid = face.astype(np.intp) + first
        elif isinstance(shape, Sphere):
            t, sid = sphere_enter(oc, *world, shape.radius), first
        else:
            t, cap = cylinder_enter(oc, *world, shape.radius, shape.half_height)
            sid = np.where(cap, first + (2 if oc[1] > 0 else 1), first)
        depth = self.depth[v0:v1, u0:u1]
        closer = t < depth
        np.copyto(depth, t, where=closer)
        np.copyto(self.surface[v0:v1, u0:u1], sid, where=closer)
        return rect

    def _box(self, box: Box, oc: tuple, world: tuple, rect: tuple) -> tuple:
        if box.yaw == 0.0:
            return box_enter(oc, world, box.half)
        axes = box.axes()
        local = tuple(_dot(oc, axis) for axis in axes)
        dirs = tuple(self._dirs(*(_dot(f, axis) for f in self.frame), rect) for axis in axes)
        return box_enter(local, dirs, box.half)


def _curved_normals(scene: Scene, table: SurfaceTable, caster: _Caster, rects: list, points: tuple) -> tuple:
    """World normals: table lookups, replaced per pixel on spheres and cylinder mantles."""
    normals = tuple(table.normal[a][caster.surface] for a in range(3))
    for piece, first, rect in zip(scene.pieces, table.piece_surface, rects):
        shape = piece.shape
        if rect is None or isinstance(shape, Box):
            continue
        v0, v1, u0, u1 = rect
        mine = caster.surface[v0:v1, u0:u1] == first
        rel = [points[a][v0:v1, u0:u1] - np.float32(shape.centre[a]) for a in range(3)]
        if isinstance(shape, Cylinder):
            rel[1] = np.zeros_like(rel[1])
        norm = np.sqrt(rel[0] * rel[0] + rel[1] * rel[1] + rel[2] * rel[2])
        for a in range(3):
            np.copyto(normals[a][v0:v1, u0:u1], rel[a] / np.maximum(norm, np.float32(1e-12)), where=mine)
    return normals


def _albedo(table: SurfaceTable, sid: np.ndarray, points: tuple) -> list[np.ndarray]:
    """Per-pixel colour: two surface colours mixed by a nearest-texel texture lookup."""
    u = points[0] * table.t1[0][sid] + points[1] * table.t1[1][sid] + points[2] * table.t1[2][sid] + table.t1[3][sid]
    v = points[0] * table.t2[0][sid] + points[1] * table.t2[1][sid] + points[2] * table.t2[2][sid] + table.t2[3][sid]
    texel = table.texture[sid] + ((v.astype(np.intp) & _MASK) * TEX_SIZE) + (u.astype(np.intp) & _MASK)
    pattern = full_bank()[texel]
    return [table.colour_a[c][sid] + pattern * table.colour_step[c][sid] for c in range(3)]


def _edges(instance: np.ndarray) -> np.ndarray:
    """1 where a 4-neighbour has another instance id (both sides of each boundary)."""
    edge = np.zeros(instance.shape, dtype=bool)
    across = instance[:, 1:] != instance[:, :-1]
    edge[:, 1:] |= across
    edge[:, :-1] |= across
    down = instance[1:] != instance[:-1]
    edge[1:] |= down
    edge[:-1] |= down
    return edge.astype(np.float32)


def _expose(scene: Scene, albedo: list, light: np.ndarray) -> np.ndarray:
    """Linear radiance -> noisy, quantised, gamma-encoded uint8 (3, H, W)."""
    h, w = light.shape
    noise = noise_slice(scene.noise_offset, 3 * h * w).reshape(3, h, w)
    table, top = gamma_table(scene.gamma_index), np.float32(LEVELS - 1)
    image = np.empty((3, h, w), dtype=np.uint8)
    for c in range(3):
        value = albedo[c] * light * np.float32(scene.exposure * scene.white_balance[c])
        level = np.clip((value + noise[c] * np.float32(scene.noise_sigma)) * top + np.float32(0.5), 0, top)
        image[c] = table[level.astype(np.intp)]
    return image


def render(scene: Scene) -> Rendered:
    """Ray-cast ``scene`` at its camera's resolution; see the module docstring for conventions."""
    height, width = scene.camera.resolution
    table = build_surfaces(scene)
    caster = _Caster(scene)
    for index, item in enumerate(scene.wall_items):
        caster.wall_item(item, len(ROOM_SURFACES) + index)
    rects = [caster.piece(piece.shape, first) for piece, first in zip(scene.pieces, table.piece_surface)]
    sid, depth = caster.surface, caster.depth
    points = tuple(np.float32(caster.origin[a]) + depth * caster.dirs[a] for a in range(3))
    normals = _curved_normals(scene, table, caster, rects, points)
    light = irradiance(scene, tuple(map(to_tiles, points)), tuple(map(to_tiles, normals)))
    light = from_tiles(light, sid.shape) + table.emission[sid]
    albedo = _albedo(table, sid, points)
    crop = (slice(0, height), slice(0, width))
    image = _expose(scene, [a[crop] for a in albedo], light[crop])
    sid = sid[crop]
    right, up, forward = caster.frame
    world = [n[crop] for n in normals]
    camera_normals = np.stack(
        [sum(world[a] * np.float32(axis[a]) for a in range(3)) for axis in (right, up, tuple(-f for f in forward))]
    )
    semseg = table.semseg[sid]
    instance = table.instance[sid]
    planar = (table.normal[0] != 0) | (table.normal[1] != 0) | (table.normal[2] != 0)
    return Rendered(
        image=image,
        semseg=semseg,
        parts=table.part[sid],
        depth=np.ascontiguousarray(depth[crop]),
        normals=camera_normals,
        edge=_edges(instance),
        saliency=_SALIENT[semseg],
        instance=instance,
        surface=sid.astype(np.int32),
        planar=planar,
    )
