"""riskmap.indicators.density as it was before the difference array (commit bde0744): the
reference the tests and ``benchmarks/bench_density.py`` compare the new code with."""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

__all__ = ["density_before"]


def density_before(x, y, grid, *, radius, weights=None):
    """riskmap.indicators.density before the difference array (commit bde0744): the code
    verbatim, its comments left out."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    s = grid.cell_size
    n = int(math.ceil(radius / s)) + 1
    pg = grid.pad(n)
    row, col, inside = pg.rowcol(x, y)
    ok = inside & np.isfinite(w)
    row, col, x, y, w = row[ok], col[ok], x[ok], y[ok], w[ok]
    fx = (x - (pg.x0 + col * s)) / s
    fy = ((pg.y1 - (row + 1) * s) - y) / -s
    H, W = pg.shape
    binned = np.bincount(row * W + col, weights=w, minlength=H * W).reshape(H, W)
    rr = radius / s
    k = np.arange(-n, n + 1)
    DJ, DK = np.meshgrid(k, k)
    far = (np.abs(DJ) + 0.5) ** 2 + (np.abs(DK) + 0.5) ** 2 <= rr**2
    near = np.maximum(np.abs(DJ) - 0.5, 0) ** 2 + np.maximum(np.abs(DK) - 0.5, 0) ** 2 <= rr**2
    ring = near & ~far
    total = np.zeros((H, W))
    if far.any():
        kernel = far[::-1, :].astype(float)
        total += signal.fftconvolve(binned, kernel, mode="same")
        if weights is None or np.all(np.mod(w, 1) == 0):
            total = np.round(total)
    flat = np.zeros(H * W)
    idx_parts: list[np.ndarray] = []
    w_parts: list[np.ndarray] = []
    pending = 0
    for dj, dk in zip(DJ[ring], DK[ring], strict=True):
        hit = (dj + 0.5 - fx) ** 2 + (dk + 0.5 - fy) ** 2 <= rr**2
        tr = row[hit] - dk
        tc = col[hit] + dj
        good = (tr >= 0) & (tr < H) & (tc >= 0) & (tc < W)
        idx_parts.append(tr[good] * W + tc[good])
        w_parts.append(w[hit][good])
        pending += idx_parts[-1].size
        if pending > 16_000_000:
            flat += np.bincount(np.concatenate(idx_parts), weights=np.concatenate(w_parts),
                                minlength=H * W)
            idx_parts, w_parts, pending = [], [], 0
    if idx_parts:
        flat += np.bincount(np.concatenate(idx_parts), weights=np.concatenate(w_parts),
                            minlength=H * W)
    total += flat.reshape(H, W)
    area_km2 = math.pi * radius**2 / 1e6
    return np.maximum(total[n:-n, n:-n], 0.0) / area_km2
