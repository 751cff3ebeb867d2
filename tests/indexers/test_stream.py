"""The change feed (:mod:`indexers.stream`): batching decisions, projection, resume, the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from indexers.mongo import ServerTraits
from indexers.stream import TAIL_BATCH, ChangeFeed, Read, StreamEnded
from tests.indexers.sync_support import raw_customer
from tests.indexers.test_sync import run


def feed(db: Any, **options: Any) -> ChangeFeed:
    options.setdefault("batch_size", 1000)
    options.setdefault("flush_interval", 60.0)  # no flush by age unless a test asks for it
    options.setdefault("max_await_ms", 50)
    options.setdefault("project_events", None)
    return ChangeFeed(db.customers, ServerTraits(db), **options)


def test_a_small_reply_is_the_end_of_the_stream_and_flushes_at_once(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        changes = feed(db)
        await changes.open(None)
        await db.customers.insert_many([raw_customer(n) for n in range(3)])
        reads = [await changes.read() for _ in range(3)]
        assert reads == [
            Read(False, False, False),
            Read(False, False, False),
            Read(False, True, True),
        ]
        assert [e["documentKey"]["_id"] for e in changes.pending] == [
            "cus_0000000",
            "cus_0000001",
            "cus_0000002",
        ]
        changes.applied()
        assert changes.pending == []
        assert await changes.read() == Read(at_end=True, due=False, exact=True)
        await changes.close()

    run(mongodb_uri, database_name, Path("."), body)


def test_a_big_reply_is_a_backlog_and_the_batch_keeps_filling(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        changes = feed(db)
        await changes.open(None)
        count = TAIL_BATCH + 36
        await db.customers.insert_many([raw_customer(n) for n in range(count)])
        reads = [await changes.read() for _ in range(count)]
        assert not any(r.due for r in reads)  # one reply of 100: not the stream's end yet
        assert await changes.read() == Read(at_end=True, due=True, exact=True)
        assert len(changes.pending) == count
        await changes.close()

    run(mongodb_uri, database_name, Path("."), body)


def test_a_full_or_old_batch_is_due(mongodb_uri: str, database_name: str) -> None:
    async def body(db: Any, _root: Path) -> None:
        await db.customers.insert_many([raw_customer(n) for n in range(TAIL_BATCH + 10)])
        async with await db.customers.watch() as stream:
            start = stream.resume_token
        await db.customers.insert_many([raw_customer(n) for n in range(100, 300)])
        full = feed(db, batch_size=150)  # replies of 150: the 150th event fills the batch
        await full.open(start)
        reads = [await full.read() for _ in range(150)]
        assert [i for i, r in enumerate(reads) if r.due] == [149]
        await full.close()
        old = feed(db, flush_interval=0.0)  # every event is as old as the limit
        await old.open(start)
        assert (await old.read()).due
        await old.close()

    run(mongodb_uri, database_name, Path("."), body)


def test_events_carry_only_the_indexed_fields_except_on_secantusdb(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        projected, plain = feed(db, project_events=True), feed(db)
        await projected.open(None)
        await plain.open(None)
        addresses = [{"id": "cuaddr_1", "address_1": "x" * 100}]
        await db.customers.insert_one(
            raw_customer(1, metadata={"big": "x" * 100}, addresses=addresses)
        )
        await projected.read()
        await plain.read()
        assert "addresses" not in projected.pending[0]["fullDocument"]
        assert projected.pending[0]["fullDocument"]["email"] == "user1@example.com"
        # the response document the index stores holds the metadata
        assert projected.pending[0]["fullDocument"]["metadata"] == {"big": "x" * 100}
        assert await ServerTraits(db).embedded() and plain.project_events is False
        assert plain.pending[0]["fullDocument"]["metadata"] == {"big": "x" * 100}
        await projected.close()
        await plain.close()

    run(mongodb_uri, database_name, Path("."), body)


def test_a_dropped_collection_ends_the_stream_and_keeps_the_batch(
    mongodb_uri: str, database_name: str
) -> None:
    async def body(db: Any, _root: Path) -> None:
        changes = feed(db)
        await changes.open(None)
        await db.customers.insert_one(raw_customer(1))
        await db.customers.drop()
        await changes.read()
        with pytest.raises(StreamEnded, match="change stream ended by 'drop'"):
            await changes.read()
        assert len(changes.pending) == 1  # the sync loop applies it before the reindex
        await changes.close()

    run(mongodb_uri, database_name, Path("."), body)
