"""The sync indexer: MongoDB change stream on ``customers`` → search backend, never losing a change.

:class:`Indexer` composes parts with one job each, and runs the loop::

    lease (indexers.lease) ─► open the stream at the saved resume token ─► read events into
    a batch until it is due (indexers.stream) ─► apply it to the backend (indexers.apply:
    Upsert(to_search_doc(fullDocument, version=clusterTime)) or Delete) ─► refresh ─► only
    then advance the applied position (indexers.freshness) and mark the driver's resume
    token for saving (indexers.checkpoint: in the background, coalesced, at most every
    ``checkpoint_interval``; a checkpoint write never holds up reading or applying)

- **At-least-once + idempotent.** A crash anywhere replays from the last saved token; the
  backend skips ops whose version (the event's cluster time ``(t << 32) | i``) is not newer than
  what it holds, and hard deletes leave versioned tombstones, so replays never roll back or
  resurrect. ``fullDocument: null`` (deleted since) becomes a Delete at the event's version.
- **Idle tokens.** When the stream has nothing new the driver's token (postBatchResumeToken)
  has moved past unrelated oplog entries; it is saved at most every ``idle_checkpoint_interval``
  s, or at once when a reader of another process waits for it (indexers.inbox).
- **History lost / no checkpoint / invalidate.** A resume that fails with 286 / 136 / 40585 /
  "resume token not found", a missing checkpoint, or a dropped/renamed collection logs an ERROR,
  sets ``reindex_required`` in the state document, opens a fresh stream *first* (so nothing
  after this point is missed) and runs a full zero-downtime reindex (indexers.reindex_runner,
  indexers.reindex); the flag is cleared only once the new generation is active, so a crash
  mid-way repeats it. SecantusDB does not fail an *open* cursor that falls behind pruning (it
  skips silently), so before saving a new token the checkpointer checks that the previous one
  is still resumable (:func:`indexers.oplog.resumable`, one 1 ms command per checkpoint). A
  fresh data dir or database (no checkpoint and no index) is routine: one INFO line.
- **Incompatible index** (``IncompatibleIndex``: the active generation was built with another
  schema, found at session start or on a write): handled like lost history: the old
  generation is no longer written (retrying could never succeed) and a full reindex builds a
  compatible one; readers fall back to MongoDB meanwhile.
- **Backend down**: the same batch is retried with backoff, nothing more read or saved;
  a document refused for good becomes a dead letter and the stream moves on (indexers.apply).
- **Lease.** One active instance per index; others wait as standby and take over when the
  lease expires, or at once when the holder is a dead process on this host (indexers.lease).
- **Oplog.** The active instance prunes the embedded oplog only while caught up and no
  reindex runs (:class:`indexers.oplog.OplogPruner`).
- **Read-your-writes** (:meth:`Indexer.wait_until_applied`, :mod:`indexers.freshness`).

A session that fails for another reason (MongoDB unreachable, a bug) restarts from the
checkpoint after a backoff, so a service's background task never dies of a transient failure.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure

from indexers.apply import IndexWriter, Stopped
from indexers.backends.base import SearchBackend
from indexers.backfill import repair
from indexers.checkpoint import Checkpoints
from indexers.freshness import AppliedPosition, SharedProbe, probe_head, wait_for_position
from indexers.inbox import Inbox
from indexers.lease import Lease
from indexers.mongo import ServerTraits
from indexers.oplog import HistoryLost, OplogPruner, resumable
from indexers.reindex import LiveIndex, reindex_live
from indexers.reindex_runner import ReindexRunner
from indexers.retry import Backoff, sleep_unless_stopped
from indexers.session import SyncSession
from indexers.state import IndexerState, LeaseLost, Position, make_owner
from indexers.stats import IndexerHealth, IndexerStats
from indexers.stream import DOC_FIELDS, ChangeFeed

if TYPE_CHECKING:
    from app.config import Settings

__all__ = [
    "DOC_FIELDS",
    "HistoryLost",
    "Indexer",
    "IndexerHealth",
    "IndexerStats",
    "probe_head",
    "run_indexer_forever",
    "wait_for_position",
]

log = logging.getLogger("customers.indexer")


class Indexer:
    """Keep one search backend in step with the ``customers`` collection.

    :param database: the service database (``customers`` and the state collections live there).
    :param backend: the search backend; writes go to its active generation (+ a reindex target).
    :param name: the index name: ``_id`` of the state document.
    :param collection: the watched collection.
    :param owner: lease owner id (default ``host:pid:random``).
    :param batch_size: flush after this many events.
    :param flush_interval: flush a partial batch after this many seconds.
    :param max_await_ms: how long an idle ``getMore`` waits (any write wakes it earlier).
    :param lease_ttl: seconds a lease lasts without renewal (renewed every ttl/3).
    :param checkpoint_interval: save the resume token at most this often while events flow,
        seconds (in the background: see :mod:`indexers.checkpoint`).
    :param idle_checkpoint_interval: save an idle (moved) token at most this often, seconds.
    :param backoff_initial: first retry delay after a backend failure, seconds (doubles).
    :param backoff_max: longest retry delay, seconds.
    :param prune_interval: seconds between embedded oplog prunes while caught up (None = never).
    :param copy_batch_size: documents per page of the reindex copy.
    :param project_events: ``$project`` events to the indexed fields (default: on, except on
        SecantusDB: see :mod:`indexers.stream`).
    :param reindex_progress: ``callback(copied, total)`` during a reindex copy.
    """

    def __init__(
        self,
        database: AsyncDatabase[Any],
        backend: SearchBackend,
        *,
        name: str = "customers",
        collection: str = "customers",
        owner: str | None = None,
        batch_size: int = 1000,
        flush_interval: float = 0.2,
        max_await_ms: int = 500,
        lease_ttl: float = 15.0,
        checkpoint_interval: float = 0.2,
        idle_checkpoint_interval: float = 30.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 30.0,
        prune_interval: float | None = 600.0,
        copy_batch_size: int = 5000,
        project_events: bool | None = None,
        reindex_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.database = database
        self.backend = backend
        self.name = name
        self.collection_name = collection
        self.collection = database[collection]
        server = ServerTraits(database)
        self.head = SharedProbe(database, collection, server)
        self.state = IndexerState(database, name)
        self.stats = IndexerStats()
        self.backoff = Backoff(backoff_initial, backoff_max)
        self.lease = Lease(self.state, owner or make_owner(), ttl=lease_ttl)
        self.feed = ChangeFeed(
            self.collection,
            server,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_await_ms=max_await_ms,
            project_events=project_events,
        )
        self.writer = IndexWriter(backend, self.state, self.stats, self.lease, self.backoff)
        self.position = AppliedPosition()
        self.checkpoints = Checkpoints(
            self.state,
            self.lease.owner,
            self.stats,
            verify=functools.partial(resumable, database, collection),
            interval=checkpoint_interval,
            idle_interval=idle_checkpoint_interval,
            on_saved=self.feed.expect_own_write,
        )
        live = LiveIndex(
            backend=backend,
            state=self.state,
            owner=self.lease.owner,
            collection=self.collection,
            server=server,
            writer=self.writer,
            wait_until_applied=self.wait_until_applied,
            active=lambda: self.active and not self.lease.lost,
            copy_batch_size=copy_batch_size,
        )
        self.reindex = ReindexRunner(
            functools.partial(reindex_live, live),
            lease=self.lease,
            stats=self.stats,
            backoff=self.backoff,
            progress=reindex_progress,
            name=name,
        )
        self.pruner = OplogPruner(database, interval=prune_interval)
        self.session = SyncSession(
            state=self.state,
            stats=self.stats,
            lease=self.lease,
            feed=self.feed,
            writer=self.writer,
            position=self.position,
            checkpoints=self.checkpoints,
            reindex=self.reindex,
            inbox=Inbox(),
            pruner=self.pruner,
        )

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"<Indexer {self.name} active={self.active} caught_up={self.caught_up} "
            f"applied={s.applied} dead_letters={s.dead_letters} retries={s.retries} "
            f"reindexes={s.reindexes}>"
        )

    # -- what others read -----------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Holds the lease and runs the sync loop."""
        return self.session.active

    @property
    def caught_up(self) -> bool:
        """The last read found the end of the change stream."""
        return self.session.caught_up

    @property
    def owner(self) -> str:
        return self.lease.owner

    @property
    def lease_ttl(self) -> float:
        return self.lease.ttl

    @property
    def main_incompatible(self) -> bool:
        """The active generation has another schema (a reindex is rebuilding it)."""
        return self.writer.main_incompatible

    @property
    def checkpoint_at(self) -> datetime | None:
        """When the resume token was last saved (by any process)."""
        return self.checkpoints.checkpoint_at

    @property
    def ready(self) -> bool:
        """Active, caught up, and no full reindex pending or running."""
        return self.active and self.caught_up and self.reindex.idle

    def lag_seconds(self) -> float | None:
        """Age of the oldest change not applied yet: 0 when caught up, else the time since the
        cluster time of the last applied change (an upper bound); None when not active."""
        if not self.active:
            return None
        if self.caught_up and not self.feed.pending:
            return 0.0
        applied = self.position.value
        if applied is None:
            return None
        return max(0.0, time.time() - applied.ts.time)

    def health(self) -> IndexerHealth:
        """A snapshot for metrics and readiness (plain attribute reads: any thread may call)."""
        checkpoint_at = self.checkpoint_at
        progress = self.reindex.copy_progress if self.reindex.running else None
        return IndexerHealth(
            active=self.active,
            caught_up=self.caught_up,
            lag_seconds=self.lag_seconds(),
            pending_events=len(self.feed.pending) if self.active else 0,
            checkpoint_age_seconds=(
                max(0.0, (datetime.now(UTC) - checkpoint_at).total_seconds())
                if checkpoint_at is not None
                else None
            ),
            reindex_copied=progress[0] if progress else None,
            reindex_total=progress[1] if progress else None,
            stats=self.stats,
        )

    async def applied_position(self) -> Position | None:
        """The position applied (in memory when active, else the saved one)."""
        if self.active:
            return self.position.value
        return Position.from_doc((await self.state.load()).get("position"))

    # -- public API -----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set: standby until the lease is ours, then sync forever.

        Errors other than stop/cancel are logged and the loop restarts from the checkpoint
        after a backoff, so a service's background task never dies of a transient failure.
        The backoff grows only over failures in a row: a session that had caught up counts
        as a success, so the tenth database outage of a long run resumes as fast as the first.
        """
        failures = 0
        while not stop.is_set():
            if not await self.lease.acquire(stop, wait=True):
                break
            started = time.monotonic()
            try:
                await self.session.run(stop, burst=False)
                failures = 0
            except LeaseLost as exc:
                log.warning("lost the indexer lease (%s); back to standby", exc)
            except Stopped:
                break
            except Exception as exc:
                failures = 1 if self.session.caught_up_at > started else failures + 1
                if isinstance(exc, ConnectionFailure):
                    log.warning(
                        "MongoDB unreachable (%s): the indexer resumes from its checkpoint "
                        "when it is back",
                        type(exc).__name__,
                    )
                else:
                    log.exception("indexer failed; restarting from the checkpoint")
                await sleep_unless_stopped(self.backoff.delay(failures), stop)

    async def run_until_caught_up(
        self,
        *,
        reindex: bool = False,
        timeout: float = 60.0,  # noqa: ASYNC109
    ) -> None:
        """Burst mode: take the lease, sync (and reindex if needed) until caught up, stop.

        :param reindex: run a full zero-downtime reindex first (``customers reindex``).
        :param timeout: how long to wait for the lease.
        :raise TimeoutError: when another instance keeps the lease.
        """
        stop = asyncio.Event()
        if not await self.lease.acquire(stop, wait=True, timeout=timeout):
            raise TimeoutError(f"the lease of index {self.name!r} is held by another indexer")
        if reindex:
            self.reindex.want("requested")
        await self.session.run(stop, burst=True)
        if self.reindex.error is not None:
            raise self.reindex.error

    async def wait_until_applied(self, timeout: float = 2.0) -> bool:  # noqa: ASYNC109
        """Wait until every write committed before this call is applied and searchable.

        Returns False on timeout (the caller may read anyway or fall back to MongoDB).
        """
        head = await self.head()
        if not self.active:
            return await wait_for_position(self.state, head, timeout)
        return await self.position.wait_for(head, timeout)

    async def wait_in_memory(self, head: Position, timeout: float) -> bool | None:  # noqa: ASYNC109
        """Wait until ``head`` (probed by the caller, on its own client) is applied and
        searchable: False after ``timeout`` seconds; None when this process does not run the
        active indexer (the caller then asks the state document)."""
        if not self.active:
            return None
        return await self.position.wait_for(head, timeout)

    def applied_now(self) -> Position | None:
        """How far the index holds the stream now (the position advances only once the
        writes up to it are searchable), when this process is the active indexer and it last
        found the end of the stream; None otherwise: a read begun now would likely have to
        run again after the indexer caught up."""
        return self.position.value if self.active and self.caught_up else None

    def request_reindex(self, reason: str = "requested") -> None:
        """Ask this (running, active) indexer for a zero-downtime reindex."""
        self.reindex.want(reason)

    def abandon_target(self, target: SearchBackend) -> None:
        """Stop dual-writing ``target`` for good (see :meth:`IndexWriter.abandon_target`)."""
        self.writer.abandon_target(target)

    async def repair(self, ids: Sequence[str], *, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """Re-index ``ids`` from MongoDB now (Delete those gone); return how many were sent.

        Used by ``customers index verify --repair`` when no indexer is active: takes the lease
        for the duration. (An active indexer does the same on request, between batches.)
        """
        stop = asyncio.Event()
        if not await self.lease.acquire(stop, wait=True, timeout=timeout):
            raise TimeoutError(f"the lease of index {self.name!r} is held by another indexer")
        try:
            return await repair(self.collection, self.writer, list(ids), stop)
        finally:
            await self.lease.release()


async def run_indexer_forever(
    settings: Settings,
    client: Any,
    backend: SearchBackend,
    stop_event: asyncio.Event,
    **options: Any,
) -> None:
    """Run the sync indexer until ``stop_event`` is set (``customers serve`` background task)."""
    indexer = Indexer(
        client[settings.mongodb_database],
        backend,
        name=settings.elasticsearch_index,
        **options,
    )
    await indexer.run(stop_event)
