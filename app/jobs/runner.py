"""Runs a process's queued jobs, one at a time, on the runtime's loop.

One at a time because jobs are bulk work on a shared machine: two imports at once would only
take turns on the same CPU and database while slowing the API for everyone. The runner holds a
lease on the job it runs (renewed every third of its length); a job whose lease ran out
belonged to a process that died, and is recovered by the next runner on the same node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pymongo.errors import PyMongoError

from app.errors import CustomerModuleError
from app.jobs.context import JobCancelled, JobContext
from app.jobs.model import JobState
from app.jobs.registry import JobKind, kind_of
from app.jobs.store import INTERRUPTED, JobStore

if TYPE_CHECKING:
    from app.service import CustomerModuleService

__all__ = ["MAX_ATTEMPTS", "JobRunner", "node_of"]

MAX_ATTEMPTS = 3
"""Runs a resumable job gets before an interruption ends it ``failed`` (a job that kills its
process each time must not do so forever)."""

log = logging.getLogger("customers.jobs")


def node_of(root: Path) -> str:
    """The node a job's files live on: this host's jobs directory."""
    return f"{socket.gethostname()}:{root.resolve()}"


class JobRunner:
    """Claims queued jobs of its node and runs them by their kind's handler."""

    def __init__(
        self,
        store: JobStore,
        service: CustomerModuleService,
        root: Path,
        *,
        lease_seconds: float = 30.0,
        poll_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.service = service
        self.root = root
        self.node = node_of(root)
        self.owner = f"{self.node}:{os.getpid()}:{id(self)}"
        self.lease = lease_seconds
        self.poll = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll (call on the loop)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run jobs until ``stop`` is set; the job running then is interrupted (requeued if
        its kind resumes, else failed)."""
        await self.store.ensure_indexes()
        while not stop.is_set():
            try:
                await self._recover()
                doc = await self.store.claim(self.node, self.owner, self.lease)
                if doc is not None:
                    await self._run_one(doc, stop)
                    continue
            except PyMongoError:  # MongoDB away: the jobs wait for it like every request
                log.warning("jobs: MongoDB unavailable, retrying")
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waiters, timeout=self.poll, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def _recover(self) -> None:
        """Requeue or fail the jobs of dead runners of this node."""
        for doc in await self.store.expired(self.node):
            kind = kind_of(doc.get("kind", ""))
            if kind is not None and kind.resumable and doc.get("attempts", 0) + 1 < MAX_ATTEMPTS:
                log.info("jobs: resuming %s (%s) after an interruption", doc["_id"], doc["kind"])
                await self.store.requeue(doc["_id"])
            else:
                await self.store.fail_expired(doc["_id"], INTERRUPTED)

    async def _run_one(self, doc: dict[str, Any], stop: asyncio.Event) -> None:
        kind = kind_of(doc["kind"])
        if kind is None:
            await self.store.finish(doc["_id"], JobState.FAILED, error="Unknown job kind.")
            return
        ctx = JobContext(
            id=doc["_id"],
            kind=doc["kind"],
            params=doc.get("params") or {},
            checkpoint=doc.get("checkpoint"),
            directory=self.root / doc["_id"],
            service=self.service,
            _store=self.store,
        )
        ctx.directory.mkdir(parents=True, exist_ok=True)
        work = asyncio.ensure_future(kind.handler(ctx))
        renewing = asyncio.ensure_future(self._renew(ctx.id))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([work, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            renewing.cancel()
            stopping.cancel()
        if not work.done():
            await self._interrupt(work, ctx.id, kind)
            return
        await self._finish(work, ctx.id, kind.name)

    async def _renew(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            with contextlib.suppress(PyMongoError):
                await self.store.renew(job_id, self.owner, self.lease)

    async def _interrupt(self, work: asyncio.Future[Any], job_id: str, kind: JobKind) -> None:
        """The process stops: cancel the handler, then requeue or fail its job."""
        work.cancel()
        with contextlib.suppress(BaseException):
            await work
        if kind.resumable:
            await self.store.requeue(job_id, owner=self.owner)
        else:
            await self.store.finish(job_id, JobState.FAILED, error=INTERRUPTED)

    async def _finish(self, work: asyncio.Future[dict[str, Any]], job_id: str, kind: str) -> None:
        """Record how the handler ended (its result, a cancel, or why it failed)."""
        try:
            result = work.result()
        except JobCancelled:
            await self.store.finish(job_id, JobState.CANCELLED)
        except CustomerModuleError as exc:
            await self.store.finish(job_id, JobState.FAILED, error=str(exc))
        except Exception as exc:  # a job's failure must not stop the runner
            # The type only: a message could quote customer data, which stays out of logs.
            log.error("jobs: %s (%s) failed: %s", job_id, kind, type(exc).__name__)
            await self.store.finish(job_id, JobState.FAILED, error="The job failed unexpectedly.")
        else:
            await self.store.finish(job_id, JobState.SUCCEEDED, result=result)
