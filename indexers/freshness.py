"""Read-your-writes: has the index applied every write committed before a read?

- :func:`probe_head` takes the current *head* of the change stream: a ``$changeStream``
  aggregate with batchSize 0 + killCursors (~1 ms). Its postBatchResumeToken covers every
  write committed before the call, including the one whose response the client already has.
- :class:`KeptHead` reads the head in one ``getMore`` (0.6 ms at 1,000,000 customers, where
  opening a stream costs 1.7) on a change stream it keeps open, on SecantusDB; see there.
- :class:`SharedProbe` is that probe shared by concurrent reads: one runs at a time; a read
  uses a probe that *started after the read arrived* (one already running when it arrives may
  predate a write the reader saw acknowledged, so it waits for the next, which the reads
  that arrive meanwhile share). The cursor is killed after the waiters have their position.
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
- :class:`Freshness` is the hook the index reader runs every index-served read through
  (:meth:`Freshness.read`). When this process runs the active indexer, the probe and the read
  run at once: the position applied *before* the read began is a lower bound of what the read
  sees (the indexer advances it only once its writes are searchable), so when it covers the
  head the answer stands; when it does not (a write landed meanwhile), the read waits for the
  indexer and runs again. The server's part of the probe's round trip then costs the read
  nothing (its client part still shares the interpreter lock with the read's Python work).

Writes never wait for the index; only reads that follow writes do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from app.timing import timed
from indexers.mongo import ServerTraits
from indexers.query import NotServable
from indexers.state import IndexerState, Position

__all__ = [
    "COOL_DOWN",
    "FRESHNESS_TIMEOUT",
    "AppliedPosition",
    "Freshness",
    "KeptHead",
    "SharedProbe",
    "probe_head",
    "wait_for_head",
    "wait_for_position",
]

log = logging.getLogger("customers.search")

T = TypeVar("T")

FRESHNESS_TIMEOUT = 1.0  # seconds a read waits for the indexer before MongoDB answers it
COOL_DOWN = 5.0  # seconds the index is skipped after it failed to catch up


async def probe_head(database: AsyncDatabase[Any], collection: str = "customers") -> Position:
    """Return the current end of the change stream (covers every write committed before)."""
    position, cursor_id = await _open_head(database, collection)
    await _kill(database, collection, cursor_id)
    return position


async def _open_head(database: AsyncDatabase[Any], collection: str) -> tuple[Position, int]:
    """The head of the change stream, and the id of the cursor that read it (0: none left)."""
    reply = await database.command(
        {"aggregate": collection, "pipeline": [{"$changeStream": {}}], "cursor": {"batchSize": 0}}
    )
    cursor = reply.get("cursor", {})
    position = Position.from_token(cursor.get("postBatchResumeToken"))
    if position is None:  # unknown token format: fall back to the operation time
        position = Position(reply["operationTime"])
    return position, int(cursor.get("id") or 0)


async def _kill(database: AsyncDatabase[Any], collection: str, cursor_id: int) -> None:
    if cursor_id:
        with contextlib.suppress(PyMongoError):
            await database.command({"killCursors": collection, "cursors": [cursor_id]})


class KeptHead:
    """The head of the change stream, from a stream kept open between probes (SecantusDB).

    A ``getMore`` with ``maxTimeMS: 0`` scans the stream to its end and returns at once; when
    its batch is not full it reached that end, so its ``postBatchResumeToken`` covers every
    write committed before the call (a non-empty batch's token is its last event's, which is
    then the last write to the collection). That rests on how SecantusDB 0.7 reads a stream
    (``secantus/commands.py``): each drain reads the oplog from the stream's position up to
    200 entries of the collection or to the visible end, whichever comes first, skipping other
    collections' entries (an empty result moves the token to where it looked); so a batch of
    fewer than :attr:`BATCH` (< 200) events was the whole rest of the stream. A full batch
    means many writes since the last probe: rather than read them all, the stream is dropped
    and a new one opened at the head, as is a stream the server lost (killed, timed out, its
    history pruned).

    MongoDB keeps the open-and-kill probe: what its ``getMore`` does at ``maxTimeMS: 0`` on a
    stream (wait for events or not; which token an empty batch carries) was not verified here.
    Not safe for concurrent use (:class:`SharedProbe` runs one probe at a time).
    """

    BATCH = 64  # below the 200 entries a SecantusDB drain reads at most (see above)

    def __init__(self, database: AsyncDatabase[Any], collection: str) -> None:
        self.database = database
        self.collection = collection
        self.cursor_id = 0
        self.reopened = 0  # streams opened (tests read it)

    async def read(self) -> Position:
        if self.cursor_id:
            position = await self._next()
            if position is not None:
                return position
        self.reopened += 1
        position, self.cursor_id = await _open_head(self.database, self.collection)
        return position

    async def _next(self) -> Position | None:
        """The head from the kept stream (None: it is gone or fell behind; it was dropped)."""
        cursor_id, self.cursor_id = self.cursor_id, 0
        try:
            reply = await self.database.command(
                {
                    "getMore": cursor_id,
                    "collection": self.collection,
                    "batchSize": self.BATCH,
                    "maxTimeMS": 0,
                }
            )
        except PyMongoError:
            return None
        cursor = reply.get("cursor", {})
        position = Position.from_token(cursor.get("postBatchResumeToken"))
        if position is None or len(cursor.get("nextBatch", ())) >= self.BATCH:
            await _kill(self.database, self.collection, cursor_id)
            return None
        self.cursor_id = cursor_id
        return position

    async def close(self) -> None:
        cursor_id, self.cursor_id = self.cursor_id, 0
        await _kill(self.database, self.collection, cursor_id)


class SharedProbe:
    """:func:`probe_head` shared by concurrent reads, never with a read that arrived after the
    shared probe started (see the module docstring).

    Under load the probes run back to back and each read waits for at most two of them; alone,
    a read waits for one, as with :func:`probe_head`, minus the cursor kill, which runs after
    the position is handed out. On SecantusDB the probe is a :class:`KeptHead`'s.
    """

    def __init__(
        self,
        database: AsyncDatabase[Any],
        collection: str = "customers",
        traits: ServerTraits | None = None,
    ) -> None:
        self.database = database
        self.collection = collection
        self.traits = traits or ServerTraits(database)  # shared: its buildInfo is asked once
        self.kept = KeptHead(database, collection)
        self.probes = 0  # how many ran (tests and benchmarks read it)
        self._running: asyncio.Future[Position] | None = None
        self._next: asyncio.Future[Position] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self) -> Position:
        """The head of the change stream, from a probe that started after this call."""
        if self._running is None:
            waited = self._start(asyncio.get_running_loop().create_future())
        else:  # running since before this call: take the next one
            if self._next is None:
                self._next = asyncio.get_running_loop().create_future()
            waited = self._next
        return await asyncio.shield(waited)

    def _start(self, result: asyncio.Future[Position]) -> asyncio.Future[Position]:
        result.add_done_callback(_retrieve)
        self._running = result
        task = asyncio.get_running_loop().create_task(self._probe(result))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return result

    async def _probe(self, result: asyncio.Future[Position]) -> None:
        cursor_id, cancelled = 0, False
        try:
            self.probes += 1
            if await self.traits.embedded():
                position = await self.kept.read()
            else:
                position, cursor_id = await _open_head(self.database, self.collection)
            result.set_result(position)
        except asyncio.CancelledError:  # the loop is closing
            cancelled = True
            result.cancel()
            raise
        except Exception as exc:  # every waiter sees the failure, as its own probe would
            result.set_exception(exc)
        finally:
            self._running = None
            waiting, self._next = self._next, None
            if waiting is not None:
                if cancelled:
                    waiting.cancel()
                else:
                    self._start(waiting)
        await _kill(self.database, self.collection, cursor_id)


def _retrieve(future: asyncio.Future[Position]) -> None:
    """Mark a shared probe's failure seen (its waiters may all have been cancelled)."""
    if not future.cancelled():
        future.exception()


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


