"""Scene description of SynthRooms: room, camera, lights, objects and materials.

World frame: metres, y up, the room is the box ``[0, width] x [0, height] x [0, depth]`` (x, y, z).
Camera frame (the frame of ``normals``): x right, y up, z pointing towards the camera (the
camera looks along -z), as in NYUD. Pixel ``(row i, column j)`` is centred at image coordinate
``(j, i)``; its ray in the camera frame is ``((j - cx) / fx, -(i - cy) / fy, -1)``, so the ray
parameter of a hit is its depth along the optical axis.

A scene is plain data: :mod:`.sampling` draws one from an RNG, :mod:`.render` turns it into an
image and labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "NYUD_FX",
    "NYUD_FY",
    "Material",
    "Box",
    "Sphere",
    "Cylinder",
    "Piece",
    "WallItem",
    "Camera",
    "Light",
    "Scene",
    "intrinsics",
    "ROOM_SURFACES",
]

# NYUD-v2 Kinect colour intrinsics at 640x480 (horizontal field of view ~63 degrees).
NYUD_FX, NYUD_FY = 518.8579, 519.4696

#: The six room planes, in surface-id order: (name, axis, side) with side 0 = low bound.
ROOM_SURFACES: tuple[tuple[str, int, int], ...] = (
    ("floor", 1, 0),
    ("ceiling", 1, 1),
    ("wall_x0", 0, 0),
    ("wall_x1", 0, 1),
    ("wall_z0", 2, 0),
    ("wall_z1", 2, 1),
)

Vec3 = tuple[float, float, float]


def intrinsics(resolution: tuple[int, int]) -> tuple[float, float, float, float]:
    """``(fx, fy, cx, cy)`` of the NYUD pinhole camera scaled to ``resolution = (H, W)``."""
    height, width = resolution
    return NYUD_FX * width / 640.0, NYUD_FY * height / 480.0, (width - 1) / 2.0, (height - 1) / 2.0


@dataclass(frozen=True)
class Material:
    """Two colours mixed by a texture of the bank, with texel scale and offset; ``emission`` glows."""

    colour_a: Vec3
    colour_b: Vec3
    texture: int
    scale: float  # texels per metre
    offset: tuple[float, float]
    emission: float = 0.0


@dataclass(frozen=True)
class Box:
    """A cuboid with half extents ``half`` (local x, y, z), rotated by ``yaw`` about the vertical."""

    centre: Vec3
    half: Vec3
    yaw: float = 0.0

    def axes(self) -> tuple[Vec3, Vec3, Vec3]:
        """World directions of the local x, y, z axes (exact for yaw 0)."""
        if self.yaw == 0.0:
            return (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return (c, 0.0, -s), (0.0, 1.0, 0.0), (s, 0.0, c)

    def bounds(self) -> tuple[Vec3, Vec3]:
        """World axis-aligned bounding box (low corner, high corner)."""
        ax, _, az = self.axes()
        ex = abs(ax[0]) * self.half[0] + abs(az[0]) * self.half[2]
        ez = abs(ax[2]) * self.half[0] + abs(az[2]) * self.half[2]
        (x, y, z), hy = self.centre, self.half[1]
        return (x - ex, y - hy, z - ez), (x + ex, y + hy, z + ez)


@dataclass(frozen=True)
class Sphere:
    """A ball."""

    centre: Vec3
    radius: float

    def bounds(self) -> tuple[Vec3, Vec3]:
        """World axis-aligned bounding box."""
        r = self.radius
        return tuple(c - r for c in self.centre), tuple(c + r for c in self.centre)  # type: ignore[return-value]


@dataclass(frozen=True)
class Cylinder:
    """A capped cylinder with a vertical axis through ``centre`` (its middle)."""

    centre: Vec3
    radius: float
    half_height: float

    def bounds(self) -> tuple[Vec3, Vec3]:
        """World axis-aligned bounding box."""
        (x, y, z), r, h = self.centre, self.radius, self.half_height
        return (x - r, y - h, z - r), (x + r, y + h, z + r)


Shape = Box | Sphere | Cylinder


@dataclass(frozen=True)
class Piece:
    """One primitive of an object; an object (one instance) may have several (a table's legs).

    ``part`` forces one part label for every face (table legs); None labels faces by shape.
    """

    shape: Shape
    semseg: int
    instance: int
    material: Material
    part: int | None = None


@dataclass(frozen=True)
class WallItem:
    """A flat rectangle on room wall ``wall`` (a surface id 2..5): ``along`` and ``y`` ranges."""

    wall: int
    along: tuple[float, float]
    y: tuple[float, float]
    semseg: int
    instance: int
    material: Material


@dataclass(frozen=True)
class Camera:
    """A pinhole camera at ``position`` turned by ``yaw`` (about y) and ``pitch`` (up positive)."""

    position: Vec3
    yaw: float
    pitch: float
    resolution: tuple[int, int]

    def frame(self) -> tuple[Vec3, Vec3, Vec3]:
        """World directions of the camera's right, up and forward (= -z) axes."""
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        right = (cy, 0.0, sy)
        up = (-sp * sy, cp, sp * cy)
        forward = (sy * cp, sp, -cy * cp)
        return right, up, forward

    def intrinsics(self) -> tuple[float, float, float, float]:
        """``(fx, fy, cx, cy)`` at this camera's resolution."""
        return intrinsics(self.resolution)


@dataclass(frozen=True)
class Light:
    """A white point light; irradiance falls off as ``intensity / (1 + distance²)``."""

    position: Vec3
    intensity: float


@dataclass(frozen=True)
class Scene:
    """Everything the renderer needs, including the photometric settings of the exposure."""

    room: Vec3  # width (x), height (y), depth (z)
    camera: Camera
    lights: tuple[Light, ...]
    ambient: float
    shell: tuple[Material, Material, Material]  # floor, ceiling, walls
    wall_items: tuple[WallItem, ...]
    pieces: tuple[Piece, ...]
    exposure: float
    white_balance: Vec3
    gamma_index: int
    noise_sigma: float
    noise_offset: int
