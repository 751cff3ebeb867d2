"""The ``jobs`` collection: every state change of a job is one conditional update.

The conditions make the runner safe beside other processes on the same database: a queued job
is claimed by exactly one runner (``find_one_and_update`` on ``state: queued``), only the
running job's owner writes its progress, and a job whose owner stopped renewing its lease is
recovered once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.entities.values import utcnow
from app.jobs.model import JobState

__all__ = ["INTERRUPTED", "JobStore"]

Doc = dict[str, Any]

INTERRUPTED = "The service stopped while the job ran; submit it again."
"""Why an interrupted job that cannot resume ended ``failed``."""


class JobStore:
    """Reads and conditional writes of job documents."""

    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        """The runner's two queries: the next queued job, and running jobs whose lease ran out."""
        await self.collection.create_index(
            [("state", ASCENDING), ("node", ASCENDING), ("created_at", ASCENDING)]
        )

    async def insert(self, doc: Doc) -> None:
        await self.collection.insert_one(doc)

    async def get(self, job_id: str) -> Doc | None:
        return await self.collection.find_one({"_id": job_id})

    async def claim(self, node: str, owner: str, lease: float) -> Doc | None:
        """Take the oldest queued job of ``node`` (its files are in this data directory)."""
        now = utcnow()
        return await self.collection.find_one_and_update(
            {"state": JobState.QUEUED, "node": node},
            {"$set": {"state": JobState.RUNNING, "owner": owner, "started_at": now,
                      "lease_until": now + timedelta(seconds=lease)}},
            sort=[("created_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )  # fmt: skip

    async def update_running(self, job_id: str, fields: Doc) -> bool:
        """Write a running job's progress; whether cancelling it was asked for."""
        doc = await self.collection.find_one_and_update(
            {"_id": job_id, "state": JobState.RUNNING},
            {"$set": fields},
            projection={"cancel_requested": 1},
        )
        return bool(doc and doc.get("cancel_requested"))

    async def renew(self, job_id: str, owner: str, lease: float) -> None:
        """Extend the lease of a job this runner runs."""
        await self.collection.update_one(
            {"_id": job_id, "owner": owner, "state": JobState.RUNNING},
            {"$set": {"lease_until": utcnow() + timedelta(seconds=lease)}},
        )

    async def finish(
        self, job_id: str, state: JobState, *, result: Doc | None = None, error: str | None = None
    ) -> None:
        """End a running job."""
        await self.collection.update_one(
            {"_id": job_id, "state": JobState.RUNNING},
            {"$set": {"state": state, "result": result, "error": error,
                      "finished_at": utcnow(), "owner": None, "lease_until": None}},
        )  # fmt: skip

    async def requeue(self, job_id: str, *, owner: str | None = None) -> None:
        """Put an interrupted resumable job back in the queue; its checkpoint stays.

        ``owner``: the runner that stops it; ``None``: a runner that died (its lease ran out).
        """
        match: Doc = {"_id": job_id, "state": JobState.RUNNING}
        if owner is not None:
            match["owner"] = owner
        else:
            match["lease_until"] = {"$lt": utcnow()}
        await self.collection.update_one(
            match,
            {"$set": {"state": JobState.QUEUED, "owner": None, "lease_until": None},
             "$inc": {"attempts": 1}},
        )  # fmt: skip

    async def expired(self, node: str) -> list[Doc]:
        """Running jobs of ``node`` whose runner stopped renewing their lease (it died)."""
        cursor = self.collection.find(
            {"state": JobState.RUNNING, "node": node, "lease_until": {"$lt": utcnow()}},
            {"kind": 1, "attempts": 1},
        )
        return [doc async for doc in cursor]

    async def fail_expired(self, job_id: str, reason: str) -> None:
        """End a job whose runner died, unless another runner recovered it first."""
        await self.collection.update_one(
            {"_id": job_id, "state": JobState.RUNNING, "lease_until": {"$lt": utcnow()}},
            {"$set": {"state": JobState.FAILED, "error": reason, "finished_at": utcnow(),
                      "owner": None, "lease_until": None}},
        )  # fmt: skip

    async def cancel(self, job_id: str) -> Doc | None:
        """Cancel a queued job at once; ask a running one to stop (at its next report)."""
        now = utcnow()
        doc = await self.collection.find_one_and_update(
            {"_id": job_id, "state": JobState.QUEUED},
            {"$set": {"state": JobState.CANCELLED, "finished_at": now, "cancel_requested": True}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            return doc
        await self.collection.update_one(
            {"_id": job_id, "state": JobState.RUNNING}, {"$set": {"cancel_requested": True}}
        )
        return await self.get(job_id)

    async def delete(self, job_id: str) -> None:
        await self.collection.delete_one({"_id": job_id})
