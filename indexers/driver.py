"""The one place that reaches into PyMongo's private change-stream attributes.

Why: the sync loop's latency and throughput both depend on knowing, after each event, whether
the server's last reply is used up, and on choosing how long the *next* ``getMore`` may wait:

- at the end of a small reply (fewer than ``TAIL_BATCH`` events) the loop is at the end of
  the stream and flushes at once: a write is searchable within milliseconds;
- in a big reply it keeps filling the batch (a backlog: throughput);
- right after a flush, or with a batch pending once the driver's buffer is used up, the next
  ``getMore`` waits 2 ms instead of ``max_await_ms``: more events come back at once if the
  server has them, else the batch is flushed now (SecantusDB's awaitData ``getMore`` does not
  return early for entries that were already there and do not match).

PyMongo has no public API for either: ``AsyncChangeStream`` exposes neither its buffer nor a
way to change ``maxAwaitTimeMS`` after ``watch()``. :func:`next_change` touches exactly:

- ``AsyncChangeStream._cursor``: the command cursor behind the stream (replaced on a resume);
- ``AsyncCommandCursor._max_await_time_ms``: the ``maxAwaitTimeMS`` of its next ``getMore``;
- ``AsyncCommandCursor._has_next()``: whether events of the last reply are still buffered.

If a driver release renames them, reads stay correct: the ``getMore`` waits the stream's own
``max_await_time_ms`` and the buffer is taken as non-empty, so batches flush by size and time
only (slower to become searchable, up to ``flush_interval``). The change stream logs one
warning naming what is missing (:func:`missing_internals`), and
``tests/indexers/test_driver.py`` fails, naming the attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pymongo.asynchronous.change_stream import AsyncChangeStream

__all__ = ["INTERNALS", "missing_internals", "next_change"]

INTERNALS = (
    "AsyncChangeStream._cursor",
    "AsyncCommandCursor._max_await_time_ms",
    "AsyncCommandCursor._has_next",
)
"""The private attributes :func:`next_change` relies on."""


async def next_change(
    stream: AsyncChangeStream[Any], *, max_await_ms: int
) -> tuple[Mapping[str, Any] | None, bool]:
    """Read the next change, the ``getMore`` (if one is needed) waiting ``max_await_ms``.

    Returns the change (None: nothing new for now) and whether the driver still holds events
    of the server's last reply (True when unknown). See the module docstring for why this
    touches private attributes, and which.
    """
    cursor = getattr(stream, "_cursor", None)
    if cursor is not None and hasattr(cursor, "_max_await_time_ms"):
        cursor._max_await_time_ms = max_await_ms
    change = await stream.try_next()
    has_next = getattr(getattr(stream, "_cursor", None), "_has_next", None)  # a resume renews it
    if has_next is None:
        return change, True
    try:
        return change, bool(has_next())
    except Exception:
        return change, True


def missing_internals(stream: AsyncChangeStream[Any]) -> list[str]:
    """The entries of :data:`INTERNALS` that ``stream`` lacks (empty: all present)."""
    cursor = getattr(stream, "_cursor", None)
    if cursor is None:
        return list(INTERNALS)
    missing = []
    if not hasattr(cursor, "_max_await_time_ms"):
        missing.append(INTERNALS[1])
    if not callable(getattr(cursor, "_has_next", None)):
        missing.append(INTERNALS[2])
    return missing
