"""The PyMongo internals the change stream relies on (:mod:`indexers.driver`), on a real stream.

If one of these fails after a PyMongo upgrade, the indexer still works, but batches flush by
size and time only: read ``indexers/driver.py`` and adapt it to the new driver.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pymongo
from pymongo import AsyncMongoClient, monitoring

from indexers.driver import INTERNALS, missing_internals, next_change
from tests.indexers.sync_support import raw_customer
from tests.indexers.test_sync import run


def test_the_private_attributes_are_still_there(mongodb_uri: str, database_name: str) -> None:
    async def body(db: Any, _root: Path) -> None:
        async with await db.customers.watch() as stream:
            missing = missing_internals(stream)
        assert not missing, (
            f"PyMongo {pymongo.version} no longer has {', '.join(missing)}: indexers/driver.py "
            "relies on them (see its docstring); the indexer now flushes by size and time only"
        )
        assert len(INTERNALS) == 3

    run(mongodb_uri, database_name, Path("."), body)


def test_next_change_says_whether_the_server_reply_is_used_up(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        async with await db.customers.watch(max_await_time_ms=50) as stream:
            await db.customers.insert_many([raw_customer(n) for n in range(3)])
            seen = [await next_change(stream, max_await_ms=50) for _ in range(4)]
        ids = [None if change is None else change["documentKey"]["_id"] for change, _ in seen]
        assert ids == ["cus_0000000", "cus_0000001", "cus_0000002", None]
        assert [buffered for _, buffered in seen] == [True, True, False, False]

    run(mongodb_uri, database_name, Path("."), body)


class GetMores(monitoring.CommandListener):
    """The ``maxTimeMS`` of every ``getMore`` the client sends."""

    def __init__(self) -> None:
        self.waits: list[int | None] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "getMore":
            self.waits.append(event.command.get("maxTimeMS"))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def test_next_change_sets_how_long_the_next_getmore_waits(
    mongodb_uri: str, database_name: str
) -> None:
    """The wait is asserted on the command sent, not timed: a shared server may answer an
    awaitData ``getMore`` early when anything is written to it (CI saw a 0.4 s wait end at
    0.185 s), which is allowed and harmless to the indexer."""
    get_mores = GetMores()

    async def main() -> None:
        mongo = AsyncMongoClient(mongodb_uri, tz_aware=True, event_listeners=[get_mores])
        try:
            async with await mongo[database_name].customers.watch(max_await_time_ms=2) as stream:
                await next_change(stream, max_await_ms=2)  # the stream is idle
                assert stream._cursor._max_await_time_ms == 2
                change, _ = await next_change(stream, max_await_ms=400)
                assert change is None and stream._cursor._max_await_time_ms == 400
        finally:
            await mongo.close()

    asyncio.run(main())
    assert get_mores.waits[:2] == [2, 400], get_mores.waits
