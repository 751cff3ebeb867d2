"""What one process of the service runs, and the order in which it starts and stops.

:func:`app.bootstrap.build_runtime` builds a :class:`Runtime` from the settings; the Flask app
(:mod:`app.webapp`) and the CLI only use it. Everything asynchronous runs on one event loop in a
background thread (:class:`LoopThread`), because PyMongo's ``AsyncMongoClient`` belongs to the
loop that opened it: the service's client, the search backend and the in-process indexer all
live there, and WSGI worker threads block on their results.

:meth:`Runtime.close` undoes it in the order a clean shutdown needs: a running job is
interrupted (requeued or failed, see :mod:`app.jobs`), the indexer stops (it saves its
checkpoint and releases its lease), the search backend and the MongoDB client close, the
loop stops, and the process leaves the embedded MongoDB (stopping it if it was the last user).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Coroutine, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from pymongo import AsyncMongoClient

    from app.config import Settings
    from app.embedded import EmbeddedServer
    from app.jobs import Jobs
    from app.readiness import Check
    from app.service import CustomerModuleService
    from indexers.backends.base import SearchBackend
    from indexers.reader import IndexReader
    from indexers.sync import Indexer

__all__ = ["LoopThread", "Runtime", "Search"]

T = TypeVar("T")

INDEXER_STOP_SECONDS = 15.0  # an indexer's last batch and checkpoint, at shutdown
JOBS_STOP_SECONDS = 10.0  # a running job's interruption (requeued or failed), at shutdown
CLOSE_SECONDS = 10.0  # a backend or client closing, at shutdown

log = logging.getLogger("customers.runtime")


class LoopThread:
    """An asyncio loop running forever in a daemon thread."""

    def __init__(self, name: str = "customers-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Start ``coro`` on the loop (from any other thread); its future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (from any other thread)."""
        if not asyncio.iscoroutine(coro):  # e.g. a future: wrapped, as the loop takes coroutines
            coro = _as_coroutine(coro)
        return self.submit(coro).result(timeout)

    def stop(self) -> None:
        """Stop the loop and join the thread."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


@dataclass(eq=False)
class Search:
    """The search side of a runtime: the index's backend, the service's reader of it, and the
    sync indexer when this process runs one."""

    backend: SearchBackend
    reader: IndexReader
    indexer: Indexer | None = None
    client: AsyncMongoClient[dict[str, Any]] | None = None  # the indexer's own (patient)


@dataclass(eq=False)
class Runtime:
    """One process's running service: loop, MongoDB client, service, search, metrics.

    Built (connected, not started) by :func:`app.bootstrap.build_runtime`; :meth:`start` starts
    the in-process indexer, :meth:`close` stops everything (idempotent).
    """

    settings: Settings
    loop: LoopThread
    client: AsyncMongoClient[dict[str, Any]]
    service: CustomerModuleService
    registry: CollectorRegistry  # this process's Prometheus metrics
    checks: Mapping[str, Check]  # readiness: name → check
    search: Search | None = None
    database_server: EmbeddedServer | None = None  # the embedded MongoDB handle we hold
    jobs: Jobs | None = None  # background jobs (imports, exports, scans) this process runs
    _jobs_stop: asyncio.Event | None = field(default=None, init=False)
    _jobs_run: Future[None] | None = field(default=None, init=False)
    _indexer_stop: asyncio.Event | None = field(default=None, init=False)
    _indexer_run: Future[None] | None = field(default=None, init=False)
    _closed: bool = field(default=False, init=False)

    @property
    def indexer(self) -> Indexer | None:
        """The sync indexer this process runs, if any."""
        return self.search.indexer if self.search is not None else None

    def run(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        """Run ``coro`` on the runtime's loop and wait for it (from a sync caller)."""
        return self.loop.run(coro, timeout)

    def start(self) -> None:
        """Start the in-process sync indexer and the job runner (tasks of the loop)."""
        if self.jobs is not None and self._jobs_run is None:
            self._jobs_stop = jobs_stop = asyncio.Event()
            self._jobs_run = self.loop.submit(self.jobs.runner.run(jobs_stop))
        indexer = self.indexer
        if indexer is None or self._indexer_run is not None:
            return
        self._indexer_stop = stop = asyncio.Event()
        self._indexer_run = self.loop.submit(indexer.run(stop))
        log.info("sync indexer started in this process")

    def close(self) -> None:
        """Stop the indexer, close the backend and the client, stop the loop, leave MongoDB."""
        if self._closed:
            return
        self._closed = True
        self._stop_task(self._jobs_stop, self._jobs_run, JOBS_STOP_SECONDS)
        self._stop_task(self._indexer_stop, self._indexer_run, INDEXER_STOP_SECONDS)
        if self.search is not None:
            self._best_effort("closing the search backend", self.search.backend.close())
            if self.search.client is not None:
                self._best_effort("closing the indexer's client", self.search.client.close())
        self._best_effort("closing the MongoDB client", self.client.close())
        self.loop.stop()
        if self.database_server is not None:
            self.database_server.stop()

    def _stop_task(
        self, stop: asyncio.Event | None, running: Future[None] | None, timeout: float
    ) -> None:
        """Let a loop task (the indexer: its batch, checkpoint and lease; the job runner: its
        job's interruption) finish after ``stop`` is set."""
        if stop is None or running is None:
            return
        self.loop.loop.call_soon_threadsafe(stop.set)
        with contextlib.suppress(Exception):
            running.result(timeout=timeout)

    def _best_effort(self, what: str, closing: Awaitable[None]) -> None:
        try:
            self.run(closing, timeout=CLOSE_SECONDS)
        except Exception:  # the rest of the shutdown must still happen
            log.warning("%s failed", what, exc_info=True)
