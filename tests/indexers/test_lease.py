"""The lease (:mod:`indexers.lease`): one holder, standby, expiry, dead holders, renewal, loss."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from indexers.lease import Lease, active_holder
from indexers.state import IndexerState, LeaseLost
from tests.indexers.sync_support import until
from tests.indexers.test_sync import run


def test_one_holder_the_other_stands_by_until_it_is_released(
    mongodb_uri: str, database_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(db: Any, _root: Path) -> None:
        state = IndexerState(db)
        a, b = Lease(state, "a", ttl=30), Lease(state, "b", ttl=30)
        never = asyncio.Event()
        assert await a.acquire(never, wait=False)
        assert await a.acquire(never, wait=False)  # ours already: taken again
        assert not await b.acquire(never, wait=False)
        with caplog.at_level(logging.INFO, logger="customers.indexer"):
            assert not await b.acquire(never, wait=True, timeout=0.5)
        assert caplog.text.count("standing by") == 1
        assert active_holder(await state.load()) == "a"
        standby = asyncio.ensure_future(b.acquire(never, wait=True))
        await asyncio.sleep(0.1)
        assert not standby.done()
        await a.release()
        assert await asyncio.wait_for(standby, 5)  # taken within a second of the release
        assert active_holder(await state.load()) == "b"
        stop = asyncio.Event()
        waiting = asyncio.ensure_future(a.acquire(stop, wait=True))
        stop.set()
        assert not await waiting  # a stop ends the standby

    run(mongodb_uri, database_name, Path("."), body)


def exited_pid() -> int:
    """The pid of a process of this host that has exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True, text=True)  # fmt: skip
    return int(child.stdout)


def test_an_expired_lease_or_a_dead_holder_here_is_taken_over(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        state = IndexerState(db)
        never = asyncio.Event()
        assert await Lease(state, "short", ttl=0.2).acquire(never, wait=False)
        late = Lease(state, "late", ttl=30)

        async def expired() -> bool:
            return active_holder(await state.load()) is None

        await until(expired)
        assert await late.acquire(never, wait=False)
        dead = f"{socket.gethostname()}:{exited_pid()}:abc123"
        expires = datetime.now(UTC) + timedelta(minutes=5)
        await state.collection.update_one(
            {"_id": state.name}, {"$set": {"owner": dead, "lease_expires_at": expires}}
        )
        assert active_holder(await state.load()) is None  # a crashed process holds nothing
        assert await late.acquire(never, wait=False)

    run(mongodb_uri, database_name, Path("."), body)


def test_renewals_pass_on_requests_and_notice_a_lost_lease(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        state = IndexerState(db)
        lease = Lease(state, "me", ttl=0.3)
        assert await lease.acquire(asyncio.Event(), wait=False)
        docs: list[Mapping[str, Any]] = []
        keeper = asyncio.ensure_future(lease.keep(docs.append))
        await state.collection.update_one({"_id": state.name}, {"$set": {"repair_ids": ["x"]}})
        await until(lambda: any(d.get("repair_ids") == ["x"] for d in docs))
        assert active_holder(await state.load()) == "me"  # renewed past its 0.3 s
        lease.check()
        await state.collection.update_one({"_id": state.name}, {"$set": {"owner": "thief"}})
        await asyncio.wait_for(keeper, 5)  # the renewal found another owner
        assert lease.lost
        with pytest.raises(LeaseLost):
            lease.check()
        with pytest.raises(LeaseLost):  # every state write is fenced by owner as well
            await state.fenced_set("me", {"anything": 1})

    run(mongodb_uri, database_name, Path("."), body)


class RenewalCutShort(IndexerState):
    """The real state document, whose renewal reports a cancellation as a driver error (what
    PyMongo can do when the task is cancelled with an operation in flight)."""

    renewing = asyncio.Event()
    given_up = False  # then a renewal finds the lease lost (a keeper that missed its cancel ends)

    async def renew(self, owner: str, ttl: float) -> dict[str, Any]:
        if self.given_up:
            raise LeaseLost(owner)
        self.renewing.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise AutoReconnect("connection closed") from None
        return await super().renew(owner, ttl)


def test_a_cancelled_keeper_stops_even_if_the_driver_reports_an_error_instead(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        state = RenewalCutShort(db)
        RenewalCutShort.renewing, RenewalCutShort.given_up = asyncio.Event(), False
        lease = Lease(state, "a", ttl=0.3)
        assert await lease.acquire(asyncio.Event(), wait=False)
        keeper = asyncio.ensure_future(lease.keep())
        await asyncio.wait_for(RenewalCutShort.renewing.wait(), 5)
        keeper.cancel()
        done, _ = await asyncio.wait({keeper}, timeout=3)
        RenewalCutShort.given_up = True  # so that a failing run ends instead of hanging
        assert done, "the keeper went on renewing after it was cancelled"
        assert keeper.cancelled()

    run(mongodb_uri, database_name, Path("."), body)
