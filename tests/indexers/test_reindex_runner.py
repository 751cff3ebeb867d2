"""When the indexer reindexes (:mod:`indexers.reindex_runner`) and what it takes from others
(:mod:`indexers.inbox`). The rebuild itself is :mod:`indexers.reindex` (``test_reindex.py``);
here a scripted one stands in, so each scheduling rule can be driven step by step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from indexers.inbox import READ_EVERY, Inbox
from indexers.lease import Lease
from indexers.reindex_runner import REQUESTED, ReindexRunner
from indexers.retry import Backoff
from indexers.state import IndexerState, LeaseLost
from indexers.stats import IndexerStats
from tests.indexers.sync_support import client, until

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Script:
    """A rebuild that reports progress, then waits for ``outcome`` (None: success)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime | None]] = []
        self.release = asyncio.Event()
        self.outcome: BaseException | None = None

    async def __call__(
        self, *, reason: str, progress: Callable[[int, int], None], request: datetime | None
    ) -> None:
        self.calls.append((reason, request))
        progress(5, 10)
        await self.release.wait()
        self.release.clear()
        if self.outcome is not None:
            raise self.outcome


def scenario(mongodb_uri: str, test: Callable[[ReindexRunner, Script, Lease], Any]) -> None:
    async def main() -> None:
        mongo = client(mongodb_uri)
        lease = Lease(IndexerState(mongo["unused"]), "me", ttl=30)
        script = Script()
        seen: list[tuple[int, int]] = []
        runner = ReindexRunner(
            script, lease=lease, stats=IndexerStats(), backoff=Backoff(0.01, 0.01),
            progress=lambda done, total: seen.append((done, total)),
        )  # fmt: skip
        try:
            await test(runner, script, lease)
            assert seen == [(5, 10)] * len(script.calls)
        finally:
            await runner.cancel()
            await mongo.close()

    asyncio.run(main())


def test_a_wanted_reindex_runs_once_as_a_task_and_is_counted(mongodb_uri: str) -> None:
    async def test(runner: ReindexRunner, script: Script, lease: Lease) -> None:
        runner.want("history lost")
        runner.want("later reason", keep=True)  # an earlier reason is kept
        assert not runner.idle and not runner.running
        runner.maybe_start()
        runner.maybe_start()  # one at a time
        await until(lambda: runner.copy_progress == (5, 10))
        assert runner.running and runner.wanted is None
        script.release.set()
        await until(lambda: not runner.running)
        assert script.calls == [("history lost", None)]
        assert runner.idle and runner.stats.reindexes == 1 and runner.copy_progress is None

    scenario(mongodb_uri, test)


def test_a_failed_reindex_is_wanted_again_and_a_lost_lease_stops(mongodb_uri: str) -> None:
    async def test(runner: ReindexRunner, script: Script, lease: Lease) -> None:
        runner.take_request({"reindex_requested_at": T0})
        runner.maybe_start()
        script.outcome = RuntimeError("disk full")
        script.release.set()
        await until(lambda: runner.wanted is not None)
        assert isinstance(runner.error, RuntimeError) and runner.stats.reindexes == 0
        assert runner.wanted == REQUESTED
        runner.maybe_start()  # the retry serves the same request
        script.outcome = LeaseLost("me")
        script.release.set()
        await until(lambda: not runner.running)
        assert [request for _, request in script.calls] == [T0, T0]
        assert lease.lost and runner.idle
        script.outcome = None
        runner.want("again")
        runner.maybe_start()
        script.release.set()
        await until(lambda: runner.stats.reindexes == 1)
        assert runner.error is None

    scenario(mongodb_uri, test)


def test_each_customers_reindex_request_is_served_once(mongodb_uri: str) -> None:
    async def test(runner: ReindexRunner, script: Script, lease: Lease) -> None:
        served = {"reindex_requested_at": T0, "last_reindex": {"request": T0}}
        runner.resume_requests(served)  # a new session: that request was served already
        runner.take_request(served)
        assert runner.idle
        newer = T0 + timedelta(seconds=1)
        runner.take_request({"reindex_requested_at": newer})
        runner.take_request({"reindex_requested_at": newer})  # read again at every renewal
        assert runner.wanted == REQUESTED
        runner.maybe_start()
        script.release.set()
        await until(lambda: runner.idle)
        assert script.calls == [(REQUESTED, newer)]

    scenario(mongodb_uri, test)


def test_a_request_the_previous_holder_left_unserved_is_served(mongodb_uri: str) -> None:
    async def test(runner: ReindexRunner, script: Script, lease: Lease) -> None:
        runner.resume_requests(
            {"reindex_requested_at": T0, "last_reindex": {"request": T0 - timedelta(days=1)}}
        )
        runner.maybe_start()
        await until(lambda: runner.copy_progress is not None)
        await runner.cancel()  # the session ended: cancelled mid-way
        assert script.calls == [(REQUESTED, T0)] and runner.copy_progress is None

    scenario(mongodb_uri, test)


def test_the_inbox_takes_one_repair_at_a_time_and_reads_when_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox = Inbox()
    inbox.take({"repair_ids": ["a", "b"]})
    inbox.take({"repair_ids": ["c"]})  # the first one is not served yet
    assert inbox.take_repair() == ["a", "b"] and inbox.take_repair() is None
    now = [1000.0]
    monkeypatch.setattr("indexers.inbox.time.monotonic", lambda: now[0])
    assert inbox.due("t1")
    assert not inbox.due("t1")  # nothing moved
    assert inbox.due("t2")  # a write moved the stream (a request is a write)
    now[0] += READ_EVERY
    assert inbox.due("t2")  # and at least every READ_EVERY seconds
