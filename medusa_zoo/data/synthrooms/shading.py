"""Lambertian irradiance from point lights with exact cast shadows, computed on 16x16 tiles.

Pixels are regrouped into tiles (rows of a ``(tiles, 256)`` array) so that shadow rays can be
culled per tile: a tile's hit points fit in a bounding sphere, and an occluder can only shade
the tile if its bounding sphere meets the cone from the light to that sphere. Only the
surviving tiles trace shadow rays against the occluder, exactly, from the light towards each
point (parameter 1 at the point). The culling is conservative, so the shadows are the same as
testing every pixel against every occluder.
"""

from __future__ import annotations

import numpy as np

from .raycast import box_enter, cylinder_enter, sphere_enter
from .scene import Box, Cylinder, Scene, Sphere

__all__ = ["TILE", "to_tiles", "from_tiles", "irradiance"]

TILE = 16
_SHADOW_EPS = np.float32(1e-4)  # a point's own surface is met at t = 1 +- rounding: not a shadow
_CULL_MARGIN = 1e-3  # metres; keeps the conservative tile test conservative under rounding


def to_tiles(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` with H, W multiples of TILE -> ``(H*W/TILE², TILE²)``, one tile per row."""
    h, w = image.shape
    return image.reshape(h // TILE, TILE, w // TILE, TILE).transpose(0, 2, 1, 3).reshape(-1, TILE * TILE)


def from_tiles(tiles: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`to_tiles`."""
    h, w = shape
    return tiles.reshape(h // TILE, w // TILE, TILE, TILE).transpose(0, 2, 1, 3).reshape(h, w)


def _bounding_sphere(shape) -> tuple[np.ndarray, float]:
    if isinstance(shape, Sphere):
        return np.asarray(shape.centre), shape.radius
    if isinstance(shape, Cylinder):
        return np.asarray(shape.centre), float(np.hypot(shape.radius, shape.half_height))
    return np.asarray(shape.centre), float(np.sqrt(sum(h * h for h in shape.half)))


def _culled(
    light: np.ndarray, tile_c: np.ndarray, tile_r: np.ndarray, occ_c: np.ndarray, occ_r: np.ndarray
) -> np.ndarray:
    """``(occluders, tiles)``: True where the occluder may block light from reaching the tile.

    Segments from the light to a ball of radius ``r`` around ``c`` stay within ``s * r`` of the
    axis point ``light + s (c - light)``; we test the closest axis point with the full ``r``.
    """
    axis = tile_c - light  # (T, 3)
    to_occ = occ_c - light  # (O, 3)
    dot = sum(to_occ[:, a, None] * axis[None, :, a] for a in range(3))  # elementwise: no BLAS rounding
    s = np.clip(dot / np.maximum(sum(axis[:, a] * axis[:, a] for a in range(3)), 1e-12), 0.0, 1.0)
    gap2 = sum((to_occ[:, a, None] - s * axis[None, :, a]) ** 2 for a in range(3))
    reach = occ_r[:, None] + tile_r[None, :] + _CULL_MARGIN
    return gap2 <= reach * reach


def _blocked(shape, light: tuple, sx: np.ndarray, sy: np.ndarray, sz: np.ndarray) -> np.ndarray:
    """True where the segment light -> point (direction ``s``) enters ``shape`` before the point."""
    oc = tuple(light[a] - shape.centre[a] for a in range(3))
    if isinstance(shape, Box):
        if shape.yaw == 0.0:
            t, _ = box_enter(oc, (sx, sy, sz), shape.half, faces=False)
        else:
            ax, _, az = shape.axes()
            local = (oc[0] * ax[0] + oc[2] * ax[2], oc[1], oc[0] * az[0] + oc[2] * az[2])
            xx, xz, zx, zz = (np.float32(v) for v in (ax[0], ax[2], az[0], az[2]))
            dirs = (sx * xx + sz * xz, sy, sx * zx + sz * zz)
            t, _ = box_enter(local, dirs, shape.half, faces=False)
    elif isinstance(shape, Sphere):
        t = sphere_enter(oc, sx, sy, sz, shape.radius)
    else:
        t, _ = cylinder_enter(oc, sx, sy, sz, shape.radius, shape.half_height)
    return t < 1 - _SHADOW_EPS


def irradiance(scene: Scene, points: tuple, normals: tuple) -> np.ndarray:
    """Ambient plus every light's ``I cos / (1 + d²)``, zero where shadowed; tile layout in and out."""
    px, py, pz = points
    nx, ny, nz = normals
    lo = np.stack([px.min(1), py.min(1), pz.min(1)], 1).astype(np.float64)
    hi = np.stack([px.max(1), py.max(1), pz.max(1)], 1).astype(np.float64)
    ext = hi - lo
    tile_c, tile_r = (lo + hi) / 2, np.sqrt((ext * ext).sum(1)) / 2
    shapes = [piece.shape for piece in scene.pieces]
    spheres = [_bounding_sphere(shape) for shape in shapes]
    occ_c = np.array([c for c, _ in spheres], dtype=np.float64).reshape(-1, 3)
    occ_r = np.array([r for _, r in spheres], dtype=np.float64)
    total = np.full(px.shape, np.float32(scene.ambient), dtype=np.float32)
    for light in scene.lights:
        lx, ly, lz = light.position
        # s = point - light: the shadow-ray direction (from the light, t = 1 at the point)
        sx, sy, sz = px - np.float32(lx), py - np.float32(ly), pz - np.float32(lz)
        dist2 = sx * sx + sy * sy + sz * sz
        cos = (nx * sx + ny * sy + nz * sz) / -np.sqrt(dist2)
        direct = np.maximum(cos, 0) * np.float32(light.intensity) / (1 + dist2)
        lit = (cos > 0).any(1)
        shadow = np.zeros(px.shape, dtype=bool)
        if shapes:
            maybe = _culled(np.asarray(light.position), tile_c, tile_r, occ_c, occ_r) & lit[None]
            for shape, tiles in zip(shapes, maybe):
                ids = np.flatnonzero(tiles)
                if ids.size:
                    shadow[ids] |= _blocked(shape, light.position, sx[ids], sy[ids], sz[ids])
        np.putmask(direct, shadow, np.float32(0))
        total += direct
    return total
