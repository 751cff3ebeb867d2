"""Background jobs (``app.jobs``) on a real MongoDB: run, fail, cancel, interrupt, resume."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from app.errors import InvalidData
from app.jobs import JobCancelled, JobContext, JobRunner, Jobs, register
from app.jobs.model import MAX_ERRORS_KEPT
from app.jobs.store import INTERRUPTED, JobStore
from tests.conftest import SyncService

_kinds = itertools.count()


def _kind(handler: Callable[[JobContext], Awaitable[dict[str, Any]]], **options: Any) -> str:
    """Register ``handler`` under a kind of this test's own."""
    name = f"test_kind_{next(_kinds)}"
    register(name, handler, **options)
    return name


class Harness:
    """A runner on the test's database, run on the service's loop until a condition holds."""

    def __init__(self, service: SyncService, root: Path) -> None:
        self.service = service
        self.store = JobStore(service.aio.store.database["jobs"])
        self.runner = JobRunner(self.store, service.aio, root, lease_seconds=0.6, poll_seconds=0.05)
        self.jobs = Jobs(self.store, self.runner)

    def submit(self, kind: str, params: dict[str, Any] | None = None) -> str:
        job_id, _ = self.jobs.reserve(kind)
        self.service.run(self.jobs.submit(job_id, kind, params or {}, created_by="user_1"))
        return job_id

    def run_until(self, done: Callable[[dict[str, Any]], bool], job_id: str) -> dict[str, Any]:
        """Run a runner until the job's view satisfies ``done``; stop it; the final view."""

        async def go() -> dict[str, Any]:
            stop = asyncio.Event()
            task = asyncio.ensure_future(self.runner.run(stop))
            try:
                for _ in range(400):
                    view = await self.jobs.get(job_id)
                    assert view is not None
                    if done(view):
                        break
                    await asyncio.sleep(0.025)
                else:
                    pytest.fail(f"job never reached the expected state: {view}")
            finally:
                stop.set()
                await task
            final = await self.jobs.get(job_id)
            assert final is not None
            return final

        return self.service.run(go())

    def state(self, job_id: str) -> dict[str, Any]:
        view = self.service.run(self.jobs.get(job_id))
        assert view is not None
        return view


def _ended(view: dict[str, Any]) -> bool:
    return view["state"] in {"succeeded", "failed", "cancelled"}


@pytest.fixture
def jobs(service: SyncService, tmp_path: Path) -> Harness:
    return Harness(service, tmp_path)


def test_a_job_runs_reports_progress_and_keeps_its_result(jobs: Harness) -> None:
    async def handler(ctx: JobContext) -> dict[str, Any]:
        (ctx.directory / "out.txt").write_text(str(ctx.params["n"]))
        await ctx.report(done=3, total=3, counts={"created": 3}, errors=["e1"], force=True)
        return {"file": "out.txt"}

    job_id = jobs.submit(_kind(handler), {"n": 7})
    queued = jobs.state(job_id)
    assert queued["state"] == "queued" and queued["created_by"] == "user_1"
    view = jobs.run_until(_ended, job_id)
    assert view["state"] == "succeeded"
    assert view["result"] == {"file": "out.txt"}
    assert view["progress"] == {"done": 3, "total": 3}
    assert view["counts"] == {"created": 3}
    assert view["errors"] == ["e1"]
    assert view["started_at"] and view["finished_at"]
    out = jobs.jobs.file(job_id, "out.txt")
    assert out is not None and out.read_text() == "7"
    assert jobs.jobs.file(job_id, "missing.txt") is None


def test_a_job_keeps_only_its_first_errors(jobs: Harness) -> None:
    async def handler(ctx: JobContext) -> dict[str, Any]:
        for i in range(MAX_ERRORS_KEPT + 5):
            await ctx.report(errors=[i])
        await ctx.report(force=True, done=1)
        return {}

    view = jobs.run_until(_ended, jobs.submit(_kind(handler)))
    assert view["errors"] == list(range(MAX_ERRORS_KEPT))


def test_a_failing_job_ends_failed_with_a_reason(jobs: Harness) -> None:
    async def refused(ctx: JobContext) -> dict[str, Any]:
        raise InvalidData("The file has no header")

    async def crashed(ctx: JobContext) -> dict[str, Any]:
        raise RuntimeError("secret customer value")

    view = jobs.run_until(_ended, jobs.submit(_kind(refused)))
    assert view["state"] == "failed" and view["error"] == "The file has no header"
    view = jobs.run_until(_ended, jobs.submit(_kind(crashed)))
    assert view["state"] == "failed"
    assert "secret" not in view["error"]


