"""Random scene sampling: a room, a camera inside it, furniture, wall items and lights.

Every draw comes from the one ``numpy.random.Generator`` passed in, in a fixed order, and
only scalar Python maths turns draws into geometry, so a seed gives the same scene everywhere.
Objects never intersect: floor objects keep their footprint circles apart (and away from the
camera), stacked objects stand inside their support's top, and every top stays 0.4 m below
the ceiling, under the lights.
"""

from __future__ import annotations

import math

import numpy as np

from . import labels as L
from .scene import Box, Camera, Cylinder, Light, Material, Piece, Scene, Sphere, WallItem, intrinsics
from .textures import GAMMAS, TEXTURE_KINDS, texture_index

__all__ = ["sample_scene"]

_CAM_CLEARANCE = 0.35  # metres between the camera and any footprint


class _Sampler:
    """Holds the RNG and the growing list of placements while one scene is drawn."""

    def __init__(self, rng: np.random.Generator, resolution: tuple[int, int]) -> None:
        self.rng = rng
        self.resolution = resolution
        self.pieces: list[Piece] = []
        self.circles: list[tuple[float, float, float]] = []  # floor footprints (x, z, radius)
        self.supports: list[dict] = []
        self.next_instance = 6  # 0..5 are the room planes
        self.objects = 0

    # -- random helpers -------------------------------------------------------------------
    def u(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(self.rng.random())

    def pick(self, n: int) -> int:
        return int(self.rng.integers(n))

    def colour(self, sat: tuple[float, float], val: tuple[float, float]) -> tuple[float, float, float]:
        return _hsv(self.u(0.0, 1.0), self.u(*sat), self.u(*val))

    def material(self, kinds: tuple[str, ...], sat=(0.1, 0.8), val=(0.3, 0.9), scale=(24.0, 96.0)) -> Material:
        a = self.colour(sat, val)
        k = self.u(0.45, 0.85)
        b = (a[0] * k, a[1] * k, a[2] * k) if self.rng.random() < 0.7 else self.colour(sat, val)
        tex = texture_index(kinds[self.pick(len(kinds))], self.pick(3))
        return Material(a, b, tex, self.u(*scale), (self.u(0, 64), self.u(0, 64)))

    def instance(self) -> int:
        self.next_instance += 1
        return self.next_instance - 1

    # -- scene parts ----------------------------------------------------------------------
    def room(self) -> None:
        self.size = (self.u(3.0, 8.0), self.u(2.4, 3.2), self.u(3.0, 8.0))
        self.max_top = self.size[1] - 0.4
        floor = self.material(("planks", "tiles", "wood", "noise", "plain"), (0.1, 0.6), (0.25, 0.8), (20.0, 48.0))
        ceiling = self.material(("plain", "noise"), (0.0, 0.1), (0.8, 0.95), (16.0, 32.0))
        walls = self.material(("plain", "noise", "stripes", "plain"), (0.05, 0.4), (0.55, 0.95), (12.0, 40.0))
        self.shell = (floor, ceiling, walls)

    def camera(self) -> None:
        width, height, depth = self.size
        x, z = self.u(0.3, width - 0.3), self.u(0.3, depth - 0.3)
        cam_h = self.u(1.0, 1.8)
        # aim roughly at the room's middle so that the furniture is in view
        yaw = math.atan2(width / 2 - x, -(depth / 2 - z)) + self.u(-0.6, 0.6)
        pitch = math.radians(self.u(-32.0, 2.0))
        self.cam = Camera((x, cam_h, z), yaw, pitch, self.resolution)
        fx = intrinsics(self.resolution)[0]
        self.half_fov = math.atan2(self.resolution[1] / 2, fx)

    def free(self, x: float, z: float, radius: float) -> bool:
        cx, _, cz = self.cam.position
        if math.hypot(x - cx, z - cz) < radius + _CAM_CLEARANCE:
            return False
        return all(math.hypot(x - ox, z - oz) >= radius + r for ox, oz, r in self.circles)

    def in_room(self, x: float, z: float, rx: float, rz: float) -> bool:
        return rx + 0.02 <= x <= self.size[0] - rx - 0.02 and rz + 0.02 <= z <= self.size[2] - rz - 0.02

    def spot_in_view(self, radius: float) -> tuple[float, float] | None:
        """A floor point in front of the camera (most of the time) or anywhere in the room."""
        cx, _, cz = self.cam.position
        if self.rng.random() < 0.8:
            angle = self.cam.yaw + self.u(-0.9, 0.9) * self.half_fov
            dist = self.u(0.9 + radius, 6.0)
            x, z = cx + math.sin(angle) * dist, cz - math.cos(angle) * dist
        else:
            x, z = self.u(0.0, self.size[0]), self.u(0.0, self.size[2])
        if not self.in_room(x, z, radius, radius) or not self.free(x, z, radius):
            return None
        return x, z

    def add(self, shape, semseg: int, instance: int, material: Material, part: int | None = None) -> None:
        self.pieces.append(Piece(shape, semseg, instance, material, part))


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    return ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))[i]


