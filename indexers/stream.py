"""The ``customers`` change stream, read event by event and cut into batches.

:class:`ChangeFeed` opens the stream (``fullDocument: "updateLookup"``, resumed after a saved
token), collects events into the pending batch and says after each read whether the batch is
due: at the end of a small server reply (the stream's end: flush now, for latency), when it
holds ``batch_size`` events, or when its oldest event waited ``flush_interval`` seconds (a
backlog: big batches, for throughput). How it sees the server's replies is
:mod:`indexers.driver`. Applying the batch and saving the position are the sync loop's
(:mod:`indexers.sync`); the feed only reads.

Events of a document carry only the fields the index needs (``$project`` to
:data:`DOC_FIELDS`, so no event grows past 16 MB with addresses; the metadata, bounded by the
input limits, is part of the response document the index stores), except on
SecantusDB, which evaluates every pipeline stage per event in Python (measured: 20,000 events
read in 2.4 s plain, 4.7 s projected).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

from indexers.documents import DOC_FIELDS
from indexers.driver import missing_internals, next_change
from indexers.mongo import ServerTraits
from indexers.oplog import HistoryLost, is_history_lost, scoped_token

if TYPE_CHECKING:
    from pymongo.asynchronous.change_stream import AsyncChangeStream

__all__ = ["DOC_FIELDS", "PIPELINE", "ChangeFeed", "Read", "StreamEnded"]

log = logging.getLogger("customers.indexer")


PIPELINE = [
    {
        "$project": {
            "operationType": 1,
            "clusterTime": 1,
            "documentKey": 1,
            **{f"fullDocument.{name}": 1 for name in DOC_FIELDS},
        }
    }
]
"""Only the indexed fields travel (an event carrying a whole document could pass 16 MB)."""

SHORT_AWAIT_MS = 2  # the getMore right after a flush or once the buffer is used up
TAIL_BATCH = 64  # a server reply with fewer events means "at the end of the stream": flush
END_EVENTS = frozenset({"invalidate", "drop", "rename", "dropDatabase"})


class StreamEnded(HistoryLost):
    """The watched collection was dropped or renamed (or the stream invalidated)."""


class Read(NamedTuple):
    """What one :meth:`ChangeFeed.read` found."""

    at_end: bool  # no new event: the end of the stream for now
    due: bool  # the pending batch should be applied now
    exact: bool  # the resume token is exactly at the batch's last event (else: inside it)


class ChangeFeed:
    """The change stream of ``collection``, with the batch read from it and not yet applied.

    :param server: decides whether events are projected (see the module docstring).
    :param batch_size: a batch is due at this many events (also the ``getMore`` batch size).
    :param flush_interval: a batch is due when its oldest event waited this long, seconds.
    :param max_await_ms: how long an idle ``getMore`` waits (any write wakes it earlier).
    :param project_events: ``$project`` events to :data:`DOC_FIELDS`; None: not on SecantusDB.
    """

    def __init__(
        self,
        collection: AsyncCollection[Any],
        server: ServerTraits,
        *,
        batch_size: int,
        flush_interval: float,
        max_await_ms: int,
        project_events: bool | None,
    ) -> None:
        self.collection = collection
        self.server = server
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_await_ms = max_await_ms
        self.project_events = project_events
        self.pending: list[Mapping[str, Any]] = []  # read, not yet applied (the open batch)
        self._stream: AsyncChangeStream[Any] | None = None
        self._short = False  # the next getMore waits SHORT_AWAIT_MS
        self._buffered = True  # the driver holds more events of the last server reply
        self._first_pending_at = 0.0
        self._in_server_batch = 0  # events received from the current server reply
        self._warned = False

    def __repr__(self) -> str:
        return f"<ChangeFeed {self.collection.full_name} pending={len(self.pending)}>"

    @property
    def resume_token(self) -> Any:
        """The driver's resume token: past every event read so far (and idle entries)."""
        return None if self._stream is None else self._stream.resume_token

    async def open(self, token: Any) -> None:
        """(Re)open the stream after ``token`` (None: at the current end); the batch is dropped.

        :raise OperationFailure: e.g. the token fell off the oplog (see ``is_history_lost``).
        """
        await self.close()
        self.pending = []
        self._short = False
        self._buffered = True
        self._in_server_batch = 0
        resume_after = None if token is None else scoped_token(token, self.collection.full_name)
        self._stream = await self.collection.watch(
            await self._pipeline(),
            full_document="updateLookup",
            resume_after=resume_after,
            max_await_time_ms=self.max_await_ms,
            batch_size=self.batch_size,
        )
        missing = missing_internals(self._stream)
        if missing and not self._warned:
            self._warned = True
            log.warning(
                "this PyMongo lacks %s: batches flush by size and time only (see "
                "indexers/driver.py)",
                ", ".join(missing),
            )

    async def read(self) -> Read:
        """Read one event into the batch, or learn that there is none for now.

        :raise HistoryLost: the position fell off the oplog while reading.
        :raise StreamEnded: the collection was dropped or renamed (the batch is kept).
        """
        assert self._stream is not None, "open() first"
        short = self._short or (bool(self.pending) and not self._buffered)
        self._short = False
        try:
            change, self._buffered = await next_change(
                self._stream, max_await_ms=SHORT_AWAIT_MS if short else self.max_await_ms
            )
        except OperationFailure as exc:
            if is_history_lost(exc):
                raise HistoryLost(f"history lost while reading: {exc}") from exc
            raise
        if change is None:
            self._in_server_batch = 0
            return Read(at_end=True, due=bool(self.pending), exact=True)
        if change.get("operationType") in END_EVENTS:
            raise StreamEnded(f"change stream ended by {change.get('operationType')!r}")
        if not self.pending:
            self._first_pending_at = time.monotonic()
        self.pending.append(change)
        self._in_server_batch += 1
        drained = not self._buffered
        # A small server reply means we are at the end of the stream: flush now (latency).
        # A big one means a backlog: keep filling the batch (throughput).
        tail = drained and self._in_server_batch < TAIL_BATCH
        if drained:
            self._in_server_batch = 0
        due = (
            tail
            or len(self.pending) >= self.batch_size
            or time.monotonic() - self._first_pending_at >= self.flush_interval
        )
        return Read(at_end=False, due=due, exact=drained)

    def applied(self) -> None:
        """The pending batch is applied: start a new one (the next getMore waits briefly)."""
        self.pending = []
        self._short = True

    def expect_own_write(self) -> None:
        """Our own write (a checkpoint) is in the oplog: the next getMore waits briefly, so the
        position moves past it at once instead of after ``max_await_ms``."""
        self._short = True

    async def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.close()

    async def _pipeline(self) -> list[dict[str, Any]]:
        if self.project_events is None:
            self.project_events = not await self.server.embedded()
        return PIPELINE if self.project_events else []