def test_cancelling_a_queued_job_ends_it_at_once(jobs: Harness) -> None:
    ran = []

    async def handler(ctx: JobContext) -> dict[str, Any]:
        ran.append(ctx.id)
        return {}

    job_id = jobs.submit(_kind(handler))
    cancelled = jobs.service.run(jobs.jobs.cancel(job_id))
    assert cancelled is not None and cancelled["state"] == "cancelled"
    other = jobs.submit(_kind(handler))
    jobs.run_until(_ended, other)
    assert ran == [other]
    assert jobs.service.run(jobs.jobs.cancel("job_missing")) is None


def test_cancelling_a_running_job_stops_it_at_its_next_report(jobs: Harness) -> None:
    async def handler(ctx: JobContext) -> dict[str, Any]:
        for i in range(1000):
            await ctx.report(done=i, force=True)
            await asyncio.sleep(0.01)
        return {"finished": True}

    job_id = jobs.submit(_kind(handler))

    def running_then_cancel(view: dict[str, Any]) -> bool:
        if view["state"] == "running" and view["progress"]["done"]:
            jobs.service.loop.create_task(jobs.jobs.cancel(job_id))
        return _ended(view)

    view = jobs.run_until(running_then_cancel, job_id)
    assert view["state"] == "cancelled"
    assert view["result"] is None


def _slow(resumable_from: list[Any]) -> Callable[[JobContext], Awaitable[dict[str, Any]]]:
    """A handler counting to 20, saving its position, recording where each run started."""

    async def handler(ctx: JobContext) -> dict[str, Any]:
        start = (ctx.checkpoint or {}).get("next", 0)
        resumable_from.append(start)
        for i in range(start, 20):
            await ctx.report(done=i + 1, checkpoint={"next": i + 1}, force=True)
            await asyncio.sleep(0.02)
        return {"counted": 20}

    return handler


def test_a_stopped_resumable_job_resumes_from_its_checkpoint(jobs: Harness) -> None:
    starts: list[Any] = []
    job_id = jobs.submit(_kind(_slow(starts), resumable=True))
    view = jobs.run_until(lambda v: v["progress"]["done"] >= 5, job_id)
    assert view["state"] == "queued"  # the runner stopped: back in the queue
    view = jobs.run_until(_ended, job_id)
    assert view["state"] == "succeeded" and view["result"] == {"counted": 20}
    assert starts[0] == 0 and starts[1] >= 5


def test_a_stopped_job_that_cannot_resume_ends_failed(jobs: Harness) -> None:
    starts: list[Any] = []
    job_id = jobs.submit(_kind(_slow(starts)))
    view = jobs.run_until(lambda v: v["progress"]["done"] >= 2, job_id)
    assert view["state"] == "failed" and view["error"] == INTERRUPTED


def test_a_job_of_a_dead_runner_is_recovered(jobs: Harness) -> None:
    starts: list[Any] = []
    resumable = _kind(_slow(starts), resumable=True)
    once = _kind(_slow([]))
    ids = [jobs.submit(resumable), jobs.submit(once)]

    async def die_holding_both() -> None:
        # A runner that claimed both jobs and died: no renewals, leases run out.
        for _ in ids:
            claimed = await jobs.store.claim(jobs.runner.node, "dead-owner", 0.1)
            assert claimed is not None
            await jobs.store.update_running(claimed["_id"], {"checkpoint": {"next": 4}})
        await asyncio.sleep(0.2)

    jobs.service.run(die_holding_both())
    view = jobs.run_until(_ended, ids[0])
    assert view["state"] == "succeeded" and starts == [4]
    assert jobs.state(ids[1])["state"] == "failed"
    assert jobs.state(ids[1])["error"] == INTERRUPTED


def test_a_handler_sees_cancellation_only_through_report(jobs: Harness) -> None:
    async def handler(ctx: JobContext) -> dict[str, Any]:
        try:
            await ctx.report(force=True)
        except JobCancelled:  # pragma: no cover - not cancelled here
            return {"cancelled": True}
        return {"cancelled": False}

    view = jobs.run_until(_ended, jobs.submit(_kind(handler)))
    assert view["result"] == {"cancelled": False}
