"""The sync indexer: MongoDB change stream on ``customers`` → search backend, never losing a change.

Loop (one active instance per index, see *Lease*)::

    open the stream at the saved resume token (fullDocument="updateLookup"; $project to the
    indexed fields except on SecantusDB) ─► read events into a batch ─► flush when the stream
    is at its end (a small getMore reply, or an empty 2 ms getMore), the batch is full
    (``batch_size``) or ``flush_interval`` passed ─► apply to the backend (whole documents:
    Upsert(to_search_doc(fullDocument, version=clusterTime)) or Delete) ─►
    refresh ─► only then mark the driver's ``resume_token`` for saving in ``indexer_state``
    (written in the background, coalesced, at most every ``checkpoint_interval``:
    :mod:`indexers.checkpoint`; a checkpoint write never holds up reading or applying)

- **At-least-once + idempotent.** A crash anywhere replays from the last saved token; the
  backend skips ops whose version (the event's cluster time ``(t << 32) | i``) is not newer than
  what it holds, and hard deletes leave versioned tombstones, so replays never roll back or
  resurrect. ``fullDocument: null`` (deleted since) becomes a Delete at the event's version.
- **Idle tokens.** When ``try_next`` returns None the driver's token (postBatchResumeToken) has
  moved past unrelated oplog entries; it is saved at most every ``idle_checkpoint_interval`` s.
- **History lost / no checkpoint / invalidate.** A resume that fails with 286 / 136 / 40585 /
  "resume token not found", a missing checkpoint, or a dropped/renamed collection logs an ERROR,
  sets ``reindex_required`` in the state document, opens a fresh stream *first* (so nothing
  after this point is missed) and runs a full zero-downtime reindex (:mod:`indexers.reindex`);
  the flag is cleared only once the new generation is active, so a crash mid-way repeats it.
  SecantusDB does not fail an *open* cursor that falls behind pruning (it skips silently), so
  before saving a new token the checkpointer checks that the previous one is still resumable
  (:func:`indexers.oplog.resumable`, one 1 ms command per checkpoint).
- **Incompatible index** (``IncompatibleIndex``: the active generation was built with another
  schema, found at session start or on a write): handled like lost history: the old
  generation is no longer written (retrying could never succeed) and a full reindex builds a
  compatible one; readers fall back to MongoDB meanwhile.
- **Backend down** (``BackendUnavailable``/``BackendError``): retry the same batch with
  exponential backoff and full jitter (``backoff_initial`` … ``backoff_max``), reading nothing
  more and saving nothing. ``DocumentRejected`` / ``ApplyResult.rejected`` → a dead-letter
  record (id, version, reason, time) and the stream moves on.
- **Lease.** ``indexer_state.owner`` + ``lease_expires_at`` (``lease_ttl``, renewed every
  ttl/3). A second instance waits as standby and takes over when the lease expires, or at once
  when the holder is a dead process on this host. Every state write is fenced by owner.
- **Oplog.** The active instance prunes the embedded oplog only while caught up
  (:class:`indexers.oplog.OplogPruner`).

**Read-your-writes** (:meth:`Indexer.wait_until_applied`): the waiter takes the current *head*
of the change stream (a ``$changeStream`` aggregate with batchSize 0 + killCursors: ~1 ms; its
postBatchResumeToken covers every write committed before the call, including the one whose
response the client already has) and waits until the indexer's applied position covers it.
Positions compare by SecantusDB's oplog sequence in the token (by cluster time on MongoDB): a
cluster time from ``ping``/``hello`` would not do on SecantusDB, where ``hello`` mints cluster
times that no oplog entry carries. The active instance advances its in-memory position after
every flush + refresh and after every empty ``getMore`` (which any write wakes at once, so
waiting costs at most one apply + refresh). Another process (the API while ``customers index``
runs separately) reads ``position`` from the state document and, when it is behind, writes a
``wanted_seq`` demand that the active indexer answers by saving its position on its next idle
cycle. Writes never wait for the index; only reads that follow writes do.

**Reindex while syncing** (dual write): the reindex creates a new generation and adds it as an
extra write target of this loop *before* copying, so every event flushed from then on goes to
both generations, and everything flushed before is in MongoDB before the copy reads it. The copy
writes each page at version ``cluster time before the read - 5 s`` so any later event wins.
Then a barrier (everything up to the head applied), count/id verification, atomic activation,
and the old generation is dropped. Versions make the double application harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from indexers.backends.base import (
    BackendError,
    Delete,
    DocumentRejected,
    IncompatibleIndex,
    SearchBackend,
    Upsert,
)
from indexers.checkpoint import Checkpointer, Mark
from indexers.documents import to_search_doc, version_from_timestamp
from indexers.oplog import OplogPruner, is_history_lost, resumable, scoped_token
from indexers.state import FIRST_BUILD, IndexerState, LeaseLost, Position, make_owner

if TYPE_CHECKING:
    from pymongo.asynchronous.change_stream import AsyncChangeStream

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

DOC_FIELDS = (
    "_id", "email", "first_name", "last_name", "company_name", "phone", "phone_digits",
    "has_account", "created_by", "created_at", "updated_at", "deleted_at",
    "groups.customer_group_id", "groups.deleted_at",
)  # fmt: skip
"""The ``customers`` fields :func:`indexers.documents.to_search_doc` reads (addresses never)."""

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
"""Only the indexed fields travel (failure mode 17: events over 16 MB)."""

SHORT_AWAIT_MS = 2  # the getMore right after a flush (see _loop)
TAIL_BATCH = 64  # a getMore reply with fewer events means "at the end of the stream": flush
DOC_EVENTS = frozenset({"insert", "update", "replace", "delete"})
END_EVENTS = frozenset({"invalidate", "drop", "rename", "dropDatabase"})


class HistoryLost(Exception):
    """The change-stream position is gone (or never existed): a full reindex is needed."""


class _Stopped(Exception):
    """Stop was requested while a batch was pending (it is not saved; it will be replayed)."""


@dataclass
class IndexerStats:
    """Health counters (also saved in the state document with each checkpoint)."""

    applied: int = 0  # ops sent to the backend
    upserts: int = 0
    deletes: int = 0
    dead_letters: int = 0
    retries: int = 0  # backend attempts that failed and were retried
    batches: int = 0
    checkpoints: int = 0
    reindexes: int = 0
    history_lost: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class IndexerHealth:
    """What one indexer reports about itself right now (metrics, readiness)."""

    active: bool  # holds the lease and runs the sync loop
    caught_up: bool  # the last read found the end of the change stream
    lag_seconds: float | None  # age of the oldest change not yet applied; None: not active
    pending_events: int  # change events read from the stream and not yet applied
    checkpoint_age_seconds: float | None  # since the resume token was last saved (any process)
    reindex_copied: int | None  # documents copied by the running reindex, None when none runs
    reindex_total: int | None  # documents it expects to copy
    stats: IndexerStats


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


def _set_await(stream: AsyncChangeStream[Any], ms: int) -> None:
    """Set the next getMore's maxAwaitTimeMS (private API, guarded; default otherwise)."""
    cursor = getattr(stream, "_cursor", None)
    if cursor is not None and hasattr(cursor, "_max_await_time_ms"):
        cursor._max_await_time_ms = ms


