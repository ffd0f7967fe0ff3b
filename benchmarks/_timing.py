"""The benchmarks' timing helper (one place for it).

The benchmarks run as scripts (``python benchmarks/NAME.py``), so this folder is on ``sys.path``:
``from _timing import median_seconds``.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """The median wall time (s) of ``repeats`` calls of ``fn``, after ``warmup`` calls left untimed."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
