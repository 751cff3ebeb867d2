"""Sync lag: how long after a write is acknowledged it becomes searchable, at a steady rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchlib.stats import summary_ms

__all__ = ["sync_lag"]


async def sync_lag(
    write: Callable[[int], Awaitable[Any]],
    searchable: Callable[[int], Awaitable[bool]],
    *,
    rate: int,
    seconds: float,
    sample_every: int = 10,
    count_over_ms: float | None = None,
    max_backlog_s: float = 5.0,
) -> dict[str, Any]:
    """Start ``write(i)`` ``rate`` times a second for ``seconds``; for every
    ``sample_every``-th, time its acknowledgement → ``searchable(i)`` returning True.

    Writes are started on schedule whether or not earlier ones finished (an open-loop load,
    so a slow server shows as lag, not as a lower rate). Sampling keeps the measurement's own
    load small next to the writes it measures. ``searchable`` waits (or polls) until write
    ``i`` can be found, and returns False if it gave up; those count as ``not_searchable``.
    ``count_over_ms``: also count the lags of at least that many milliseconds.

    When more than ``max_backlog_s`` seconds' worth of writes wait for their acknowledgement,
    the server cannot take the rate: no more writes start (``sustained`` is False), so the run
    ends instead of queueing for minutes, and the lags describe the rate it did take.
    """
    lags: list[float] = []
    missed = acked_writes = 0

    async def one(i: int) -> None:
        nonlocal missed, acked_writes
        await write(i)
        acked = time.perf_counter()
        acked_writes += 1
        if i % sample_every == 0:
            if await searchable(i):
                lags.append((time.perf_counter() - acked) * 1000)
            else:
                missed += 1

    tasks: list[asyncio.Task[None]] = []
    sustained = True
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        if len(tasks) - acked_writes > rate * max_backlog_s:
            sustained = False
            break
        tasks.append(asyncio.create_task(one(i)))
        delay = start + (i + 1) / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return {
        "writes_per_s": round(len(tasks) / elapsed),
        "target_writes_per_s": rate,
        "sustained": sustained,
        "writes": len(tasks),
        "seconds": round(elapsed, 1),
        "not_searchable": missed,
        **(
            {}
            if count_over_ms is None
            else {f"at_least_{count_over_ms:.0f}_ms": sum(lag >= count_over_ms for lag in lags)}
        ),
        **(summary_ms(lags) if lags else {"n": 0}),
    }
