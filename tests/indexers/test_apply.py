"""The write side (:mod:`indexers.apply`): events → ops, retries, dead letters, targets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from bson.timestamp import Timestamp

from indexers.apply import IndexWriter, Stopped, to_ops
from indexers.backends.base import Delete, Upsert
from indexers.backends.embedded import EmbeddedBackend
from indexers.documents import to_search_doc
from indexers.lease import Lease
from indexers.oplog import HistoryLost
from indexers.retry import Backoff
from indexers.state import IndexerState, LeaseLost
from indexers.stats import IndexerStats
from tests.indexers.sync_support import FlakyBackend, raw_customer, until
from tests.indexers.test_sync import run

AT = Timestamp(1_700_000_000, 3)
VERSION = (1_700_000_000 << 32) | 3


def event(kind: str, key: Any, document: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "operationType": kind,
        "clusterTime": AT,
        "documentKey": {"_id": key},
        "fullDocument": document,
    }


def test_events_become_whole_document_ops_at_their_cluster_time() -> None:
    doc = raw_customer(1)
    ops, bad = to_ops(
        [
            event("insert", doc["_id"], doc),
            event("update", "cus_gone", None),  # deleted since: a delete at the event's time
            event("delete", "cus_2"),
            event("delete", 42),  # an id the index cannot hold
            event("replace", "cus_bad", {"_id": "cus_bad"}),  # no created_at
            event("createIndexes", "x"),  # not a document event
        ]
    )
    assert ops == [
        Upsert(to_search_doc(doc, VERSION)),
        Delete("cus_gone", VERSION),
        Delete("cus_2", VERSION),
    ]
    assert [(key, version) for key, version, _ in bad] == [("42", VERSION), ("cus_bad", VERSION)]
    assert "must be a string" in bad[0][2] and "created_at" in bad[1][2]


class Parts:
    """A writer over a flaky tantivy backend, with its state and lease."""

    def __init__(self, db: Any, root: Path) -> None:
        self.backend = FlakyBackend(EmbeddedBackend(root))
        self.state = IndexerState(db)
        self.stats = IndexerStats()
        self.lease = Lease(self.state, "me", ttl=30)
        self.writer = IndexWriter(
            self.backend, self.state, self.stats, self.lease, Backoff(0.01, 0.05)
        )

    async def start(self) -> None:
        await self.backend.activate(await self.backend.create_generation())


def upsert(n: int, version: int = 1) -> Upsert:
    return Upsert(to_search_doc(raw_customer(n), version))


def test_a_failing_backend_gets_the_same_batch_again_until_it_recovers(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        parts = Parts(db, root)
        await parts.start()
        parts.backend.down = True
        applying = asyncio.ensure_future(
            parts.writer.apply([upsert(1), upsert(2)], asyncio.Event())
        )
        await until(lambda: parts.backend.failures >= 3)
        assert not applying.done() and parts.stats.applied == 0
        parts.backend.down = False
        await applying
        assert set(await parts.backend.versions(None)) == {"cus_0000001", "cus_0000002"}
        assert parts.stats.applied == 2 and parts.stats.upserts == 2
        assert parts.stats.retries >= 3
        stop = asyncio.Event()
        parts.backend.down = True
        applying = asyncio.ensure_future(parts.writer.apply([upsert(3)], stop))
        await until(lambda: parts.backend.failures >= 5)
        stop.set()  # a shutdown does not wait for the backend
        with pytest.raises(Stopped):
            await applying
        await parts.backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_refused_documents_are_dead_lettered_and_the_rest_applied(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        parts = Parts(db, root)
        await parts.start()
        parts.backend.reject.add("cus_0000002")
        await parts.writer.apply(
            [upsert(1, 5), upsert(2, 7), Delete("cus_0000003", 9)], asyncio.Event()
        )
        letters = [d async for d in parts.state.dead_letters.find()]
        assert [(d["customer_id"], d["version"]) for d in letters] == [("cus_0000002", 7)]
        assert parts.stats.dead_letters == 1
        assert set(await parts.backend.versions(None)) == {"cus_0000001"}
        await parts.backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_batches_go_to_every_target_a_reindex_set_up(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        parts = Parts(db, root)
        backend, writer = parts.backend, parts.writer
        stop = asyncio.Event()
        target = backend.writer_for(await backend.create_generation())
        writer.enable_main(False)  # a first build: no active generation yet
        writer.add_target(target)
        await writer.apply([upsert(1)], stop)
        await target.refresh()
        assert set(await target.versions(None)) == {"cus_0000001"}
        assert await backend.active_generation() is None  # nothing was written there
        generation = (await backend.generations())[0]
        await backend.activate(generation)
        writer.activated(target)
        assert writer.main_writable
        await writer.apply([upsert(2)], stop)
        assert set(await backend.versions(None)) == {"cus_0000001", "cus_0000002"}
        # a failed reindex's target stops getting batches, even one stuck retrying on it
        stuck = FlakyBackend(backend.writer_for(await backend.create_generation()))
        stuck.down = True
        writer.add_target(stuck)
        applying = asyncio.ensure_future(writer.apply([upsert(3)], stop))
        await until(lambda: stuck.failures >= 2)
        writer.abandon_target(stuck)
        await applying
        assert "cus_0000003" in await backend.versions(None)
        assert not await stuck.versions(None)
        await backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_an_index_of_another_schema_is_no_longer_written_and_needs_a_rebuild(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        parts = Parts(db, root)
        await parts.start()
        assert not await parts.writer.probe_incompatible()
        parts.backend.incompatible = await parts.backend.active_generation()  # files changed
        with pytest.raises(HistoryLost, match="incompatible schema"):
            await parts.writer.apply([upsert(1)], asyncio.Event())
        assert parts.writer.main_incompatible and not parts.writer.main_writable
        assert parts.stats.retries == 0  # not retried: it could never succeed
        await parts.writer.apply([upsert(2)], asyncio.Event())  # not written, not retried
        assert parts.backend.failures == 1
        await parts.backend.close()

    run(mongodb_uri, database_name, tmp_path, body)


def test_a_lost_lease_stops_the_writes(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def body(db: Any, root: Path) -> None:
        parts = Parts(db, root)
        await parts.start()
        parts.lease.note_lost()
        with pytest.raises(LeaseLost):
            await parts.writer.apply([upsert(1)], asyncio.Event())
        assert not await parts.backend.versions(None)
        await parts.backend.close()

    run(mongodb_uri, database_name, tmp_path, body)