# -- furniture --------------------------------------------------------------------------------
_FURNITURE = ("table", "cabinet", "bed", "box", "ball", "cylinder")
_WEIGHTS = (0.24, 0.18, 0.08, 0.22, 0.12, 0.16)
_WOODY = ("wood", "planks", "plain", "noise", "stripes", "checker")
_ANY = TEXTURE_KINDS


def _pick_kind(s: _Sampler) -> str:
    r, acc = float(s.rng.random()), 0.0
    for kind, weight in zip(_FURNITURE, _WEIGHTS):
        acc += weight
        if r < acc:
            return kind
    return _FURNITURE[-1]


def _free_table(s: _Sampler) -> bool:
    w, d, h = s.u(0.8, 1.8), s.u(0.6, 1.0), s.u(0.68, 0.8)
    radius = math.hypot(w, d) / 2
    spot = s.spot_in_view(radius)
    if spot is None:
        return False
    x, z = spot
    yaw, mat, inst = s.u(0.0, math.pi), s.material(_WOODY), s.instance()
    top_t, leg, inset = s.u(0.03, 0.07), s.u(0.025, 0.045), 0.06
    s.add(Box((x, h - top_t / 2, z), (w / 2, top_t / 2, d / 2), yaw), L.TABLE, inst, mat)
    c, sn = math.cos(yaw), math.sin(yaw)
    for lx in (-w / 2 + inset, w / 2 - inset):
        for lz in (-d / 2 + inset, d / 2 - inset):
            px, pz = x + c * lx + sn * lz, z - sn * lx + c * lz
            s.add(Box((px, (h - top_t) / 2, pz), (leg, (h - top_t) / 2, leg), yaw), L.TABLE, inst, mat, L.PART_LEG)
    s.circles.append((x, z, radius))
    s.supports.append({"centre": (x, z), "half": (w / 2, d / 2), "yaw": yaw, "top": h, "items": []})
    return True


def _wall_frame(s: _Sampler) -> tuple[int, float, float, float]:
    """A wall (surface id 2..5), preferring the one the camera faces: (wall, inward, length, plane)."""
    fx, fz = math.sin(s.cam.yaw), -math.cos(s.cam.yaw)
    faced = (2 if fx < 0 else 3) if abs(fx) > abs(fz) else (4 if fz < 0 else 5)
    wall = faced if s.rng.random() < 0.6 else 2 + s.pick(4)
    length = s.size[2] if wall in (2, 3) else s.size[0]
    base = 0.0 if wall in (2, 4) else (s.size[0] if wall == 3 else s.size[2])
    return wall, (1.0 if wall in (2, 4) else -1.0), length, base


def _against_wall(s: _Sampler, width: float, depth: float) -> tuple[int, float, float, float, float, float] | None:
    wall, inward, length, base = _wall_frame(s)
    if length < width + 0.1:
        return None
    along = s.u(0.05 + width / 2, length - 0.05 - width / 2)
    normal = base + inward * (depth / 2 + s.u(0.01, 0.05))
    x, z = (normal, along) if wall in (2, 3) else (along, normal)
    hx, hz = (depth / 2, width / 2) if wall in (2, 3) else (width / 2, depth / 2)
    if not s.in_room(x, z, hx, hz) or not s.free(x, z, math.hypot(hx, hz)):
        return None
    return wall, inward, x, z, hx, hz


