"""Procedural texture bank, sensor-noise buffer and gamma tables of the SynthRooms renderer.

Everything here is built once per process from a fixed seed with only + - * / sqrt floor on
float32 arrays (IEEE-exact on every CPU), so the tables are bit-identical on every machine.
Textures are grey-level patterns in [0, 1]; a surface mixes two colours with them. They are
looked up with nearest texels and wrap around (size is a power of two), which keeps the
renderer's per-pixel texture cost at one gather.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["TEX_SIZE", "TEXTURE_KINDS", "texture_bank", "noise_buffer", "gamma_table", "GAMMAS", "LEVELS"]

TEX_SIZE = 64  # texels per side; a power of two so that ``& (TEX_SIZE - 1)`` wraps
TEXTURE_KINDS: tuple[str, ...] = ("plain", "stripes", "checker", "noise", "wood", "planks", "tiles")
_VARIANTS = 3  # textures per kind, with different frequencies / seeds
LEVELS = 1024  # quantisation levels of linear intensity before the gamma table
GAMMAS: tuple[float, ...] = (1.8, 2.0, 2.2, 2.4, 2.6)
_NOISE_LEN = 1 << 21
_BANK_SEED = 20240611


def _grid() -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:TEX_SIZE, 0:TEX_SIZE].astype(np.float32)
    return x, y


def _value_noise(rng: np.random.Generator, cells: int) -> np.ndarray:
    """Smooth tileable noise: a random ``cells``² grid, smoothstep-interpolated, wrapping."""
    grid = rng.random((cells, cells), dtype=np.float32)
    x, y = _grid()
    gx, gy = x * np.float32(cells / TEX_SIZE), y * np.float32(cells / TEX_SIZE)
    ix, iy = np.floor(gx), np.floor(gy)
    fx, fy = gx - ix, gy - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    x0, y0 = ix.astype(np.intp) % cells, iy.astype(np.intp) % cells
    x1, y1 = (x0 + 1) % cells, (y0 + 1) % cells
    top = grid[y0, x0] + (grid[y0, x1] - grid[y0, x0]) * fx
    bottom = grid[y1, x0] + (grid[y1, x1] - grid[y1, x0]) * fx
    return top + (bottom - top) * fy


def _triangle(values: np.ndarray) -> np.ndarray:
    """Periodic triangle wave in [0, 1] with period 1 (a sine stand-in built from floor)."""
    frac = values - np.floor(values)
    return np.abs(frac - np.float32(0.5)) * 2


def _make(kind: str, variant: int, rng: np.random.Generator) -> np.ndarray:
    x, y = _grid()
    fine = rng.random((TEX_SIZE, TEX_SIZE), dtype=np.float32)
    period = (8, 16, 32)[variant]
    if kind == "plain":
        pattern = np.float32(0.5) + (fine - np.float32(0.5)) * np.float32(0.08 * (variant + 1))
    elif kind == "stripes":
        pattern = _triangle(y / np.float32(period))
    elif kind == "checker":
        cell = (np.floor(x / period) + np.floor(y / period)) % 2
        pattern = cell * np.float32(0.9) + fine * np.float32(0.1)
    elif kind == "noise":
        pattern = _value_noise(rng, (4, 8, 16)[variant]) * np.float32(0.85) + fine * np.float32(0.15)
    elif kind == "wood":
        warp = _value_noise(rng, 4) * np.float32(6)
        dx, dy = (x - 32) * np.float32(0.15), y - 32
        radius = np.sqrt(dx * dx + dy * dy) + warp
        pattern = _triangle(radius / np.float32(period / 2)) * np.float32(0.8) + fine * np.float32(0.2)
    elif kind == "planks":
        plank = np.floor(y / np.float32(period / 2))
        shade = rng.random(TEX_SIZE, dtype=np.float32)[plank.astype(np.intp)]
        grain = _triangle(y / np.float32(3) + _value_noise(rng, 8) * np.float32(2))
        gap = (y - plank * np.float32(period / 2)) < 1
        pattern = np.where(gap, np.float32(0), shade * np.float32(0.6) + grain * np.float32(0.3) + np.float32(0.1))
    elif kind == "tiles":
        grout = ((x % period) < 1) | ((y % period) < 1)
        pattern = np.where(grout, np.float32(1), fine * np.float32(0.15) + _value_noise(rng, 8) * np.float32(0.2))
    else:  # pragma: no cover - TEXTURE_KINDS is closed
        raise ValueError(kind)
    return np.clip(pattern, 0, 1).astype(np.float32)


@functools.lru_cache(maxsize=1)
def texture_bank() -> np.ndarray:
    """All textures, flattened: texture ``k`` of kind ``TEXTURE_KINDS[k // 3]`` starts at ``k * 64²``."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(_BANK_SEED)))
    textures = [_make(kind, v, rng) for kind in TEXTURE_KINDS for v in range(_VARIANTS)]
    bank = np.concatenate([t.ravel() for t in textures])
    bank.setflags(write=False)
    return bank


def texture_index(kind: str, variant: int) -> int:
    """Index of a texture in :func:`texture_bank` (multiply by ``TEX_SIZE**2`` for its offset)."""
    return TEXTURE_KINDS.index(kind) * _VARIANTS + variant


@functools.lru_cache(maxsize=1)
def noise_buffer() -> np.ndarray:
    """Uniform noise in [-0.5, 0.5), read at a random offset per image as sensor noise."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(_BANK_SEED + 1)))
    buf = rng.random(_NOISE_LEN, dtype=np.float32) - np.float32(0.5)
    buf.setflags(write=False)
    return buf


def noise_slice(offset: int, count: int) -> np.ndarray:
    """``count`` noise values starting at ``offset`` (wrapping around the buffer)."""
    buf = noise_buffer()
    offset %= len(buf)
    if offset + count <= len(buf):
        return buf[offset : offset + count]
    if count <= len(buf):
        return np.concatenate([buf[offset:], buf[: offset + count - len(buf)]])
    reps = -(-(offset + count) // len(buf))
    return np.tile(buf, reps)[offset : offset + count]


@functools.lru_cache(maxsize=len(GAMMAS))
def gamma_table(gamma_index: int) -> np.ndarray:
    """uint8 sRGB-like encoding of ``LEVELS`` linear levels with gamma ``GAMMAS[gamma_index]``.

    Built with scalar Python powers (not ``np.power`` on an array, whose SIMD code can differ
    between CPUs) and rounded to uint8, so it is the same table everywhere.
    """
    inv = 1.0 / GAMMAS[gamma_index]
    table = [min(255, int(255.0 * ((i + 0.5) / LEVELS) ** inv + 0.5)) for i in range(LEVELS)]
    out = np.array(table, dtype=np.uint8)
    out.setflags(write=False)
    return out
