"""One session of the active indexer: the lease held, the stream open, until stop or failure.

:meth:`SyncSession.run` is the sync loop of :class:`indexers.sync.Indexer`. At the start it
decides whether a full reindex is needed (no checkpoint, history lost, an unfinished one, the
index deleted or of another schema: see :mod:`indexers.sync`); then each step::

    lease still ours? checkpoint writer healthy? stop? ─► start a wanted reindex, serve a
    repair request ─► read one event (indexers.stream) ─► when the batch is due: apply it
    (indexers.apply), advance the applied position (indexers.freshness), mark the checkpoint
    (indexers.checkpoint) ─► at the end of the stream: take other processes' requests
    (indexers.inbox), save the idle token when due, prune the oplog (only now: caught up)

A lost position (history lost, the collection dropped, an incompatible index) opens a fresh
stream *first*, then wants a full reindex. A stop applies the pending batch and saves the
checkpoint before it returns; a burst returns once caught up with no reindex left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import OperationFailure, PyMongoError

from indexers.apply import IndexWriter, to_ops
from indexers.backends.base import BackendError
from indexers.backfill import repair
from indexers.checkpoint import Checkpoints
from indexers.freshness import AppliedPosition
from indexers.inbox import Inbox, wanted_position
from indexers.lease import Lease
from indexers.oplog import HistoryLost, OplogPruner, is_history_lost
from indexers.reindex_runner import ReindexRunner
from indexers.state import FIRST_BUILD, IndexerState, LeaseLost, Position
from indexers.stats import IndexerStats
from indexers.stream import ChangeFeed, StreamEnded
from indexers.upgrade import rebuild_from_itself

__all__ = ["SyncSession"]

log = logging.getLogger("customers.indexer")


class SyncSession:
    """Runs the sync loop with the indexer's parts while the lease is held."""

    def __init__(
        self,
        *,
        state: IndexerState,
        stats: IndexerStats,
        lease: Lease,
        feed: ChangeFeed,
        writer: IndexWriter,
        position: AppliedPosition,
        checkpoints: Checkpoints,
        reindex: ReindexRunner,
        inbox: Inbox,
        pruner: OplogPruner,
    ) -> None:
        self.state = state
        self.name = state.name
        self.stats = stats
        self.lease = lease
        self.feed = feed
        self.writer = writer
        self.backend = writer.backend
        self.position = position
        self.checkpoints = checkpoints
        self.reindex = reindex
        self.inbox = inbox
        self.pruner = pruner
        self.active = False  # holds the lease and runs the loop
        self.caught_up = False  # the last read found the end of the stream
        self.caught_up_at = 0.0  # time.monotonic() the stream's end was last reached
        self._stop = asyncio.Event()

    def __repr__(self) -> str:
        return f"<SyncSession {self.name!r} active={self.active} caught_up={self.caught_up}>"

    def take_requests(self, doc: Mapping[str, Any]) -> None:
        """Note the repair and reindex requests other processes left in the state document."""
        self.inbox.take(doc)
        self.reindex.take_request(doc)

    async def run(self, stop: asyncio.Event, *, burst: bool) -> None:
        """Sync until ``stop`` (or, with ``burst``, until caught up); the lease must be held.

        The lease is released at a clean end or a stop, not after a failure (the next
        session of this process resumes it, or it expires for a standby).
        """
        self._stop = stop
        keeper = asyncio.create_task(
            self.lease.keep(self.take_requests), name=f"indexer-lease-{self.name}"
        )
        self.active = True
        clean = False
        try:
            await self._sync(burst=burst)
            clean = True
        finally:
            self.active = False
            keeper.cancel()
            await self.reindex.cancel()
            self.writer.reset()  # (no batch is being applied: this runs in the sync loop)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await keeper
            await self._release_writer()
            if clean or stop.is_set():
                with contextlib.suppress(PyMongoError):
                    await self.lease.release()

    async def _release_writer(self) -> None:
        """Let the next holder open the index for writing (tantivy allows one writer)."""
        try:
            await self.backend.release_writer()
        except Exception:
            log.warning("could not release the index writer", exc_info=True)

    # -- the start: resume, or rebuild ----------------------------------------------------
    async def _sync(self, *, burst: bool) -> None:
        doc = await self.state.load()
        token = doc.get("resume_token")
        self.reindex.resume_requests(doc)
        self.checkpoints.restore(doc)
        if token is None:
            first = await self._no_index_yet()
            await self._open_fresh(FIRST_BUILD if first else "no checkpoint yet")
        else:
            if not doc.get("reindex_required") and not await self._rebuild_from_itself():
                return  # stopped meanwhile
            try:
                await self.feed.open(token)
                self.checkpoints.start(token)
            except OperationFailure as exc:
                if not is_history_lost(exc):
                    raise
                self.stats.history_lost += 1
                await self._open_fresh(f"history lost: {exc}")
            else:
                await self._check_index(doc.get("reindex_required"))
        await self._hold_main_without_index()
        if await self.writer.probe_incompatible() and self.reindex.wanted is None:
            reason = "the search index has an incompatible schema"
            await self.state.require_reindex(self.lease.owner, reason)
            log.error("SEARCH INDEX %r: %s: starting a FULL REINDEX", self.name, reason)
            self.reindex.want(reason)
        try:
            await self._loop(burst=burst)
        finally:
            await self.checkpoints.close()
            await self.feed.close()

    async def _rebuild_from_itself(self) -> bool:
        """Before the stream resumes: rebuild an index of another schema that holds today's
        documents from itself (:mod:`indexers.upgrade`). False: stopped meanwhile.

        Anything else (other documents, a failure) is left to the full reindex from MongoDB
        that the incompatible index then gets, as before.
        """
        if not await self.writer.probe_incompatible():
            return True
        try:
            await rebuild_from_itself(
                self.backend, self.state, self.lease.owner, self.lease.check, self._stop
            )
        except LeaseLost:
            raise
        except Exception:
            log.warning("rebuilding the index from itself failed", exc_info=True)
        return not self._stop.is_set()

    async def _no_index_yet(self) -> bool:
        """Whether no index generation was ever activated (backend down or unknown: False)."""
        try:
            return await self.backend.active_generation() is None
        except BackendError:
            return False

    async def _check_index(self, required: Any) -> None:
        """On a resumed stream: rerun an unfinished reindex, or rebuild a deleted index."""
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
            self.reindex.want(FIRST_BUILD if routine else f"unfinished: {reason}", keep=True)
        elif await self.backend.active_generation() is None:
            await self.state.require_reindex(self.lease.owner, "no search index on disk")
            log.error("SEARCH INDEX %r IS MISSING: starting a FULL REINDEX", self.name)
            self.reindex.want("no search index on disk")

    async def _open_fresh(self, reason: str) -> None:
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
        await self.feed.open(None)
        await self.reindex.cancel()
        self.writer.reset()
        await self.state.require_reindex(self.lease.owner, reason)
        self.reindex.want(reason)
        await self._hold_main_without_index()
        self.checkpoints.start(self.feed.resume_token)

    async def _hold_main_without_index(self) -> None:
        """With a reindex wanted and no active generation, batches wait for the reindex's.

        Otherwise the first batch written to the main target would create and activate a
        generation of its own, which the reindex then drops as a leftover while the batch
        keeps retrying against it (seen as "generation … is missing" forever).
        """
        if self.reindex.wanted is not None and await self._no_index_yet():
            self.writer.enable_main(False)

    # -- the loop -------------------------------------------------------------------------
    async def _loop(self, *, burst: bool) -> None:
        while True:
            try:
                if await self._step(burst=burst):
                    return
            except HistoryLost as exc:
                # The position fell off the oplog (or the stream ended): whatever is pending
                # is covered by the full reindex that _open_fresh starts.
                self.stats.history_lost += 1
                await self._open_fresh(str(exc))

    async def _step(self, *, burst: bool) -> bool:
        """Read one event (or learn that there is none); flush when due. True = done."""
        self.lease.check()
        self.checkpoints.raise_error()
        if self._stop.is_set():
            if self.feed.pending:
                await self._flush(exact=False)
            self._save_idle(force=True)
            await self.checkpoints.drain()
            return True
        self.reindex.maybe_start()
        await self._serve_repair()
        try:
            read = await self.feed.read()
        except StreamEnded:
            self.caught_up = False
            if self.feed.pending:
                await self._flush(exact=False)
            raise
        if not read.at_end:
            self.caught_up = False
            if read.due:
                await self._flush(exact=read.exact)
            return False
        if read.due:
            await self._flush(exact=True)
        self.caught_up = True
        self.caught_up_at = time.monotonic()
        await self.position.advance(Position.from_token(self.feed.resume_token))
        await self._idle()
        if burst and self.reindex.idle:
            self._save_idle(force=True)
            await self.checkpoints.drain()
            return True
        return False

    async def _serve_repair(self) -> None:
        """Re-index the ids another process asked to repair (``index verify --repair``)."""
        ids = self.inbox.take_repair()
        if ids is None:
            return
        await repair(self.feed.collection, self.writer, ids, self._stop)
        await self.state.fenced_set(
            self.lease.owner,
            {"last_repair": {"at": datetime.now(UTC), "count": len(ids)}},
            **{"$unset": {"repair_ids": ""}},
        )

    async def _flush(self, *, exact: bool) -> None:
        """Apply the pending batch; then advance the position and mark the checkpoint."""
        token = self.feed.resume_token
        ops, bad = to_ops(self.feed.pending)
        for customer_id, version, reason in bad:
            await self.writer.dead_letter(customer_id, version, reason)
        await self.writer.apply(ops, self._stop)
        self.stats.batches += 1
        position = Position.from_token(token)
        if position is not None and not exact:
            position = position.before()
        await self.position.advance(position)
        self.checkpoints.applied(token, position)
        self.feed.applied()

    def _save_idle(self, *, force: bool) -> None:
        if self.caught_up:  # everything up to the idle token is applied
            self.checkpoints.save_idle(force=force)

    async def _idle(self) -> None:
        """At the end of the stream: take requests, save the idle token when due, prune."""
        token = self.feed.resume_token
        self.checkpoints.idle(token)
        force = False
        if self.inbox.due(token):
            doc = await self.state.load()
            self.take_requests(doc)
            wanted = wanted_position(doc)
            force = wanted is not None and not self.checkpoints.covers(wanted)
        self._save_idle(force=force)
        self.pruner.maybe_start(caught_up=True, reindexing=self.reindex.running)
