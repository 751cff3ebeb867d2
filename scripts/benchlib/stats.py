"""Latency summaries and the load average, the same way in every benchmark."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["load_average", "percentile", "summary_ms", "timed_calls"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 < q < 1) by the nearest rank below, as the older scripts did."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary_ms(samples_ms: Sequence[float]) -> dict[str, float]:
    """n, p50, p95, p99 and max of latencies in milliseconds."""
    return {
        "n": len(samples_ms),
        "p50_ms": round(statistics.median(samples_ms), 2),
        "p95_ms": round(percentile(samples_ms, 0.95), 2),
        "p99_ms": round(percentile(samples_ms, 0.99), 2),
        "max_ms": round(max(samples_ms), 2),
    }


async def timed_calls(times: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    """Run ``call(i)`` for i in range(times), one at a time; each call's milliseconds."""
    samples = []
    for i in range(times):
        start = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded (printed next to every figure)."""
    return [round(x, 2) for x in os.getloadavg()]
