"""When the running indexer rebuilds its index: the reasons, the requests, the background task.

A full reindex is *wanted* for a reason (no checkpoint or no index yet, history lost, an
index of another schema, an earlier reindex that did not finish, ``customers reindex``, a
direct :meth:`indexers.sync.Indexer.request_reindex`). The sync loop starts the wanted one
between two reads (:meth:`ReindexRunner.maybe_start`); it then runs as a task beside the
loop, which keeps applying changes (to both generations: see :mod:`indexers.reindex`). A
failed reindex is logged, remembered as :attr:`ReindexRunner.error` and wanted again after a
backoff; losing the lease meanwhile stops it. When the session ends, the task is cancelled
and its unfinished generation dropped; the ``reindex_required`` flag in the state document
makes the next session run it again.

``customers reindex`` in another process writes ``reindex_requested_at``; the runner serves
each such request once, and records which one a finished reindex served
(``last_reindex.request``), which is how the requester knows it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from indexers.lease import Lease
from indexers.retry import Backoff
from indexers.state import LeaseLost
from indexers.stats import IndexerStats

__all__ = ["REQUESTED", "ReindexRunner"]

log = logging.getLogger("customers.indexer")

REQUESTED = "requested by `customers reindex`"
Progress = Callable[[int, int], None]


class Rebuild(Protocol):
    """Runs one full reindex (:func:`indexers.reindex.reindex_live` on the live index)."""

    def __call__(
        self, *, reason: str, progress: Progress, request: datetime | None
    ) -> Awaitable[Any]: ...


class ReindexRunner:
    """Starts, retries and cancels the indexer's full reindexes (one at a time).

    :param rebuild: runs one reindex.
    :param lease: marked lost when a reindex finds the lease gone.
    :param stats: counts finished reindexes.
    :param backoff: the delay before a failed reindex is wanted again (its 3rd step).
    :param progress: ``callback(copied, total)`` during a copy (``customers reindex``'s bar).
    :param name: the index name (names the task).
    """

    def __init__(
        self,
        rebuild: Rebuild,
        *,
        lease: Lease,
        stats: IndexerStats,
        backoff: Backoff,
        progress: Progress | None = None,
        name: str = "customers",
    ) -> None:
        self.rebuild = rebuild
        self.lease = lease
        self.stats = stats
        self.backoff = backoff
        self.progress = progress
        self.name = name
        self.wanted: str | None = None  # the reason of the reindex to start next
        self.error: BaseException | None = None  # why the last reindex failed (None: it did not)
        self.copy_progress: tuple[int, int] | None = None  # (copied, total) while copying
        self.serving_request: datetime | None = None  # the request the running reindex serves
        self._request_pending: datetime | None = None  # a `customers reindex` request to serve
        self._handled_request: datetime | None = None  # the newest request taken
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<ReindexRunner {self.name!r} wanted={self.wanted!r} running={self.running}>"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def idle(self) -> bool:
        """No reindex wanted or running."""
        return self.wanted is None and not self.running

    def want(self, reason: str, *, keep: bool = False) -> None:
        """Want a reindex for ``reason`` (``keep``: unless one is wanted already)."""
        if not (keep and self.wanted is not None):
            self.wanted = reason

    # -- requests of `customers reindex` --------------------------------------------------
    def resume_requests(self, doc: Mapping[str, Any]) -> None:
        """At a session start: a request in state document ``doc`` that no finished reindex
        served (the previous holder stopped first) is served now."""
        requested = doc.get("reindex_requested_at")
        self._handled_request = self._handled_request or requested
        if requested and not _served(doc.get("last_reindex"), requested):
            self._request_pending = requested
            self.want(REQUESTED, keep=True)

    def take_request(self, doc: Mapping[str, Any]) -> None:
        """Take a new request from state document ``doc`` (each is served once)."""
        requested = doc.get("reindex_requested_at")
        if isinstance(requested, datetime) and (
            self._handled_request is None or requested > self._handled_request
        ):
            self._handled_request = requested
            self._request_pending = requested
            self.want(REQUESTED, keep=True)

    # -- the task -------------------------------------------------------------------------
    def maybe_start(self) -> None:
        """Start the wanted reindex unless one runs (called by the sync loop between reads)."""
        if self.wanted is None or self.running:
            return
        reason, self.wanted = self.wanted, None
        self.serving_request, self._request_pending = self._request_pending, None
        self._task = asyncio.create_task(self._run(reason), name=f"indexer-reindex-{self.name}")

    async def cancel(self) -> None:
        """Stop the running reindex, if any (its generation is dropped; it runs again later)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self, reason: str) -> None:
        try:
            try:
                await self.rebuild(
                    reason=reason, progress=self._copied, request=self.serving_request
                )
            finally:
                self.copy_progress = None
            self.stats.reindexes += 1
            self.error = None
        except asyncio.CancelledError:
            raise
        except LeaseLost:
            self.lease.note_lost()
        except Exception as exc:
            self.error = exc
            log.exception("full reindex failed; it will be retried")
            await asyncio.sleep(self.backoff.delay(3))
            self.want(reason, keep=True)
            self._request_pending = self._request_pending or self.serving_request

    def _copied(self, copied: int, total: int) -> None:
        self.copy_progress = (copied, total)
        if self.progress is not None:
            self.progress(copied, total)


def _served(last: Any, requested: Any) -> bool:
    """Whether ``last`` (a ``last_reindex``) served a request made at ``requested`` or later."""
    served = last.get("request") if isinstance(last, Mapping) else None
    if not isinstance(served, datetime) or not isinstance(requested, datetime):
        return False
    return _aware(served) >= _aware(requested)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
