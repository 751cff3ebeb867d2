"""Applying change events to the search index: the sync loop's write side.

- :func:`to_ops` turns a batch of change events into whole-document index operations at the
  event's cluster time: ``Upsert(to_search_doc(fullDocument, version))``, or ``Delete`` for a
  delete event and for ``fullDocument: null`` (deleted since the change), so a replay never
  rolls back or resurrects. A document that cannot be mapped is returned apart, for a dead
  letter.
- :class:`IndexWriter` applies the operations to every *target*: the active generation (not
  before the first one exists, nor while it has another schema) and the new generation a
  running reindex builds (the dual write). A backend that is down (``BackendError``) gets the
  same batch again with exponential backoff, nothing more being read or saved meanwhile; a
  document the backend refuses for good (``DocumentRejected``, ``ApplyResult.rejected``)
  becomes a dead letter and the batch moves on; an Upsert of an erased customer becomes a
  Delete (:mod:`indexers.erased`); an index of another schema
  (``IncompatibleIndex``) stops the writes to it and raises :class:`HistoryLost`, since only a
  full reindex can fix it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from indexers.backends.base import (
    BackendError,
    Delete,
    DocumentRejected,
    IncompatibleIndex,
    SearchBackend,
    Upsert,
)
from indexers.documents import to_search_doc, version_from_timestamp
from indexers.erased import Tombstones
from indexers.lease import Lease
from indexers.oplog import HistoryLost
from indexers.retry import Backoff, sleep_unless_stopped
from indexers.state import IndexerState
from indexers.stats import IndexerStats

__all__ = ["DOC_EVENTS", "IndexWriter", "Stopped", "to_ops"]

log = logging.getLogger("customers.indexer")

DOC_EVENTS = frozenset({"insert", "update", "replace", "delete"})

Op = Upsert | Delete
Bad = tuple[str, int, str]  # (customer id, version, reason): a dead letter to write


class Stopped(Exception):
    """Stop was requested while a batch was retrying (it is not saved; it will be replayed)."""


def to_ops(events: Sequence[Mapping[str, Any]]) -> tuple[list[Op], list[Bad]]:
    """Index operations for ``events`` (other event kinds skipped), and the unmappable ones."""
    ops: list[Op] = []
    bad: list[Bad] = []
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


class IndexWriter:
    """Writes batches to the active generation and to a running reindex's new one.

    :param backend: the search backend (its active generation is the *main* target).
    :param state: where dead letters are recorded.
    :param stats: counts applied ops, retries and dead letters.
    :param lease: writes stop at once when it is lost.
    :param backoff: delays between retries of a failing backend.
    """

    def __init__(
        self,
        backend: SearchBackend,
        state: IndexerState,
        stats: IndexerStats,
        lease: Lease,
        backoff: Backoff,
    ) -> None:
        self.backend = backend
        self.state = state
        self.stats = stats
        self.lease = lease
        self.backoff = backoff
        self.tombstones = Tombstones(state.database)
        self._main_enabled = True  # False while there is no active generation yet
        self.main_incompatible = False  # the active generation has another schema: rebuilding
        self._extra: list[SearchBackend] = []  # dual-write targets (reindex)
        self._abandoned: list[SearchBackend] = []  # targets of failed reindexes: never retried

    def __repr__(self) -> str:
        return f"<IndexWriter main={self.main_writable} extra={len(self._extra)}>"

    # -- targets (driven by the reindex) --------------------------------------------------
    @property
    def main_writable(self) -> bool:
        """Whether batches go to the active generation (not before the first one exists, nor
        while it is incompatible and a reindex is rebuilding it)."""
        return self._main_enabled and not self.main_incompatible

    def enable_main(self, enabled: bool) -> None:
        """Write the active generation (False: there is none yet, nothing half-built may
        become readable)."""
        self._main_enabled = enabled

    def add_target(self, target: SearchBackend) -> None:
        """Write every batch from now on to ``target`` too (a generation being rebuilt)."""
        self._extra.append(target)

    def activated(self, target: SearchBackend) -> None:
        """``target`` became the active generation: write it as the main target only."""
        self._main_enabled = True
        self.main_incompatible = False  # the rebuilt generation replaced it
        self._extra.remove(target)

    def abandon_target(self, target: SearchBackend) -> None:
        """Stop writing ``target`` for good: its reindex failed and drops it.

        A batch still retrying against it gives up (nothing else will ever read it), instead
        of stalling the sync loop. Not for an *activated* target: that one became the main
        generation and must get every batch.
        """
        if target in self._extra:
            self._extra.remove(target)
        self._abandoned.append(target)

    def reset(self) -> None:
        """Back to the active generation alone (no reindex runs; no batch is being applied)."""
        self._extra.clear()
        self._abandoned.clear()
        self._main_enabled = True

    async def probe_incompatible(self) -> bool:
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

    # -- writing --------------------------------------------------------------------------
    async def apply(self, ops: list[Op], stop: asyncio.Event) -> None:
        """Apply ``ops`` to every target (retrying), then make them searchable.

        :raise Stopped: ``stop`` was set while retrying. :raise LeaseLost:
        :raise HistoryLost: the active generation has another schema.
        """
        if not ops:
            return
        ops = await self.tombstones.screen(ops)  # erased customers never come back
        targets = ([self.backend] if self.main_writable else []) + list(self._extra)
        for target in targets:
            await self._apply_to(target, ops, stop)
        if self.main_writable:
            await self._retrying(self.backend.refresh, stop)
        self.stats.applied += len(ops)
        for op in ops:
            if isinstance(op, Upsert):
                self.stats.upserts += 1
            else:
                self.stats.deletes += 1

    async def dead_letter(self, customer_id: str, version: int, reason: str) -> None:
        """Record a document that can never be indexed (the stream moves on)."""
        self.stats.dead_letters += 1
        log.error("dead-lettered customer %s (version %d): %s", customer_id, version, reason)
        await self.state.dead_letter(customer_id, version, reason)

    async def _apply_to(self, target: SearchBackend, ops: list[Op], stop: asyncio.Event) -> None:
        remaining = ops
        attempt = 0
        while True:
            self.lease.check()
            if target in self._abandoned:
                return
            try:
                result = await target.apply(remaining)
            except IncompatibleIndex as exc:
                raise self._incompatible(exc) from exc
            except DocumentRejected as exc:
                version = next((op.version for op in remaining if op.id == exc.id), 0)
                await self.dead_letter(exc.id, version, exc.reason)
                remaining = [op for op in remaining if op.id != exc.id]
                continue
            except BackendError as exc:
                attempt += 1
                delay = self._retry_delay(attempt)
                log.warning(
                    "search backend failed (%s); retrying the batch of %d in %.2fs "
                    "(checkpoint not advanced)",
                    exc,
                    len(remaining),
                    delay,
                )
                if await sleep_unless_stopped(delay, stop):
                    raise Stopped from exc
                continue
            for customer_id, reason in result.rejected:
                version = next((op.version for op in remaining if op.id == customer_id), 0)
                await self.dead_letter(customer_id, version, reason)
            return

    async def _retrying(self, call: Callable[[], Awaitable[Any]], stop: asyncio.Event) -> None:
        attempt = 0
        while True:
            try:
                await call()
                return
            except IncompatibleIndex as exc:
                raise self._incompatible(exc) from exc
            except BackendError as exc:
                attempt += 1
                delay = self._retry_delay(attempt)
                log.warning("search backend refresh failed (%s); retrying in %.2fs", exc, delay)
                if await sleep_unless_stopped(delay, stop):
                    raise Stopped from exc

    def _retry_delay(self, attempt: int) -> float:
        self.stats.retries += 1
        return self.backoff.delay(attempt)

    def _incompatible(self, exc: IncompatibleIndex) -> HistoryLost:
        """Stop writing the unreadable index; rebuilding it is a full reindex, as for lost
        history (retrying could never succeed). Returns the error to raise."""
        self.main_incompatible = True
        return HistoryLost(f"the search index has an incompatible schema: {exc}")
