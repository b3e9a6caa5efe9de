"""Deterministic numpy/scipy building blocks of the edge benchmark.

Non-maximum suppression of an edge-probability map along the ridge normal, Zhang–Suen
thinning of binary maps, and the count of predicted edge pixels that a maximum bipartite
matching pairs with ground-truth edge pixels within a distance tolerance (what BSDS's
``correspondPixels`` counts; its min-cost assignment only changes *which* pixels pair up).

The matching is a unit-capacity maximum flow (Dinic, ``scipy.sparse.csgraph.maximum_flow``),
which is Hopcroft–Karp in all but name. ``scipy.sparse.csgraph.maximum_bipartite_matching``
is not used: its DFS never marks dead ends, so it takes exponential time on layered graphs
(scipy issue #26147) — and pixel chains along parallel edges are exactly such graphs (a
1000-pixel image pair took over 20 s with it; Dinic takes ~3 ms).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow


def ridge_normal(prob: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """Angle (radians, x = columns, y = rows) across the edge ridge at every pixel.

    The eigenvector of the most negative curvature of the Hessian of the smoothed map,
    which stays well defined on the ridge itself where the gradient vanishes (the idea of
    Dollár's ``edgesNms`` orientation, without its degenerate case on axis-aligned edges).
    """
    smooth = ndimage.gaussian_filter(prob.astype(np.float64), sigma, mode="nearest")
    gy, gx = np.gradient(smooth)
    gxy, gxx = np.gradient(gx)
    gyy, gyx = np.gradient(gy)
    largest = 0.5 * np.arctan2(gxy + gyx, gxx - gyy)  # direction of the larger eigenvalue
    return largest + np.pi / 2


def non_max_suppression(prob: np.ndarray, floor: float, sigma: float = 2.0, slack: float = 1.01) -> np.ndarray:
    """Keep pixels ``>= floor`` not exceeded by their neighbours one step along the ridge normal.

    As in ``edgesNms``: neighbours are bilinearly interpolated (clamped at the border) and a
    pixel survives when ``value × slack >= neighbour``, so flat-topped ridges (e.g. a binary
    2-pixel-wide prediction) are kept whole. Suppressed pixels become 0.
    """
    ys, xs = np.nonzero(prob >= floor)
    out = np.zeros_like(prob, dtype=np.float64)
    if ys.size == 0:
        return out
    theta = ridge_normal(prob, sigma)[ys, xs]
    dy, dx = np.sin(theta), np.cos(theta)
    values = prob[ys, xs].astype(np.float64)
    keep = np.ones(ys.size, dtype=bool)
    source = prob.astype(np.float64)
    for step in (-1.0, 1.0):
        coords = np.stack([ys + step * dy, xs + step * dx])
        neighbour = ndimage.map_coordinates(source, coords, order=1, mode="nearest")
        keep &= values * slack >= neighbour
    out[ys[keep], xs[keep]] = values[keep]
    return out


# Neighbours P2..P9 of Zhang–Suen as (dy, dx): north, then clockwise.
_NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _thinning_tables() -> tuple[np.ndarray, np.ndarray]:
    """Zhang–Suen deletion tables of the two sub-iterations, indexed by the 8-bit neighbour code."""
    codes = np.arange(256)
    bits = (codes[:, None] >> np.arange(8)) & 1  # column i: neighbour P(i+2) is on
    count = bits.sum(1)
    transitions = ((bits == 0) & (np.roll(bits, -1, axis=1) == 1)).sum(1)
    p2, p4, p6, p8 = bits[:, 0], bits[:, 2], bits[:, 4], bits[:, 6]
    base = (count >= 2) & (count <= 6) & (transitions == 1)
    first = base & (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
    second = base & (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
    return first, second


_THIN_TABLES = _thinning_tables()


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang–Suen thinning of a binary mask to 1-pixel-wide curves (iterated to convergence).

    Each sub-iteration re-examines only the pixels whose 8-neighbourhood changed since that
    sub-iteration last saw them (the others would get the same answer), so the cost follows
    the number of edge pixels and of deletions, not the number of passes.
    """
    image = np.pad(mask.astype(bool), 1).astype(np.int64)
    h, w = image.shape
    offsets = np.array([dy * w + dx for dy, dx in _NEIGHBOURS], dtype=np.int64)
    flat = image.reshape(-1)
    on = np.flatnonzero(flat)
    dirty = [on, on]  # pixels each sub-iteration must (re)examine
    idle = 0
    which = 0
    while idle < 2:
        candidates = dirty[which]
        candidates = candidates[flat[candidates] == 1]
        dirty[which] = candidates[:0]
        code = np.zeros(candidates.size, dtype=np.int64)
        for bit, offset in enumerate(offsets):
            code |= flat[candidates + offset] << bit
        deleted = candidates[_THIN_TABLES[which][code]]
        if deleted.size:
            flat[deleted] = 0
            touched = np.unique((deleted[:, None] + offsets[None, :]).reshape(-1))
            touched = touched[flat[touched] == 1]
            dirty = [np.union1d(d, touched) for d in dirty]
            idle = 0
        else:
            idle += 1
        which = 1 - which
    return image[1:-1, 1:-1].astype(bool)


def _disc_offsets(radius: float) -> np.ndarray:
    """Integer (dy, dx) with dy² + dx² <= radius²."""
    r = int(np.floor(radius))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    inside = dy**2 + dx**2 <= radius**2 + 1e-9
    return np.stack([dy[inside], dx[inside]], axis=1)


def candidate_pairs(ys: np.ndarray, xs: np.ndarray, gt: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(prediction index, ground-truth index) for every pair within ``radius`` pixels."""
    gt_index = np.full(gt.shape, -1, dtype=np.int64)
    gy, gx = np.nonzero(gt)
    gt_index[gy, gx] = np.arange(gy.size)
    h, w = gt.shape
    rows, cols = [], []
    for dy, dx in _disc_offsets(radius):
        yy, xx = ys + dy, xs + dx
        inside = np.flatnonzero((yy >= 0) & (yy < h) & (xx >= 0) & (xx < w))
        hit = gt_index[yy[inside], xx[inside]]
        found = hit >= 0
        rows.append(inside[found])
        cols.append(hit[found])
    return np.concatenate(rows), np.concatenate(cols)


def matched_counts(
    edge_map: np.ndarray, gt: np.ndarray, thresholds: np.ndarray, radius: float, thin_pred: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per threshold t: (matched prediction pixels, prediction pixels) of ``edge_map >= t``.

    ``gt`` is the binary ground truth; a prediction pixel and a ground-truth pixel may pair
    when their distance is ``<= radius``; each pixel pairs at most once (maximum matching).
    With ``thin_pred`` each thresholded map is thinned to 1-pixel curves first.
    """
    ys, xs = np.nonzero(edge_map >= thresholds[0])
    chosen_pixels = [_predicted(edge_map, ys, xs, t, thin_pred) for t in thresholds]
    n_pred = np.array([int(c.sum()) for c in chosen_pixels], dtype=np.int64)
    matched = np.zeros(thresholds.size, dtype=np.int64)
    if ys.size == 0 or not gt.any():
        return matched, n_pred
    rows, cols = candidate_pairs(ys, xs, gt, radius)
    if rows.size == 0:
        return matched, n_pred
    row_ids, rows = np.unique(rows, return_inverse=True)
    col_ids, cols = np.unique(cols, return_inverse=True)
    for i, pixels in enumerate(chosen_pixels):
        chosen = pixels[row_ids][rows]
        if chosen.any():
            matched[i] = maximum_matching_size(rows[chosen], cols[chosen], row_ids.size, col_ids.size)
    return matched, n_pred


def _predicted(edge_map: np.ndarray, ys: np.ndarray, xs: np.ndarray, t: float, thin_pred: bool) -> np.ndarray:
    """Which of the pixels (ys, xs) are predicted edges at threshold ``t``."""
    if not thin_pred:
        return edge_map[ys, xs] >= t
    return thin(edge_map >= t)[ys, xs]


def maximum_matching_size(rows: np.ndarray, cols: np.ndarray, num_rows: int, num_cols: int) -> int:
    """Size of a maximum matching of the bipartite graph with edges ``(rows[k], cols[k])``.

    Solved as a unit-capacity max flow source -> row -> column -> sink (Dinic).
    """
    sink = num_rows + num_cols + 1
    tail = np.concatenate([np.zeros(num_rows, np.int64), 1 + rows, 1 + num_rows + np.arange(num_cols)])
    head = np.concatenate([1 + np.arange(num_rows), 1 + num_rows + cols, np.full(num_cols, sink)])
    graph = csr_matrix((np.ones(tail.size, np.int32), (tail, head)), shape=(sink + 1, sink + 1))
    return int(maximum_flow(graph, 0, sink, method="dinic").flow_value)
