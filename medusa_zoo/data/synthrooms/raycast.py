"""Exact ray / primitive intersections, vectorised over rays with one shared origin.

Every function takes a scalar origin (the camera for primary rays, a light for shadow rays)
and float32 direction arrays of any one shape, and returns the ray parameter ``t`` of the
first entry into the primitive (``inf`` where the ray misses it or the primitive lies behind
the origin). The origin must lie outside the primitive, which the scene sampler guarantees.
For primary rays the direction has a camera-frame z of -1, so ``t`` is the depth; for shadow
rays the direction is ``point - light``, so the light is blocked when ``t < 1``.

Only + - * / sqrt, comparisons and selections are used per ray: they round identically on
every CPU, which keeps rendering bit-exact across machines.
"""

from __future__ import annotations

import numpy as np

__all__ = ["room_exit", "box_enter", "sphere_enter", "cylinder_enter"]

_INF = np.float32(np.inf)


def room_exit(
    origin: tuple, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray, size: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """Where rays from inside the room box leave it: ``(t, plane)`` with plane ids as ROOM_SURFACES."""
    best_t, best_id = None, None
    # (axis, direction, low-plane id, high-plane id) in ROOM_SURFACES order
    for axis, d, low_id, high_id in ((1, dy, 0, 1), (0, dx, 2, 3), (2, dz, 4, 5)):
        with np.errstate(divide="ignore"):
            inv = np.float32(1) / d
        t = np.maximum(np.float32(size[axis] - origin[axis]) * inv, np.float32(-origin[axis]) * inv)
        plane = np.where(d > 0, np.int16(high_id), np.int16(low_id))
        if best_t is None:
            best_t, best_id = t, plane
        else:
            closer = t < best_t
            best_t = np.where(closer, t, best_t)
            best_id = np.where(closer, plane, best_id)
    return best_t, best_id


def _slabs(origin: tuple, dirs: tuple, half: tuple, axes: tuple[int, ...], faces: bool = True) -> tuple:
    """Entry/exit ``t`` of the slabs ``|x_a| <= half_a`` for ``a`` in ``axes`` (box-local origin).

    Returns ``(t_near, near_face, t_far)``; faces are coded ``2 * axis + (1 if + side)``
    (None unless ``faces``); ``t_near`` is None when the origin lies inside every slab.
    """
    t_near = face = t_far = None
    for a in axes:
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.float32(1) / dirs[a]
            lo = np.float32(-half[a] - origin[a]) * inv
            hi = np.float32(half[a] - origin[a]) * inv
        if origin[a] > half[a]:
            near, far, code = hi, lo, 2 * a + 1
        elif origin[a] < -half[a]:
            near, far, code = lo, hi, 2 * a
        else:
            near, far, code = None, np.maximum(lo, hi), -1
        t_far = far if t_far is None else np.minimum(t_far, far)
        if near is None:
            continue
        if t_near is None:
            t_near, face = near, (np.full(near.shape, code, dtype=np.int8) if faces else None)
        elif not faces:
            t_near = np.maximum(t_near, near)
        else:
            better = near > t_near
            t_near = np.where(better, near, t_near)
            face = np.where(better, np.int8(code), face)
    return t_near, face, t_far


def box_enter(origin: tuple, dirs: tuple, half: tuple, faces: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Entry into a box centred at 0 with ``half`` extents, in box-local coordinates.

    Returns ``(t, face)`` with face codes ``2 * axis + side`` (side 1 = + face), or face None
    when ``faces`` is False (shadow rays only need ``t``).
    """
    t_near, face, t_far = _slabs(origin, dirs, half, (0, 1, 2), faces)
    if t_near is None:
        raise ValueError("ray origin inside a box")
    hit = (t_near <= t_far) & (t_near > 0)
    return np.where(hit, t_near, _INF), face


def sphere_enter(oc: tuple, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray, radius: float) -> np.ndarray:
    """Entry into a sphere; ``oc`` is the origin minus the centre."""
    a = dx * dx + dy * dy + dz * dz
    b = dx * np.float32(oc[0]) + dy * np.float32(oc[1]) + dz * np.float32(oc[2])
    c = np.float32(oc[0] * oc[0] + oc[1] * oc[1] + oc[2] * oc[2] - radius * radius)
    disc = b * b - a * c
    t = (-b - np.sqrt(np.maximum(disc, 0))) / a
    return np.where((disc >= 0) & (t > 0), t, _INF)


def cylinder_enter(
    oc: tuple, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray, radius: float, half_height: float
) -> tuple[np.ndarray, np.ndarray]:
    """Entry into a vertical capped cylinder; ``oc`` is the origin minus its centre.

    Returns ``(t, cap)``: ``cap`` is True where the ray enters through a flat end.
    """
    a = dx * dx + dz * dz
    b = dx * np.float32(oc[0]) + dz * np.float32(oc[2])
    c = np.float32(oc[0] * oc[0] + oc[2] * oc[2] - radius * radius)
    disc = b * b - a * c
    root = np.sqrt(np.maximum(disc, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_in, t_out = (-b - root) / a, (-b + root) / a
    y_near, _, y_far = _slabs(oc, (None, dy, None), (0.0, half_height, 0.0), (1,), faces=False)
    if y_near is None:  # origin level with the cylinder: only the mantle can be entered
        t_enter, cap = t_in, np.zeros(t_in.shape, dtype=bool)
    else:
        cap = y_near > t_in
        t_enter = np.where(cap, y_near, t_in)
    hit = (disc >= 0) & (t_enter <= np.minimum(t_out, y_far)) & (t_enter > 0)
    return np.where(hit, t_enter, _INF), cap