def _cabinet(s: _Sampler) -> bool:
    w, d, h = s.u(0.5, 1.3), s.u(0.35, 0.6), min(s.u(0.8, 2.0), s.max_top - 0.1)
    spot = _against_wall(s, w, d)
    if spot is None:
        return False
    _, _, x, z, hx, hz = spot
    s.add(Box((x, h / 2, z), (hx, h / 2, hz)), L.CABINET, s.instance(), s.material(_ANY))
    s.circles.append((x, z, math.hypot(hx, hz)))
    s.supports.append({"centre": (x, z), "half": (hx, hz), "yaw": 0.0, "top": h, "items": []})
    return True


def _bed(s: _Sampler) -> bool:
    w, d, h = s.u(0.9, 1.8), s.u(1.9, 2.1), s.u(0.4, 0.6)
    spot = _against_wall(s, w, d)
    if spot is None:
        return False
    wall, inward, x, z, hx, hz = spot
    inst, frame, sheet = s.instance(), s.material(_WOODY), s.material(_ANY, val=(0.6, 0.95))
    s.add(Box((x, h / 2, z), (hx, h / 2, hz)), L.BED, inst, sheet)
    back, head_t, head_h = -inward * (d / 2 - 0.04), 0.04, min(h + s.u(0.3, 0.6), s.max_top)
    pillow_at = -inward * (d / 2 - 0.38)
    if wall in (2, 3):
        s.add(Box((x + back, head_h / 2, z), (head_t, head_h / 2, hz + 0.02)), L.BED, inst, frame)
        s.add(Box((x + pillow_at, h + 0.06, z), (0.2, 0.06, hz * 0.7)), L.BED, inst, sheet)
    else:
        s.add(Box((x, head_h / 2, z + back), (hx + 0.02, head_h / 2, head_t)), L.BED, inst, frame)
        s.add(Box((x, h + 0.06, z + pillow_at), (hx * 0.7, 0.06, 0.2)), L.BED, inst, sheet)
    s.circles.append((x, z, math.hypot(hx, hz) + 0.05))
    return True


def _floor_box(s: _Sampler) -> bool:
    hx, hy, hz = s.u(0.15, 0.45), s.u(0.15, 0.45), s.u(0.15, 0.45)
    spot = s.spot_in_view(math.hypot(hx, hz))
    if spot is None:
        return False
    x, z = spot
    yaw = s.u(0.0, math.pi)
    s.add(Box((x, hy, z), (hx, hy, hz), yaw), L.BOX, s.instance(), s.material(_ANY))
    s.circles.append((x, z, math.hypot(hx, hz)))
    s.supports.append({"centre": (x, z), "half": (hx, hz), "yaw": yaw, "top": 2 * hy, "items": []})
    return True


def _floor_round(s: _Sampler, kind: str) -> bool:
    r = s.u(0.15, 0.4) if kind == "ball" else s.u(0.1, 0.35)
    spot = s.spot_in_view(r)
    if spot is None:
        return False
    x, z = spot
    if kind == "ball":
        s.add(Sphere((x, r, z), r), L.BALL, s.instance(), s.material(_ANY))
    else:
        hh = s.u(0.15, 0.6)
        s.add(Cylinder((x, hh, z), r, hh), L.CYLINDER, s.instance(), s.material(_ANY))
    s.circles.append((x, z, r))
    return True


def _stacked(s: _Sampler) -> bool:
    """A small box, ball or cylinder on top of a table, cabinet or box."""
    if not s.supports:
        return False
    sup = s.supports[s.pick(len(s.supports))]
    kind = ("box", "ball", "cylinder")[s.pick(3)]
    hx, hz = sup["half"]
    size = s.u(0.06, min(0.25, hx, hz))
    height = {"box": s.u(0.06, 0.3), "ball": size, "cylinder": s.u(0.06, 0.25)}[kind]
    if sup["top"] + 2 * height > s.max_top or hx < size + 0.02 or hz < size + 0.02:
        return False
    reach = math.sqrt(2) * size if kind == "box" else size
    lx, lz = s.u(-hx + reach, hx - reach) if hx > reach else 0.0, s.u(-hz + reach, hz - reach) if hz > reach else 0.0
    if abs(lx) + reach > hx or abs(lz) + reach > hz:
        return False
    if any(math.hypot(lx - ox, lz - oz) < reach + r for ox, oz, r in sup["items"]):
        return False
    c, sn = math.cos(sup["yaw"]), math.sin(sup["yaw"])
    x, z = sup["centre"][0] + c * lx + sn * lz, sup["centre"][1] - sn * lx + c * lz
    base, mat, inst = sup["top"], s.material(_ANY), s.instance()
    if kind == "box":
        s.add(Box((x, base + height, z), (size, height, size), s.u(0.0, math.pi)), L.BOX, inst, mat)
    elif kind == "ball":
        s.add(Sphere((x, base + size, z), size), L.BALL, inst, mat)
    else:
        s.add(Cylinder((x, base + height, z), size, height), L.CYLINDER, inst, mat)
    sup["items"].append((lx, lz, reach))
    return True


