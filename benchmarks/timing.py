"""Shared timing helper of the benchmark scripts."""

from __future__ import annotations

import statistics
import time


def median_time(fn, repeat: int = 3):
    """Median wall time of ``repeat`` calls of ``fn`` and its last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out