async def wait_for_head(
    head: Position,
    state: IndexerState,
    indexer: AppliedWaiter | None,
    timeout: float,  # noqa: ASYNC109
) -> bool:
    """Wait until everything up to ``head`` is applied: on the active indexer's in-memory
    position when this process runs it, else on the position saved in ``state``."""
    if indexer is not None:
        applied = await indexer.wait_in_memory(head, timeout)
        if applied is not None:
            return applied
    return await wait_for_position(state, head, timeout)


class AppliedWaiter(Protocol):
    """An in-process indexer, as the read side sees it."""

    async def wait_in_memory(self, head: Position, timeout: float) -> bool | None: ...  # noqa: ASYNC109

    def applied_now(self) -> Position | None:
        """How far the index holds the stream now (None: this process is not the active
        indexer, or it is behind the stream or has applied nothing yet)."""
        ...


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
        self.head = SharedProbe(database)
        self.indexer = indexer
        self.timeout = timeout
        self._skip_until = 0.0

    async def read(self, read: Callable[[], Awaitable[T]]) -> T:
        """``read()``'s answer, holding every write committed before this call (else raise
        ``NotServable``). With the active indexer in this process the probe and the read run
        at once (see the module docstring); else the read waits for the probe first."""
        self._check_cool_down()
        probe = asyncio.ensure_future(self.head())  # a probe that starts after this call
        applied = None if self.indexer is None else self.indexer.applied_now()
        if applied is not None:
            try:
                answer = await read()
            except BaseException:
                probe.cancel()
                raise
            head = await timed("freshness", probe)
            if applied.covers(head):
                return answer
        else:
            head = await timed("freshness", probe)
        await timed("freshness", self._wait(head))
        return await read()

    def _check_cool_down(self) -> None:
        if time.monotonic() < self._skip_until:
            raise NotServable("the index is behind; MongoDB answers for now")

    async def _wait(self, head: Position) -> None:
        """Wait until ``head`` is applied; after :attr:`timeout`, refuse and cool down."""
        if not await wait_for_head(head, self.state, self.indexer, self.timeout):
            self._skip_until = time.monotonic() + COOL_DOWN
            log.warning("search index did not catch up within %.1fs; using MongoDB", self.timeout)
            raise NotServable("the index did not catch up in time")

    async def applied(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until the index holds every write committed before this call; False after
        ``timeout`` seconds. No cool-down: an erasure waits here before it answers."""
        head = await self.head()  # on this (the API's) client: it fails fast
        return await wait_for_head(head, self.state, self.indexer, timeout)
