"""Retry pacing of the sync indexer: exponential backoff with jitter, and a sleep that stops.

Every retry loop of the indexer (a backend write or refresh, a failed session, a failed
reindex) waits with :class:`Backoff` and :func:`sleep_unless_stopped`, so a shutdown never
waits out a long delay and many indexers that failed together do not retry in step.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

__all__ = ["Backoff", "raise_if_cancelled", "sleep_unless_stopped"]


class Backoff:
    """Delays that double from ``initial`` up to ``maximum`` seconds, jittered.

    The delay of attempt *n* is drawn from the upper half of ``initial * 2**(n-1)`` (capped):
    random enough to spread retries out, never so short that a failing backend is hammered.
    """

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum

    def __repr__(self) -> str:
        return f"<Backoff {self.initial}s…{self.maximum}s>"

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1 = the first retry)."""
        cap = min(self.maximum, self.initial * (2 ** min(attempt - 1, 30)))
        return random.uniform(cap / 2, cap)


async def sleep_unless_stopped(seconds: float, stop: asyncio.Event) -> bool:
    """Sleep ``seconds`` unless ``stop`` is set first; return whether it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


def raise_if_cancelled() -> None:
    """Re-raise the cancellation of the current task if a driver error stands in for it.

    Call it where a retry loop catches PyMongo's errors. A task cancelled while a PyMongo
    operation is in flight can get a driver error (the operation's connection closed under
    it) instead of ``CancelledError``; the loop would then retry forever and whoever awaits
    the task would hang. Seen: after a 9 s server stall the lease keeper, cancelled at the end
    of the failed session, went on renewing, so the session never ended and nothing was
    indexed again.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
