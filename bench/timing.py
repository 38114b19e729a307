"""Timing helper shared by the benchmarks: medians of repeated runs."""

import statistics
import time


def times(function, runs):
    """Wall-clock seconds of ``runs`` calls of ``function``."""
    measured = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        measured.append(time.perf_counter() - start)
    return measured


def median_time(function, runs):
    """Median wall-clock seconds of ``runs`` calls of ``function``."""
    return statistics.median(times(function, runs))
