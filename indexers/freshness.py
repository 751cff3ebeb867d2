"""Read-your-writes: has the index applied every write committed before a read?

- :func:`probe_head` takes the current *head* of the change stream: a ``$changeStream``
  aggregate with batchSize 0 + killCursors (~1 ms). Its postBatchResumeToken covers every
  write committed before the call, including the one whose response the client already has.
  Positions compare by SecantusDB's oplog sequence in the token (by cluster time on MongoDB):
  a cluster time from ``ping``/``hello`` would not do on SecantusDB, where ``hello`` mints
  cluster times that no oplog entry carries.
- :class:`AppliedPosition` is how far the active indexer has applied the stream, in memory:
  it advances after every flush + refresh and after every empty ``getMore`` (which any write
  wakes at once), so a waiter in the same process waits at most one apply + refresh.
- :func:`wait_for_position` is the same wait from another process (the API while ``customers
  index`` runs separately): it reads ``position`` from the state document and, when that is
  behind, writes a ``wanted_seq`` demand that the active indexer answers by saving its
  position on its next idle cycle.
- :class:`Freshness` is the hook the index reader calls before every index-served read.

Writes never wait for the index; only reads that follow writes do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from indexers.query import NotServable
from indexers.state import IndexerState, Position

__all__ = [
    "COOL_DOWN",
    "FRESHNESS_TIMEOUT",
    "AppliedPosition",
    "Freshness",
    "probe_head",
    "wait_for_position",
]

log = logging.getLogger("customers.search")

FRESHNESS_TIMEOUT = 1.0  # seconds a read waits for the indexer before MongoDB answers it
COOL_DOWN = 5.0  # seconds the index is skipped after it failed to catch up


async def probe_head(database: AsyncDatabase[Any], collection: str = "customers") -> Position:
    """Return the current end of the change stream (covers every write committed before)."""
    reply = await database.command(
        {"aggregate": collection, "pipeline": [{"$changeStream": {}}], "cursor": {"batchSize": 0}}
    )
    cursor = reply.get("cursor", {})
    if cursor.get("id"):
        with contextlib.suppress(PyMongoError):
            await database.command({"killCursors": collection, "cursors": [cursor["id"]]})
    position = Position.from_token(cursor.get("postBatchResumeToken"))
    if position is None:  # unknown token format: fall back to the operation time
        position = Position(reply["operationTime"])
    return position


async def wait_for_position(
    state: IndexerState,
    head: Position,
    timeout: float,  # noqa: ASYNC109
    *,
    poll: float = 0.02,
) -> bool:
    """Wait until the position saved in the state document covers ``head`` (other processes)."""
    deadline = time.monotonic() + timeout
    demanded = False
    while True:
        doc = await state.load()
        saved = Position.from_doc(doc.get("position"))
        if saved is not None and saved.covers(head):
            return True
        if time.monotonic() >= deadline:
            return False
        if not demanded:
            await state.demand(head)
            demanded = True
        await asyncio.sleep(poll)


class AppliedPosition:
    """How far the index is known to hold the change stream (the active indexer's, in memory)."""

    def __init__(self) -> None:
        self.value: Position | None = None
        self._changed = asyncio.Condition()

    def __repr__(self) -> str:
        return f"<AppliedPosition {self.value}>"

    def covers(self, head: Position) -> bool:
        return self.value is not None and self.value.covers(head)

    async def advance(self, position: Position | None) -> None:
        """Everything up to ``position`` is applied and searchable (never moves back)."""
        if position is None or self.covers(position):
            return
        self.value = position
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, head: Position, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until the position covers ``head``; False after ``timeout`` seconds."""
        if self.covers(head):
            return True
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.covers(head)), timeout)
            except TimeoutError:
                return False
        return True


class AppliedWaiter(Protocol):
    """An in-process indexer, as the read side sees it."""

    async def wait_until_applied(self, timeout: float = ...) -> bool: ...  # noqa: ASYNC109


class Freshness:
    """The read-your-writes hook: wait for the indexer, or refuse (→ MongoDB).

    If the index cannot catch up in time (no indexer running, a reindex in progress, the
    backend down) the read is *not* served stale: the hook raises ``NotServable`` and the
    service answers from MongoDB, the correctness baseline. After such a miss the index is
    skipped for :data:`COOL_DOWN` seconds, so a stopped indexer costs one wait, not one per
    request.
    """

    def __init__(
        self,
        database: Any,
        *,
        name: str = "customers",
        indexer: AppliedWaiter | None = None,
        timeout: float = FRESHNESS_TIMEOUT,
    ) -> None:
        self.database = database
        self.state = IndexerState(database, name)
        self.indexer = indexer
        self.timeout = timeout
        self._skip_until = 0.0

    async def __call__(self) -> None:
        if time.monotonic() < self._skip_until:
            raise NotServable("the index is behind; MongoDB answers for now")
        if not await self.applied(self.timeout):
            self._skip_until = time.monotonic() + COOL_DOWN
            log.warning("search index did not catch up within %.1fs; using MongoDB", self.timeout)
            raise NotServable("the index did not catch up in time")

    async def applied(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until the index holds every write committed before this call; False after
        ``timeout`` seconds. No cool-down: an erasure waits here before it answers."""
        if self.indexer is not None:
            return await self.indexer.wait_until_applied(timeout)
        head = await probe_head(self.database)
        return await wait_for_position(self.state, head, timeout)
