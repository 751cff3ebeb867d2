"""Rebuild an index of another schema from its own documents, when the indexer starts.

An upgrade that changes only how the index is built around the documents (new derived keys,
new tokens) makes the active generation incompatible, yet it still holds exactly the documents
this code would write (:meth:`SearchBackend.read_back`). Rebuilding from it needs no MongoDB
read; at 1,000,000 customers a copy from the embedded server cannot even finish.

It runs before the sync loop resumes the stream at the saved checkpoint: the old generation
holds every change up to that checkpoint (checkpoints only move after a change is committed
to the index, and this code never wrote to it), so the rebuilt generation, fed the stream from
there, misses nothing. Readers fall back to MongoDB until the switch, as for any incompatible
index. If the indexer stops or crashes midway, the old generation stays active and the next
start rebuilds again (a full reindex from MongoDB, the fallback for everything else, is only
needed when the documents differ or a reindex is already under way).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from indexers.backends.base import SearchBackend
from indexers.documents import SearchDoc
from indexers.reindex import (
    Progress,
    ProgressReport,
    ReindexError,
    ReindexReport,
    drop_leftovers,
    drop_quietly,
    record_reindex,
)
from indexers.state import IndexerState

__all__ = ["REASON", "rebuild_from_itself"]

log = logging.getLogger("customers.indexer.reindex")

REASON = "incompatible schema, same documents: rebuilt from the index itself"
PROGRESS_EVERY = 10.0  # seconds between progress lines


async def rebuild_from_itself(
    backend: SearchBackend,
    state: IndexerState,
    owner: str,
    check_lease: Callable[[], None],
    stop: asyncio.Event,
    progress: Progress | None = None,
) -> ReindexReport | None:
    """Rebuild the active generation from its own documents into a new one and switch to it.

    Its progress goes to the state document as a reindex's does (``index status``) and to
    ``progress(copied, total)``.

    :return: what was done; None when it cannot be done (no active generation, or it holds
        other documents) or ``stop`` was set meanwhile (the old generation stays active).
    :raise ReindexError: the rebuilt generation lacks documents (the old one stays active).
    :raise LeaseLost: via ``check_lease``, before the switch.
    """
    previous = await backend.active_generation()
    if previous is None:
        return None
    source = await backend.read_back(previous)
    if source is None:
        return None
    started, started_at = time.monotonic(), datetime.now(UTC)
    await drop_leftovers(backend, await backend.generations(), keep={previous})
    generation = await backend.create_generation()
    log.warning(
        "search index %s was built with another schema but holds the same documents: "
        "rebuilding it from itself into %s (%d customers); MongoDB answers customer lists "
        "meanwhile",
        previous,
        generation,
        source.total,
    )
    target = backend.writer_for(generation)
    report = ProgressReport(state, owner, generation, REASON, progress, started_at)
    try:
        await report.start(source.total)
        copied = await _copy(target, source.batches, report, source.total, stop)
        await report.settle()
        if copied is None:
            log.warning("rebuild of %s stopped; it starts again at the next start", previous)
            await _abandon(backend, state, owner, generation)
            return None
        await target.refresh()
        count = await target.count()
        if count != source.total:
            raise ReindexError(f"rebuilt {count} of {source.total} customers from {previous}")
        check_lease()
        await backend.activate(generation)
    except BaseException:
        await _abandon(backend, state, owner, generation)
        raise
    await drop_quietly(backend, previous, "old")
    done = ReindexReport(generation, previous, copied, count, time.monotonic() - started, REASON)
    await record_reindex(state, owner, done, started_at)
    log.warning(
        "search index rebuilt from itself: %d customers in %.1fs (%.0f docs/s); %s is active",
        copied,
        done.seconds,
        done.docs_per_second,
        generation,
    )
    return done


async def _abandon(
    backend: SearchBackend, state: IndexerState, owner: str, generation: str
) -> None:
    """Drop the unfinished generation and its progress (best effort: the next start drops
    leftovers too, and a lost lease leaves the state document to the new holder)."""
    await drop_quietly(backend, generation, "unfinished")
    with contextlib.suppress(Exception):
        await state.fenced_set(owner, {"reindex": None})


async def _copy(
    target: SearchBackend,
    batches: AsyncIterator[list[SearchDoc]],
    report: ProgressReport,
    total: int,
    stop: asyncio.Event,
) -> int | None:
    """Bulk-load every batch into ``target``; the number copied, or None when stopped."""
    copied, last = 0, time.monotonic()
    async for batch in batches:
        if stop.is_set():
            return None
        result = await target.bulk_load(batch)
        if result.rejected:  # it was indexed before: this code refusing it now is a bug
            raise ReindexError(f"the rebuild refused {len(result.rejected)} documents")
        copied += len(batch)
        report(copied, total)
        if time.monotonic() - last >= PROGRESS_EVERY:
            last = time.monotonic()
            log.info("rebuild: %d of %d customers copied", copied, total)
    return copied
