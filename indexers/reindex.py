"""Zero-downtime full reindex: build a new generation from MongoDB while sync keeps running.

One implementation, three callers: the indexer itself (no checkpoint, history lost, invalidate),
``customers reindex`` and ``scripts/reindex.py`` (:func:`indexers.cli.run_reindex`).

Steps (:func:`reindex_live`, run as a task *inside the active indexer*, beside its sync loop,
by :class:`indexers.reindex_runner.ReindexRunner`; it works with the parts of that indexer
named in :class:`LiveIndex`, nothing else):

1. **Position first.** The sync loop's stream is already open (on history lost it is re-opened
   *before* the copy starts), and the new generation is added as an extra write target of that
   loop before anything is copied: every event flushed from then on goes to both generations.
   Whatever was flushed earlier was committed in MongoDB before the copy reads it.
2. **Copy** ``customers`` in ``_id`` order (one cursor; projected to the indexed fields on
   MongoDB) with a progress callback (count, rate, ETA), through
   :meth:`SearchBackend.bulk_load` (:func:`indexers.backfill.copy_collection`): the generation
   is fresh, so there are no version lookups and no per-document deletes, and tantivy commits
   every 250,000 documents. Each page is written at version ``cluster time before the read -
   5 s``, so any event of that time or later wins, and an event older than that is already in
   what the copy read.
3. **Barrier + verify.** Wait until the sync loop has applied everything up to the stream head,
   then compare counts (MongoDB vs the new generation); if concurrent writes keep them apart,
   compare the id sets and re-check the differing ids after another barrier.
4. **Activate** (tantivy: atomic ``ACTIVE`` file replace; Elasticsearch: one alias swap), stop
   the dual write, **drop** the old generation, clear ``reindex_required``.

Searches read the old generation until step 4. Writes are never lost: the sync loop applies them
to the old one (readers) and the new one (after the switch) alike; versions make the double
application harmless.

If an indexer is active in another process, ``customers reindex`` asks it (a request field in
``indexer_state``) and follows its progress there; otherwise it takes the lease itself and runs
the indexer in burst mode with a reindex.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from app.erasure_records import erased_among
from indexers.apply import IndexWriter
from indexers.backends.base import SearchBackend
from indexers.backfill import copy_collection
from indexers.documents import DOC_FIELDS
from indexers.lease import active_holder
from indexers.mongo import ServerTraits
from indexers.state import FIRST_BUILD, IndexerState, LeaseLost

__all__ = [
    "LiveIndex",
    "ProgressReport",
    "ReindexError",
    "ReindexReport",
    "drop_leftovers",
    "drop_quietly",
    "record_reindex",
    "reindex_live",
    "request_reindex_and_wait",
]

log = logging.getLogger("customers.indexer.reindex")

Progress = Callable[[int, int], None]


class ReindexError(Exception):
    """The rebuilt generation does not match MongoDB; the old one stays active."""


@dataclass
class ReindexReport:
    """What a finished reindex did."""

    generation: str
    previous: str | None
    copied: int
    count: int
    seconds: float
    reason: str

    @property
    def docs_per_second(self) -> float:
        return self.copied / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class LiveIndex:
    """What a live reindex works with: these parts of the running indexer, nothing else."""

    backend: SearchBackend
    state: IndexerState
    owner: str  # fences the state writes
    collection: AsyncCollection[Any]
    server: ServerTraits
    writer: IndexWriter  # the sync loop's writes: the dual-write target is added to them
    wait_until_applied: Callable[[float], Awaitable[bool]]  # the barrier
    active: Callable[[], bool]  # the sync loop runs and the lease is not known lost
    copy_batch_size: int = 5000


async def _barrier(live: LiveIndex, *, timeout: float = 600.0) -> None:  # noqa: ASYNC109
    """Wait until the sync loop has applied everything committed before this call."""
    deadline = time.monotonic() + timeout
    while not await live.wait_until_applied(5.0):
        if not live.active():
            raise LeaseLost("the indexer stopped during the reindex")
        if time.monotonic() > deadline:
            raise ReindexError("the sync loop did not catch up within the reindex barrier")


async def _verify(live: LiveIndex, target: SearchBackend) -> int:
    """Check the new generation against MongoDB; return the document count."""
    collection = live.collection
    for _ in range(4):
        await _barrier(live)
        await target.refresh()
        expected = await live.server.count(collection)
        actual = await target.count()
        if expected == actual:
            return actual
        await asyncio.sleep(0.2)
    # Counts keep moving (a busy writer), some documents were dead-lettered, or an erased
    # customer is back in MongoDB (a restored backup) and kept out of the index: compare ids.
    dead = {
        d["customer_id"]
        async for d in live.state.dead_letters.find({"index": live.state.name}, {"customer_id": 1})
    }
    mongo_ids = {d["_id"] async for d in collection.find({}, {"_id": 1})}
    index_ids = set(await target.versions(None))
    erased = await erased_among(collection.database, mongo_ids - index_ids)  # never indexed
    differing = (mongo_ids ^ index_ids) - dead - erased
    for _ in range(3):
        if not differing:
            return await target.count()
        await _barrier(live)
        await target.refresh()
        still: set[str] = set()
        for customer_id in differing:
            in_mongo = await collection.find_one({"_id": customer_id}, {"_id": 1}) is not None
            in_index = bool(await target.versions([customer_id]))
            if in_mongo != in_index:
                still.add(customer_id)
        differing = still
        if differing:
            await asyncio.sleep(0.5)
    raise ReindexError(
        f"{len(differing)} customers differ between MongoDB and the rebuilt index, e.g. "
        f"{sorted(differing)[:5]}"
    )


class ProgressReport:
    """Copy progress: to the caller's callback at once, to the state document at most every
    0.5 s (``customers reindex`` and ``index status`` in another process follow it there)."""

    def __init__(
        self,
        state: IndexerState,
        owner: str,
        generation: str,
        reason: str,
        progress: Progress | None,
        started_at: datetime,
    ) -> None:
        self.state = state
        self.owner = owner
        self.generation = generation
        self.reason = reason
        self.progress = progress
        self.started_at = started_at
        self._last = 0.0
        self._pending: list[asyncio.Future[None]] = []

    async def save(self, copied: int, total: int) -> None:
        await self.state.fenced_set(
            self.owner,
            {
                "reindex": {
                    "generation": self.generation,
                    "reason": self.reason,
                    "copied": copied,
                    "total": total,
                    "started_at": self.started_at,
                    "updated_at": datetime.now(UTC),
                }
            },
        )

    async def start(self, total: int) -> None:
        """Save the total before the first page is copied, and tell the caller."""
        await self.save(0, total)
        self._last = time.monotonic()
        self(0, total)

    def __call__(self, copied: int, total: int) -> None:
        if self.progress is not None:
            self.progress(copied, total)
        now = time.monotonic()
        if now - self._last >= 0.5:
            self._last = now
            self._pending.append(asyncio.ensure_future(self.save(copied, total)))

    async def settle(self) -> None:
        """Wait for the saves still in flight."""
        await asyncio.gather(*self._pending)


async def reindex_live(
    live: LiveIndex,
    *,
    reason: str = "requested",
    progress: Progress | None = None,
    request: datetime | None = None,
) -> ReindexReport:
    """Rebuild the index into a new generation while the sync loop keeps running, then switch.

    :param progress: ``callback(copied, total)`` during the copy (first with 0 copied).
    :param request: the ``customers reindex`` request this serves (recorded as served).
    """
    backend, writer = live.backend, live.writer
    started = time.monotonic()
    started_at = datetime.now(UTC)
    previous = await backend.active_generation()
    if previous is None:
        writer.enable_main(False)  # nothing half-built may become readable
    names = await backend.generations()
    # the active one read again after the listing: one may have appeared since ``previous``
    active = await backend.active_generation()
    await drop_leftovers(backend, names, keep={previous, active})
    generation = await backend.create_generation()
    target = backend.writer_for(generation)
    routine = reason == FIRST_BUILD  # a fresh data dir: INFO; any other rebuild: WARNING
    level = logging.INFO if routine else logging.WARNING
    meanwhile = f"{previous} stays active" if previous else "MongoDB answers customer lists"
    log.log(level, "full reindex (%s) into %s started; %s meanwhile", reason, generation, meanwhile)
    writer.add_target(target)  # dual write from the next flush on
    report = ProgressReport(live.state, live.owner, generation, reason, progress, started_at)
    try:
        total = await live.collection.estimated_document_count()
        await report.start(total)
        copied = await copy_collection(
            live.collection,
            target,
            batch_size=live.copy_batch_size,
            progress=report,
            total=total,
            on_rejected=writer.dead_letter,
            projection=None if await live.server.embedded() else dict.fromkeys(DOC_FIELDS, 1),
        )
        await report.settle()
        await report.save(copied, max(total, copied))
        count = await _verify(live, target)
        if not live.active():
            raise LeaseLost("lease lost before activation")
        await live.state.fenced_set(live.owner, {"reindex.state": "activating"})
        await backend.activate(generation)
        writer.activated(target)
    except BaseException:
        writer.abandon_target(target)
        writer.enable_main(await backend.active_generation() is not None)
        await drop_quietly(backend, generation, "unfinished")
        raise
    if previous is not None:
        await drop_quietly(backend, previous, "old")
    done = ReindexReport(generation, previous, copied, count, time.monotonic() - started, reason)
    await record_reindex(live.state, live.owner, done, started_at, request)
    log.log(
        level,
        "full reindex (%s) done: %d customers in %.1fs (%.0f docs/s); %s is active",
        reason,
        copied,
        done.seconds,
        done.docs_per_second,
        generation,
    )
    return done


async def drop_leftovers(
    backend: SearchBackend, names: list[str], *, keep: set[str | None]
) -> None:
    """Drop the generations in ``names`` not in ``keep``: leftovers of an interrupted reindex
    or rebuild (only the indexer holding the lease builds generations)."""
    for name in names:
        if name not in keep:
            log.info("dropping unfinished generation %s", name)
            await backend.drop_generation(name)


async def drop_quietly(backend: SearchBackend, generation: str, which: str) -> None:
    """Drop ``generation`` after a switch or a failure; a failure to is only logged (the
    next reindex or rebuild drops it as a leftover)."""
    try:
        await backend.drop_generation(generation)
    except Exception:
        log.warning("could not drop the %s generation %s", which, generation, exc_info=True)


async def record_reindex(
    state: IndexerState,
    owner: str,
    done: ReindexReport,
    started_at: datetime,
    request: datetime | None = None,
) -> None:
    """Clear the reindex flags in the state document and keep ``done`` as ``last_reindex``."""
    await state.fenced_set(
        owner,
        {
            "reindex_required": None,
            "reindex": None,
            "last_reindex": {
                "generation": done.generation,
                "previous": done.previous,
                "reason": done.reason,
                "copied": done.copied,
                "count": done.count,
                "seconds": round(done.seconds, 3),
                "docs_per_second": round(done.docs_per_second, 1),
                "started_at": started_at,
                "finished_at": datetime.now(UTC),
                "request": request,  # the `customers reindex` request served
            },
        },
    )


async def request_reindex_and_wait(
    state: IndexerState,
    *,
    progress: Progress | None = None,
    timeout: float | None = None,  # noqa: ASYNC109
    poll: float = 0.5,
) -> dict[str, Any]:
    """Ask the active indexer (another process) to reindex; follow it; return ``last_reindex``.

    :raise TimeoutError: when it has not finished within ``timeout`` seconds.
    :raise ReindexError: when the indexer lost its lease or no longer runs.
    """
    requested_at = await state.request_reindex()
    # BSON dates keep milliseconds: compare with the stored (truncated) value
    requested_at = requested_at.replace(microsecond=requested_at.microsecond // 1000 * 1000)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        doc = await state.load()
        last = doc.get("last_reindex") or {}
        served = last.get("request")
        if isinstance(served, datetime):
            if served.tzinfo is None:
                served = served.replace(tzinfo=UTC)
            if served >= requested_at:
                return last
        running = doc.get("reindex") or {}
        if progress is not None and running.get("total") is not None:
            progress(int(running.get("copied", 0)), int(running.get("total", 0)))
        if active_holder(doc) is None:
            raise ReindexError("no active indexer is running any more")
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("the reindex did not finish in time")
        await asyncio.sleep(poll)