def _objects(s: _Sampler) -> None:
    target = 3 + s.pick(8)
    beds = 0
    for _ in range(300):
        if s.objects >= target:
            break
        if s.supports and s.rng.random() < 0.3:
            placed = _stacked(s)
        else:
            kind = _pick_kind(s)
            if kind == "bed" and beds:
                kind = "box"
            handler = {"table": _free_table, "cabinet": _cabinet, "bed": _bed, "box": _floor_box}.get(kind)
            placed = handler(s) if handler else _floor_round(s, kind)
            beds += placed and kind == "bed"
        s.objects += placed


def _wall_items(s: _Sampler) -> tuple[WallItem, ...]:
    items: list[WallItem] = []
    spans: dict[int, list[tuple[float, float]]] = {}
    for _ in range(1 + s.pick(4)):
        kind = ("picture", "picture", "window", "door")[s.pick(4)]
        wall, _, length, _ = _wall_frame(s)
        if kind == "picture":
            w, y0 = s.u(0.3, 1.2), s.u(1.1, 1.5)
            y1, cls = y0 + s.u(0.3, 0.8), L.PICTURE
            mat = s.material(("noise", "checker", "stripes", "wood"), (0.3, 1.0))
        elif kind == "window":
            w, y0 = s.u(0.7, 1.6), s.u(0.8, 1.0)
            y1, cls = min(y0 + s.u(0.9, 1.4), s.size[1] - 0.2), L.WINDOW
            sky = s.colour((0.05, 0.35), (0.8, 1.0))
            mat = Material(sky, sky, texture_index("plain", 0), 16.0, (0.0, 0.0), emission=s.u(0.8, 2.0))
        else:
            w, y0, y1, cls = s.u(0.8, 1.0), 0.0, s.u(2.0, 2.1), L.DOOR
            mat = s.material(("wood", "planks", "plain"), scale=(20.0, 48.0))
        if length < w + 0.2:
            continue
        a0 = s.u(0.1, length - w - 0.1)
        if any(a0 < b1 + 0.05 and b0 < a0 + w + 0.05 for b0, b1 in spans.get(wall, [])):
            continue
        spans.setdefault(wall, []).append((a0, a0 + w))
        items.append(WallItem(wall, (a0, a0 + w), (y0, y1), cls, s.instance(), mat))
    return tuple(items)


def _lights(s: _Sampler) -> tuple[Light, ...]:
    width, height, depth = s.size
    count = 1 + s.pick(2)
    power = s.u(2.5, 5.0) * (width * depth / 25.0) ** 0.5 / count ** 0.5
    return tuple(
        Light((s.u(0.5, width - 0.5), height - s.u(0.15, 0.3), s.u(0.5, depth - 0.5)), power * s.u(0.7, 1.3))
        for _ in range(count)
    )


def sample_scene(rng: np.random.Generator, resolution: tuple[int, int]) -> Scene:
    """Draw one room scene for a camera of ``resolution = (H, W)``."""
    s = _Sampler(rng, resolution)
    s.room()
    s.camera()
    _objects(s)
    items = _wall_items(s)
    lights = _lights(s)
    warm = s.u(-0.08, 0.08)
    return Scene(
        room=s.size,
        camera=s.cam,
        lights=lights,
        ambient=s.u(0.06, 0.18),
        shell=s.shell,
        wall_items=items,
        pieces=tuple(s.pieces),
        exposure=s.u(0.75, 1.25),
        white_balance=(1.0 + warm, 1.0, 1.0 - warm),
        gamma_index=s.pick(len(GAMMAS)),
        noise_sigma=s.u(0.005, 0.03),
        noise_offset=int(rng.integers(1 << 30)),
    )
