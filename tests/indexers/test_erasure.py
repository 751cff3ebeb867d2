"""Erased customers leave the search index at once and never come back into it: not through a
full reindex, a replayed change event, an indexer restarted from an older checkpoint, nor a
customer document restored into MongoDB from a backup (tantivy; real SecantusDB)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.service import CustomerModuleService
from indexers.apply import to_ops
from indexers.backends.base import ApplyResult, Delete, SearchBackend, Upsert
from indexers.backends.embedded import EmbeddedBackend
from indexers.query import ListQuery
from indexers.state import IndexerState
from indexers.sync import Indexer
from indexers.verify import verify
from indexers.wiring import search_reader
from tests.indexers.sync_support import client, running


class RecordingBackend(EmbeddedBackend):
    """tantivy, remembering the ids of every Upsert its active generation was sent, and
    taking ``delay`` seconds more over each write (a busy index)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.upserted: list[str] = []
        self.delay = 0.0

    async def apply(self, ops: Sequence[Upsert | Delete]) -> ApplyResult:
        self.upserted += [op.id for op in ops if isinstance(op, Upsert)]
        await asyncio.sleep(self.delay)
        return await super().apply(ops)


async def indexed(backend: SearchBackend, customer_id: str) -> bool:
    await backend.refresh()
    return bool(await backend.versions([customer_id]))


async def found_by_q(backend: SearchBackend, q: str) -> int:
    _, total = await backend.list_ids(ListQuery(q=q, take=10))
    return total


async def setup(uri: str, name: str, root: Path) -> tuple[Any, CustomerModuleService, Indexer]:
    mongo = client(uri)
    service = await CustomerModuleService.connect(client=mongo, database=name)
    indexer = Indexer(mongo[name], RecordingBackend(root), lease_ttl=3.0, batch_size=1)
    return mongo, service, indexer


async def insert_event(collection: Any, token: Any, customer_id: str) -> dict[str, Any]:
    """The insert event of ``customer_id`` after ``token``, as the change stream gives it."""
    async with await collection.watch(resume_after=token, max_await_time_ms=50) as stream:
        while (event := await stream.try_next()) is not None:
            if event["operationType"] == "insert" and event["documentKey"]["_id"] == customer_id:
                return event
    raise AssertionError("no insert event")


async def erased_then_reindexed(service: CustomerModuleService, ix: Indexer) -> tuple[str, Any]:
    """A customer indexed, erased, then a full reindex (a generation without its delete
    tombstone); return its id and the checkpoint saved before it was created."""
    await service.create_customers({"email": "keep@example.com"})
    await ix.run_until_caught_up()
    before = (await ix.state.load())["resume_token"]
    customer = await service.create_customers({"email": "erase.me@example.com"})
    await ix.run_until_caught_up()
    assert await indexed(ix.backend, customer.id)
    await service.erase_customers(customer.id, actor="apk_1")
    await ix.run_until_caught_up(reindex=True)
    assert not await indexed(ix.backend, customer.id)
    return customer.id, before


def test_erasure_answers_after_the_index_dropped_the_customer(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def main() -> None:
        mongo, service, ix = await setup(mongodb_uri, database_name, tmp_path / "search")
        await ix.run_until_caught_up()
        async with running(ix, wait_for="ready"):
            reader = search_reader(mongo[database_name], ix.backend, indexer=ix)
            attached = CustomerModuleService(service.store, index=reader)
            gone = await attached.create_customers({"email": "zora.quill@example.com"})
            kept = await attached.create_customers({"email": "zora.keep@example.com"})
            assert (await attached.list_and_count_customers({"q": "zora"}))[1] == 2
            ix.backend.delay = 0.3  # type: ignore[attr-defined]

            result = await attached.erase_customers(gone.id, actor="apk_1")

            assert result.index_synced is True
            # straight from the index, without read-your-writes: already gone
            assert not await indexed(ix.backend, gone.id)
            assert await found_by_q(ix.backend, "zora.quill") == 0
            assert await indexed(ix.backend, kept.id)
            page, count = await attached.list_and_count_customers({"q": "zora"})
            assert count == 1 and [c.id for c in page] == [kept.id]
        await mongo.close()

    asyncio.run(main())


def test_a_reindex_and_a_replayed_event_do_not_bring_an_erased_customer_back(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def main() -> None:
        mongo, service, ix = await setup(mongodb_uri, database_name, tmp_path / "search")
        customer_id, before = await erased_then_reindexed(service, ix)
        event = await insert_event(mongo[database_name].customers, before, customer_id)

        ops, bad = to_ops([event])  # the insert event, delivered once more
        assert not bad and isinstance(ops[0], Upsert)
        await ix.writer.apply(ops, asyncio.Event())
        assert not await indexed(ix.backend, customer_id)
        assert await found_by_q(ix.backend, "erase.me") == 0
        await ix.backend.close()
        await mongo.close()

    asyncio.run(main())


def test_an_indexer_restarted_from_an_older_checkpoint_never_writes_it_again(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def main() -> None:
        mongo, service, ix = await setup(mongodb_uri, database_name, tmp_path / "search")
        customer_id, older = await erased_then_reindexed(service, ix)
        state = IndexerState(mongo[database_name])
        backend: RecordingBackend = ix.backend  # type: ignore[assignment]
        backend.upserted.clear()

        # the checkpoint of a backup, from before the customer existed
        await state.collection.update_one({"_id": state.name}, {"$set": {"resume_token": older}})
        await ix.run_until_caught_up()  # replays its insert (batches of one event), then more

        assert customer_id not in backend.upserted
        assert not await indexed(backend, customer_id)
        await backend.close()
        await mongo.close()

    asyncio.run(main())


def test_a_customer_restored_from_a_backup_stays_out_of_the_index(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    async def main() -> None:
        mongo, service, ix = await setup(mongodb_uri, database_name, tmp_path / "search")
        customer = await service.create_customers({"email": "erase.me@example.com"})
        await service.create_customers({"email": "keep@example.com"})
        backup = await service.store.customers.find_one({"_id": customer.id})
        await ix.run_until_caught_up()
        await service.erase_customers(customer.id, actor="apk_1")

        assert backup is not None
        await service.store.customers.insert_one(backup)  # the restored backup brings it back
        await ix.run_until_caught_up()  # its insert event: screened
        assert not await indexed(ix.backend, customer.id)
        await ix.run_until_caught_up(reindex=True)  # the copy: screened; the verify accepts it
        assert not await indexed(ix.backend, customer.id)
        assert await ix.backend.count() == 1
        checked = await verify(mongo[database_name], ix.backend, settle_timeout=0.5)
        assert checked.ok, checked.summary()  # kept out on purpose: not "missing"
        # erasing it again removes it from MongoDB too, keeping the first receipt
        again = await service.erase_customers(customer.id, actor="apk_2")
        assert again.erased == [customer.id] and again.receipts[0].by == "apk_1"
        await ix.backend.close()
        await mongo.close()

    asyncio.run(main())