def _buffered(stream: AsyncChangeStream[Any]) -> bool:
    """Whether the driver still holds events of the last server batch (private API, guarded)."""
    cursor = getattr(stream, "_cursor", None)
    has_next = getattr(cursor, "_has_next", None)
    if has_next is None:
        return True  # unknown: rely on size/time flushing
    try:
        return bool(has_next())
    except Exception:
        return True


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
    :param project_events: ``$project`` events to the indexed fields (failure mode 17: events
        over 16 MB). Default: on, except on SecantusDB, which evaluates every pipeline stage
        per event in Python (measured: 20,000 events read in 2.4 s plain, 4.7 s projected).
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
        self.owner = owner or make_owner()
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_await_ms = max_await_ms
        self.lease_ttl = lease_ttl
        self.idle_checkpoint_interval = idle_checkpoint_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.copy_batch_size = copy_batch_size
        self.project_events = project_events
        self._embedded_server: bool | None = None
        self.reindex_progress = reindex_progress
        self.state = IndexerState(database, name)
        self.pruner = OplogPruner(database, interval=prune_interval)
        self.stats = IndexerStats()

        self.active = False  # holds the lease and runs the loop
        self.caught_up = False
        self.checkpoint_at: datetime | None = None  # when the resume token was last saved
        self.copy_progress: tuple[int, int] | None = None  # (copied, total) while reindexing
        self._caught_up_at = 0.0  # time.monotonic() the stream's end was last reached
        self.reindex_error: BaseException | None = None
        self._stop = asyncio.Event()
        self._lease_lost = False
        self._applied: Position | None = None
        self._pending: list[Mapping[str, Any]] = []  # read, not yet applied (the open batch)
        self._changed = asyncio.Condition()
        self._extra: list[SearchBackend] = []  # dual-write targets (reindex)
        self._abandoned: list[SearchBackend] = []  # targets of failed reindexes: never retried
        self._main_enabled = True  # False while there is no active generation yet
        self.main_incompatible = False  # the active generation has another schema: rebuilding
        self._reindex_task: asyncio.Task[Any] | None = None
        self._reindex_wanted: str | None = None
        self._handled_request: datetime | None = None
        self._request_pending: datetime | None = None  # a `customers reindex` request to serve
        self.serving_request: datetime | None = None  # the request the running reindex serves
        self._checkpoint = Checkpointer(
            self._write_checkpoint, self._resumable, HistoryLost, interval=checkpoint_interval
        )
        self._saved_token: Any = None
        self._saved_position: Position | None = None
        self._last_demand_check = 0.0
        self._demand_checked_token: Any = None
        self._current_token: Any = None
        self._repair_ids: list[str] | None = None
        self._flushed = False
        self._first_pending_at = 0.0
        self._in_server_batch = 0  # events received from the current getMore reply

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"<Indexer {self.name} active={self.active} caught_up={self.caught_up} "
            f"applied={s.applied} dead_letters={s.dead_letters} retries={s.retries} "
            f"reindexes={s.reindexes}>"
        )

    @property
    def ready(self) -> bool:
        """Active, caught up, and no full reindex pending or running."""
        return (
            self.active
            and self.caught_up
            and self._reindex_wanted is None
            and not self._reindexing()
        )

    def lag_seconds(self) -> float | None:
        """Age of the oldest change not applied yet: 0 when caught up, else the time since the
        cluster time of the last applied change (an upper bound); None when not active."""
        if not self.active:
            return None
        if self.caught_up and not self._pending:
            return 0.0
        if self._applied is None:
            return None
        return max(0.0, time.time() - self._applied.ts.time)

    def health(self) -> IndexerHealth:
        """A snapshot for metrics and readiness (plain attribute reads: any thread may call)."""
        checkpoint_at = self.checkpoint_at
        progress = self.copy_progress if self._reindexing() else None
        return IndexerHealth(
            active=self.active,
            caught_up=self.caught_up,
            lag_seconds=self.lag_seconds(),
            pending_events=len(self._pending) if self.active else 0,
            checkpoint_age_seconds=(
                max(0.0, (datetime.now(UTC) - checkpoint_at).total_seconds())
                if checkpoint_at is not None
                else None
            ),
            reindex_copied=progress[0] if progress else None,
            reindex_total=progress[1] if progress else None,
            stats=self.stats,
        )

    # -- public API ---------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set: standby until the lease is ours, then sync forever.

        Errors other than stop/cancel are logged and the loop restarts from the checkpoint
        after a backoff, so a service's background task never dies of a transient failure.
        The backoff grows only over failures in a row: a session that had caught up counts
        as a success, so the tenth database outage of a long run resumes as fast as the first.
        """
        self._stop = stop
        failures = 0
        while not stop.is_set():
            if not await self._acquire(stop, wait=True):
                break
            started = time.monotonic()
            try:
                await self._session(burst=False)
                failures = 0
            except LeaseLost as exc:
                log.warning("lost the indexer lease (%s); back to standby", exc)
            except _Stopped:
                break
            except Exception as exc:
                failures = 1 if self._caught_up_at > started else failures + 1
                if isinstance(exc, ConnectionFailure):
                    log.warning(
                        "MongoDB unreachable (%s): the indexer resumes from its checkpoint "
                        "when it is back",
                        type(exc).__name__,
                    )
                else:
                    log.exception("indexer failed; restarting from the checkpoint")
                await self._sleep(self._backoff(failures), stop)

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
        self._stop = asyncio.Event()
        if not await self._acquire(self._stop, wait=True, timeout=timeout):
            raise TimeoutError(f"the lease of index {self.name!r} is held by another indexer")
        if reindex:
            self._reindex_wanted = "requested"
        await self._session(burst=True)
        if self.reindex_error is not None:
            raise self.reindex_error

    async def wait_until_applied(self, timeout: float = 2.0) -> bool:  # noqa: ASYNC109
        """Wait until every write committed before this call is applied and searchable.

        Returns False on timeout (the caller may read anyway or fall back to MongoDB).
        """
        head = await probe_head(self.database, self.collection_name)
        if not self.active:
            return await wait_for_position(self.state, head, timeout)

        def covered() -> bool:
            return self._applied is not None and self._applied.covers(head)

        if covered():
            return True
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(covered), timeout)
            except TimeoutError:
                return False
        return True

    def request_reindex(self, reason: str = "requested") -> None:
        """Ask this (running, active) indexer for a zero-downtime reindex."""
        self._reindex_wanted = reason

    async def repair(self, ids: Sequence[str], *, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """Re-index ``ids`` from MongoDB now (Delete those gone); return how many were sent.

        Used by ``customers index verify --repair`` when no indexer is active: takes the lease
        for the duration. (An active indexer does the same on request, between batches.)
        """
        self._stop = asyncio.Event()
        if not await self._acquire(self._stop, wait=True, timeout=timeout):
            raise TimeoutError(f"the lease of index {self.name!r} is held by another indexer")
        try:
            return await self._repair(list(ids))
        finally:
            await self.state.release(self.owner)

    async def _repair(self, ids: list[str]) -> int:
        if not ids:
            return 0
        # Version: the cluster time before the read, so every later event still wins.
        reply = await self.database.command("ping")
        version = version_from_timestamp(reply["operationTime"])
        projection = dict.fromkeys(DOC_FIELDS, 1)
        docs = {d["_id"]: d async for d in self.collection.find({"_id": {"$in": ids}}, projection)}
        ops: list[Upsert | Delete] = []
        for customer_id in ids:
            raw = docs.get(customer_id)
            if raw is None:
                ops.append(Delete(customer_id, version))
                continue
            try:
                ops.append(Upsert(to_search_doc(raw, version)))
            except (ValueError, TypeError, KeyError) as exc:
                await self._dead_letter(customer_id, version, f"{type(exc).__name__}: {exc}")
        await self._apply(ops)
        log.warning("repaired %d customers in the search index", len(ops))
        return len(ops)

    async def applied_position(self) -> Position | None:
        """The position applied (in memory when active, else the saved one)."""
        if self.active:
            return self._applied
        return Position.from_doc((await self.state.load()).get("position"))

    # -- lease --------------------------------------------------------------------------------
    async def _acquire(
        self,
        stop: asyncio.Event,
        *,
        wait: bool,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        announced = unreachable = False
        while not stop.is_set():
            held_elsewhere = False
            try:
                if await self.state.try_acquire(self.owner, self.lease_ttl):
                    self._lease_lost = False
                    log.info("indexer %s holds the lease of %r", self.owner, self.name)
                    return True
                held_elsewhere = True
            except ConnectionFailure as exc:  # an outage: one line, not one traceback a second
                if not unreachable:
                    reason = type(exc).__name__
                    log.warning("lease acquisition failed: MongoDB unreachable (%s)", reason)
                unreachable = True
            except PyMongoError:
                log.warning("lease acquisition failed", exc_info=True)
            if not wait or (deadline is not None and time.monotonic() >= deadline):
                return False
            if held_elsewhere and not announced:
                log.info("another indexer holds the lease of %r; standing by", self.name)
                announced = True
            await self._sleep(min(self.lease_ttl / 3, 1.0), stop)
        return False

    async def _keep_lease(self) -> None:
        interval = self.lease_ttl / 3
        while True:
            await asyncio.sleep(interval)
            try:
                doc = await self.state.renew(self.owner, self.lease_ttl)
            except LeaseLost:
                self._lease_lost = True
                log.error("indexer lease of %r lost to another instance", self.name)
                return
            except PyMongoError:
                log.warning("lease renewal failed; retrying", exc_info=True)
                continue
            self._take_requests(doc)

    def _take_requests(self, doc: Mapping[str, Any]) -> None:
        """Note the repair and reindex requests other processes left in the state document
        (read at every lease renewal, and on idle cycles so a request starts within ~1 s)."""
        repair = doc.get("repair_ids")
        if isinstance(repair, list) and repair and self._repair_ids is None:
            self._repair_ids = [str(i) for i in repair]
        requested = doc.get("reindex_requested_at")
        if isinstance(requested, datetime) and (
            self._handled_request is None or requested > self._handled_request
        ):
            self._handled_request = requested
            self._request_pending = requested
            self._reindex_wanted = self._reindex_wanted or "requested by `customers reindex`"

    # -- one session: lease held, stream open -------------------------------------------------
    async def _session(self, *, burst: bool) -> None:
        keeper = asyncio.create_task(self._keep_lease(), name=f"indexer-lease-{self.name}")
        self.active = True
        clean = False
        try:
            await self._sync(burst=burst)
            clean = True
        finally:
            self.active = False
            keeper.cancel()
            await self._cancel_reindex()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await keeper
            await self._release_writer()
            if clean or self._stop.is_set():
                with contextlib.suppress(PyMongoError):
                    await self.state.release(self.owner)

    async def _release_writer(self) -> None:
        """Let the next holder open the index for writing (tantivy allows one writer)."""
        try:
            await self.backend.release_writer()
        except Exception:
            log.warning("could not release the index writer", exc_info=True)

    async def embedded_server(self) -> bool:
        """Whether MongoDB is SecantusDB, which runs pipeline stages and projections in Python
        (so they cost more than they save) and counts a collection 5x faster with ``count``
        than with ``count_documents`` (3.2 s at 100k)."""
        if self._embedded_server is None:
            info = await self.database.client.admin.command("buildInfo")
            self._embedded_server = "secantusVersion" in info
        return self._embedded_server

    async def _pipeline(self) -> list[dict[str, Any]]:
        if self.project_events is None:
            self.project_events = not await self.embedded_server()
        return PIPELINE if self.project_events else []

    async def copy_projection(self) -> dict[str, int] | None:
        """The reindex copy's projection: the indexed fields, except on SecantusDB (measured
        at 100k: projected reads cost its server 62 µs/doc instead of 39, and save 6 here)."""
        return None if await self.embedded_server() else dict.fromkeys(DOC_FIELDS, 1)

    async def count_customers(self) -> int:
        """Count the watched collection exactly (SecantusDB's plain ``count`` is exact: it
        holds the collection in memory; MongoDB's may drift after an unclean shutdown)."""
        if await self.embedded_server():
            return await self.collection.estimated_document_count()
        return await self.collection.count_documents({})

    async def _open(self, token: Any) -> AsyncChangeStream[Any]:
        return await self.collection.watch(
            await self._pipeline(),
            full_document="updateLookup",
            resume_after=None if token is None else scoped_token(token, self.collection.full_name),
            max_await_time_ms=self.max_await_ms,
            batch_size=self.batch_size,
        )

    async def _open_fresh(self, reason: str) -> AsyncChangeStream[Any]:
        """Record the position first (a fresh stream), then demand a full reindex.

        Loud (ERROR) when an index that existed may miss changes; a first build (no
        checkpoint and no index yet: a fresh data dir or database) is routine, so INFO.
        """
        if reason == FIRST_BUILD:
            log.info(
                "building the search index %r for the first time; customer lists are answered "
                "by MongoDB until it is ready",
                self.name,
            )
        else:
            log.error(
                "SEARCH INDEX %r IS MISSING CHANGES (%s): starting a FULL REINDEX; searches "
                "keep answering from the current index until the rebuilt one is activated",
                self.name,
                reason,
            )
        stream = await self._open(None)
        await self._cancel_reindex()
        await self.state.require_reindex(self.owner, reason)
        self._reindex_wanted = reason
        self._checkpoint.start(stream.resume_token)
        return stream

    async def _sync(self, *, burst: bool) -> None:
        doc = await self.state.load()
        token = doc.get("resume_token")
        required = doc.get("reindex_required")
        self._handled_request = self._handled_request or doc.get("reindex_requested_at")
        if doc.get("reindex_requested_at") and not _served(
            doc.get("last_reindex"), doc.get("reindex_requested_at")
        ):
            self._request_pending = doc["reindex_requested_at"]
            self._reindex_wanted = self._reindex_wanted or "requested by `customers reindex`"
        self.checkpoint_at = _aware(doc["checkpoint_at"]) if doc.get("checkpoint_at") else None
        if token is None:
            first = await self._no_index_yet()
            stream = await self._open_fresh(FIRST_BUILD if first else "no checkpoint yet")
        else:
            try:
                stream = await self._open(token)
                self._checkpoint.start(token)
            except OperationFailure as exc:
                if not is_history_lost(exc):
                    raise
                self.stats.history_lost += 1
                stream = await self._open_fresh(f"history lost: {exc}")
            else:
                if required:
                    reason = (
                        required.get("reason", "unfinished")
                        if isinstance(required, Mapping)
                        else "unfinished"
                    )
                    routine = reason == FIRST_BUILD  # an interrupted first build: still INFO
                    log.log(
                        logging.INFO if routine else logging.ERROR,
                        "an earlier full reindex (%s) did not finish; running it again",
                        reason,
                    )
                    again = FIRST_BUILD if routine else f"unfinished: {reason}"
                    self._reindex_wanted = self._reindex_wanted or again
                elif await self.backend.active_generation() is None:
                    await self.state.require_reindex(self.owner, "no search index on disk")
                    log.error("SEARCH INDEX %r IS MISSING: starting a FULL REINDEX", self.name)
                    self._reindex_wanted = "no search index on disk"
        if await self._probe_incompatible() and self._reindex_wanted is None:
            reason = "the search index has an incompatible schema"
            await self.state.require_reindex(self.owner, reason)
            log.error("SEARCH INDEX %r: %s: starting a FULL REINDEX", self.name, reason)
            self._reindex_wanted = reason
        self._saved_token = token
        self._saved_position = Position.from_doc(doc.get("position"))
        try:
            await self._loop(stream, burst=burst)
        finally:
            await self._checkpoint.close()
            with contextlib.suppress(Exception):
                await stream.close()

    async def _no_index_yet(self) -> bool:
        """Whether no index generation was ever activated (backend down or unknown: False)."""
        try:
            return await self.backend.active_generation() is None
        except BackendError:
            return False

    async def _probe_incompatible(self) -> bool:
        """Whether the active generation has another schema (found at once, not at the next
        write: an idle indexer would otherwise leave readers on the MongoDB fallback)."""
        self.main_incompatible = False
        try:
            await self.backend.count()
        except IncompatibleIndex:
            self.main_incompatible = True
        except BackendError:
            pass  # down or unknown: the sync loop finds out when it writes
        return self.main_incompatible

    async def _loop(self, stream: AsyncChangeStream[Any], *, burst: bool) -> None:
        pending = self._pending  # an attribute, so health() can count it
        pending.clear()
        while True:
            try:
                if await self._step(stream, pending, burst=burst):
                    return
            except HistoryLost as exc:
                # The position fell off the oplog (or the stream ended): whatever is pending
                # is covered by the full reindex that _open_fresh starts.
                self.stats.history_lost += 1
                pending.clear()
                with contextlib.suppress(Exception):
                    await stream.close()
                stream = await self._open_fresh(str(exc))

    async def _step(
        self, stream: AsyncChangeStream[Any], pending: list[Mapping[str, Any]], *, burst: bool
    ) -> bool:
        """Read one event (or learn that there is none); flush when due. True = done."""
        if self._lease_lost:
            raise LeaseLost(self.owner)
        self._checkpoint.raise_error()
        if self._stop.is_set():
            if pending:
                await self._flush(stream, pending, exact=False)
            await self._save_idle(force=True)
            await self._checkpoint.drain()
            return True
        self._maybe_start_reindex()
        if self._repair_ids is not None:
            ids, self._repair_ids = self._repair_ids, None
            await self._repair(ids)
            await self.state.fenced_set(
                self.owner,
                {"last_repair": {"at": datetime.now(UTC), "count": len(ids)}},
                **{"$unset": {"repair_ids": ""}},
            )
        # Tiny awaits (a) with a pending batch once the driver's buffer is drained: more
        # events come back at once if the server has them, else the batch is flushed now;
        # (b) right after our own write (checkpoint): SecantusDB's awaitData getMore does not
        # return early for entries that were already there and do not match, so the position
        # would otherwise wait a full max_await to move past them.
        short = self._flushed or (bool(pending) and not _buffered(stream))
        _set_await(stream, SHORT_AWAIT_MS if short else self.max_await_ms)
        self._flushed = False
        try:
            change = await stream.try_next()
        except OperationFailure as exc:
            if is_history_lost(exc):
                raise HistoryLost(f"history lost while reading: {exc}") from exc
            raise
        if change is not None:
            self.caught_up = False
            if change.get("operationType") in END_EVENTS:
                if pending:
                    await self._flush(stream, pending, exact=False)
                raise HistoryLost(f"change stream ended by {change.get('operationType')!r}")
            if not pending:
                self._first_pending_at = time.monotonic()
            pending.append(change)
            self._in_server_batch += 1
            drained = not _buffered(stream)
            # A small server batch means we are at the end of the stream: flush now (low
            # latency). A big one means a backlog: keep filling the batch (throughput).
            tail = drained and self._in_server_batch < TAIL_BATCH
            if drained:
                self._in_server_batch = 0
            if (
                tail
                or len(pending) >= self.batch_size
                or time.monotonic() - self._first_pending_at >= self.flush_interval
            ):
                await self._flush(stream, pending, exact=drained)
            return False
        # the end of the stream for now
        self._in_server_batch = 0
        if pending:
            await self._flush(stream, pending, exact=True)
        self.caught_up = True
        self._caught_up_at = time.monotonic()
        await self._advance(Position.from_token(stream.resume_token))
        await self._idle(stream)
        if burst and self._reindex_wanted is None and not self._reindexing():
            await self._save_idle(force=True)
            await self._checkpoint.drain()
            return True
        return False

    # -- flushing -----------------------------------------------------------------------------
    def _to_ops(
        self, events: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Upsert | Delete], list[tuple[str, int, str]]]:
        ops: list[Upsert | Delete] = []
        bad: list[tuple[str, int, str]] = []
        for event in events:
            kind = event.get("operationType")
            if kind not in DOC_EVENTS:
                continue
            key = (event.get("documentKey") or {}).get("_id")
            version = version_from_timestamp(event["clusterTime"])
            document = event.get("fullDocument")
            if kind == "delete" or not document:
                if isinstance(key, str):
                    ops.append(Delete(key, version))
                else:
                    bad.append((str(key), version, f"customer id must be a string: {key!r}"))
                continue
            try:
                ops.append(Upsert(to_search_doc(document, version)))
            except (ValueError, TypeError, KeyError) as exc:
                bad.append((str(key), version, f"{type(exc).__name__}: {exc}"))
        return ops, bad

    async def _flush(
        self, stream: AsyncChangeStream[Any], pending: list[Mapping[str, Any]], *, exact: bool
    ) -> None:
        token = stream.resume_token
        ops, bad = self._to_ops(pending)
        for customer_id, version, reason in bad:
            await self._dead_letter(customer_id, version, reason)
        await self._apply(ops)
        self.stats.batches += 1
        position = Position.from_token(token)
        if position is not None and not exact:
            position = position.before()
        await self._advance(position)
        self._checkpoint.mark(token, position, caught_up=False, urgent=False)
        self._flushed = True
        pending.clear()

    def _main_writable(self) -> bool:
        """Whether flushes go to the active generation (not before the first one exists, nor
        while it is incompatible and a reindex is rebuilding it)."""
        return self._main_enabled and not self.main_incompatible

    async def _apply(self, ops: list[Upsert | Delete]) -> None:
        if not ops:
            return
        targets = ([self.backend] if self._main_writable() else []) + list(self._extra)
        for target in targets:
            await self._apply_to(target, ops)
        if self._main_writable():
            await self._retrying(self.backend.refresh)
        self.stats.applied += len(ops)
        for op in ops:
            if isinstance(op, Upsert):
                self.stats.upserts += 1
            else:
                self.stats.deletes += 1

    def abandon_target(self, target: SearchBackend) -> None:
        """Stop dual-writing ``target`` for good: its reindex failed and drops it.

        A batch still retrying against it gives up (nothing else will ever read it), instead
        of stalling the sync loop. Not for an *activated* target: that one became the main
        generation and must get every batch.
        """
        if target in self._extra:
            self._extra.remove(target)
        self._abandoned.append(target)

    async def _apply_to(self, target: SearchBackend, ops: list[Upsert | Delete]) -> None:
        remaining = ops
        attempt = 0
        while True:
            if self._lease_lost:
                raise LeaseLost(self.owner)
            if target in self._abandoned:
                return
            try:
                result = await target.apply(remaining)
            except IncompatibleIndex as exc:
                raise self._incompatible(exc) from exc
            except DocumentRejected as exc:
                version = next((op.version for op in remaining if op.id == exc.id), 0)
                await self._dead_letter(exc.id, version, exc.reason)
                remaining = [op for op in remaining if op.id != exc.id]
                continue
            except BackendError as exc:
                attempt += 1
                self.stats.retries += 1
                delay = self._backoff(attempt)
                log.warning(
                    "search backend failed (%s); retrying the batch of %d in %.2fs "
                    "(checkpoint not advanced)",
                    exc,
                    len(remaining),
                    delay,
                )
                if await self._sleep(delay, self._stop):
                    raise _Stopped from exc
                continue
            for customer_id, reason in result.rejected:
                version = next((op.version for op in remaining if op.id == customer_id), 0)
                await self._dead_letter(customer_id, version, reason)
            return

    async def _retrying(self, call: Callable[[], Any]) -> None:
        attempt = 0
        while True:
            try:
                await call()
                return
            except IncompatibleIndex as exc:
                raise self._incompatible(exc) from exc
            except BackendError as exc:
                attempt += 1
                self.stats.retries += 1
                delay = self._backoff(attempt)
                log.warning("search backend refresh failed (%s); retrying in %.2fs", exc, delay)
                if await self._sleep(delay, self._stop):
                    raise _Stopped from exc

    def _incompatible(self, exc: IncompatibleIndex) -> HistoryLost:
        """Stop writing the unreadable index; rebuilding it is a full reindex, as for lost
        history (retrying could never succeed). Returns the error to raise."""
        self.main_incompatible = True
        return HistoryLost(f"the search index has an incompatible schema: {exc}")

    async def _dead_letter(self, customer_id: str, version: int, reason: str) -> None:
        self.stats.dead_letters += 1
        log.error("dead-lettered customer %s (version %d): %s", customer_id, version, reason)
        await self.state.dead_letter(customer_id, version, reason)

    async def _advance(self, position: Position | None) -> None:
        if position is None:
            return
        if self._applied is not None and self._applied.covers(position):
            return
        self._applied = position
        async with self._changed:
            self._changed.notify_all()

    async def _write_checkpoint(self, mark: Mark) -> None:
        """Persist one checkpoint (called by the background :class:`Checkpointer`)."""
        await self.state.save_checkpoint(
            self.owner,
            mark.token,
            mark.position,
            caught_up=mark.caught_up,
            counters=self.stats.as_dict(),
        )
        self.stats.checkpoints += 1
        self.checkpoint_at = datetime.now(UTC)
        self._saved_token = mark.token
        self._saved_position = mark.position
        self._flushed = True  # our own write: see the short await in _step

    async def _resumable(self, token: Any) -> bool:
        return await resumable(self.database, self.collection_name, token)

    async def _save_idle(self, *, force: bool = False) -> None:
        """Mark the idle token for saving if it moved and is due (``force``: at once)."""
        if not self.caught_up:
            return
        token = self._current_token
        if token is None or token == self._saved_token:
            return
        since_save = time.monotonic() - self._checkpoint.last_save
        if not force and since_save < self.idle_checkpoint_interval:
            return
        self._checkpoint.mark(token, Position.from_token(token), caught_up=True, urgent=force)

    async def _idle(self, stream: AsyncChangeStream[Any]) -> None:
        self._current_token = stream.resume_token
        # A demand from another process is a write, so it moves the idle token: read the
        # state document when the token moved (cheap: idle cycles only follow writes or a
        # max_await), and at least every second.
        due = (
            self._current_token != self._demand_checked_token
            or time.monotonic() - self._last_demand_check >= 1.0
        )
        force = False
        if due:
            self._last_demand_check = time.monotonic()
            self._demand_checked_token = self._current_token
            doc = await self.state.load()
            self._take_requests(doc)
            wanted = _wanted(doc)
            force = wanted is not None and (
                self._saved_position is None or not self._saved_position.covers(wanted)
            )
        await self._save_idle(force=force)
        self.pruner.maybe_start(caught_up=True, reindexing=self._reindexing())

    # -- reindex ------------------------------------------------------------------------------
    def _reindexing(self) -> bool:
        return self._reindex_task is not None and not self._reindex_task.done()

    def _maybe_start_reindex(self) -> None:
        if self._reindex_wanted is None or self._reindexing():
            return
        reason, self._reindex_wanted = self._reindex_wanted, None
        self.serving_request, self._request_pending = self._request_pending, None
        self._reindex_task = asyncio.create_task(
            self._run_reindex(reason), name=f"indexer-reindex-{self.name}"
        )

    async def _run_reindex(self, reason: str) -> None:
        from indexers.reindex import reindex_live

        try:
            await reindex_live(self, reason=reason, progress=self.reindex_progress)
            self.stats.reindexes += 1
            self.reindex_error = None
        except asyncio.CancelledError:
            raise
        except LeaseLost:
            self._lease_lost = True
        except Exception as exc:
            self.reindex_error = exc
            log.exception("full reindex failed; it will be retried")
            await asyncio.sleep(self._backoff(3))
            self._reindex_wanted = self._reindex_wanted or reason
            self._request_pending = self._request_pending or self.serving_request

    async def _cancel_reindex(self) -> None:
        task, self._reindex_task = self._reindex_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._extra.clear()
        self._abandoned.clear()  # (no batch is being applied: this runs in the sync loop)
        self._main_enabled = True

    # -- helpers ------------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        cap = min(self.backoff_max, self.backoff_initial * (2 ** min(attempt - 1, 30)))
        return random.uniform(cap / 2, cap)

    @staticmethod
    async def _sleep(seconds: float, stop: asyncio.Event) -> bool:
        """Sleep unless ``stop`` is set first; return whether stop is set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        return stop.is_set()


def _wanted(doc: Mapping[str, Any]) -> Position | None:
    from bson.timestamp import Timestamp

    ts = doc.get("wanted_ts")
    if not isinstance(ts, Timestamp):
        return None
    seq = doc.get("wanted_seq")
    return Position(ts, int(seq) if isinstance(seq, int) else None)


def _served(last: Any, requested: Any) -> bool:
    """Whether ``last`` (a ``last_reindex``) served a request made at ``requested`` or later."""
    served = last.get("request") if isinstance(last, Mapping) else None
    if not isinstance(served, datetime) or not isinstance(requested, datetime):
        return False
    return _aware(served) >= _aware(requested)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


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
