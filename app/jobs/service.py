"""What routes use to submit and follow jobs (:class:`Jobs`, on the runtime's loop).

Submitting is two steps so that an upload can stream straight into the job's directory:
:meth:`Jobs.reserve` gives the id and the directory, :meth:`Jobs.submit` queues the job once
its files are there (:meth:`Jobs.discard` if the upload failed). The methods that touch MongoDB
are coroutines for the runtime's loop: ``await`` them in an async view, or run them with
:func:`app.webapp.run` from a sync one (a view streaming a request body must be sync, so that
its blocking reads stay off the loop).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app import errors
from app.entities.values import utcnow
from app.jobs.model import JobState, new_job_id, view
from app.jobs.runner import JobRunner
from app.jobs.store import JobStore

__all__ = ["Jobs"]


class Jobs:
    """Submit, look up and cancel jobs; files under ``root/<job id>/``."""

    def __init__(self, store: JobStore, runner: JobRunner) -> None:
        self.store = store
        self.runner = runner
        self.root = runner.root

    def reserve(self, kind: str) -> tuple[str, Path]:
        """A new job id and its (empty) directory, for files the job will read."""
        job_id = new_job_id()
        directory = self.directory(job_id)
        directory.mkdir(parents=True, exist_ok=False)
        return job_id, directory

    def directory(self, job_id: str) -> Path:
        """Where the job's files are (whether or not it exists)."""
        return self.root / job_id

    def file(self, job_id: str, name: str) -> Path | None:
        """A file the job wrote (``name`` is the handler's, never the client's), if it exists."""
        path = self.directory(job_id) / name
        return path if path.is_file() else None

    async def submit(
        self, job_id: str, kind: str, params: Mapping[str, Any], *, created_by: str | None
    ) -> dict[str, Any]:
        """Queue a reserved job; its view."""
        now = utcnow()
        doc: dict[str, Any] = {
            "_id": job_id,
            "kind": kind,
            "state": JobState.QUEUED.value,
            "node": self.runner.node,
            "params": dict(params),
            "progress": {"done": 0, "total": None},
            "counts": {},
            "errors": [],
            "error": None,
            "result": None,
            "checkpoint": None,
            "attempts": 0,
            "cancel_requested": False,
            "created_by": created_by,
            "created_at": now,
            "started_at": None,
            "finished_at": None,
        }
        await self.store.insert(doc)
        self.runner.wake()
        return view(doc)

    async def get(self, job_id: str, *, kind: str | None = None) -> dict[str, Any] | None:
        """The job's view; ``None`` if there is none (of ``kind``, when given)."""
        doc = await self.store.get(job_id)
        if doc is None or (kind is not None and doc["kind"] != kind):
            return None
        return view(doc)

    async def find(self, job_id: str, *, kind: str, label: str) -> dict[str, Any]:
        """The view of the job of ``kind``; ``not_found`` naming it as ``label`` ("Import
        with id: … was not found") when there is none."""
        view = await self.get(job_id, kind=kind)
        if view is None:
            raise errors.entity_not_found(label, job_id)
        return view

    async def cancel(self, job_id: str, *, kind: str | None = None) -> dict[str, Any] | None:
        """Cancel a queued job, or ask a running one to stop; its view (``None``: no job)."""
        if await self.get(job_id, kind=kind) is None:
            return None
        doc = await self.store.cancel(job_id)
        return view(doc) if doc is not None else None

    def discard(self, job_id: str) -> None:
        """Forget a reserved job that was never submitted (its upload failed)."""
        shutil.rmtree(self.directory(job_id), ignore_errors=True)
