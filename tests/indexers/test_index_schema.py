"""The index side is read from the customer declaration, and an index knows what it was built with.

A field declared searchable, filterable and sortable is served by both engines with no edit in
``indexers/``; an index built before (another fingerprint) is incompatible, so the sync indexer
rebuilds it by itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.entities import CUSTOMER, Role
from indexers import documents
from indexers.backends.base import IncompatibleIndex, SearchBackend
from indexers.backends.elastic import mapping as elastic_mapping
from indexers.backends.embedded import EmbeddedBackend
from indexers.backends.embedded import schema as embedded_schema
from indexers.backends.embedded.documents import to_tantivy
from indexers.backends.embedded.generation import Generation
from indexers.documents import LAYOUT, SearchDoc, to_search_doc
from indexers.listed import LISTED_SHAPE
from indexers.query import ListQuery
from indexers.reader import IndexReader
from indexers.state import IndexerState
from indexers.sync import Indexer
from indexers.upgrade import REASON, rebuild_from_itself
from tests.indexers.conftest import Engine, customer, upserts
from tests.indexers.sync_support import (
    assert_index_matches,
    now,
    raw_customer,
    with_database,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_layout_is_the_declarations() -> None:
    assert LAYOUT.text == CUSTOMER.q_fields
    assert set(LAYOUT.exact) == set(CUSTOMER.exact_fields) - {"id"}
    assert set(LAYOUT.exact) | set(LAYOUT.text) <= set(LAYOUT.kept)
    assert LAYOUT.kept[: len(LAYOUT.text)] == LAYOUT.text  # searched first: q's runs in q's order
    assert LAYOUT.ranges == CUSTOMER.range_fields
    assert set(LAYOUT.sort_text) | set(LAYOUT.sort_dates) == set(CUSTOMER.sort_fields) - {"id"}
    assert LAYOUT.roles[Role.EMAIL] == "email"
    assert set(SearchDoc.__dataclass_fields__) == {
        *CUSTOMER.indexed,
        "group_ids",
        "version",
        "listed",
    }


def test_a_declared_field_is_served_by_both_engines_and_needs_a_reindex(tmp_path: Path) -> None:
    async def build_today() -> None:
        backend = EmbeddedBackend(tmp_path / "search")
        await backend.apply(upserts([customer(1)]))
        await backend.close()

    asyncio.run(build_today())
    done = subprocess.run(
        [sys.executable, "-m", "tests.indexers.declared_field", str(tmp_path / "search")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "served", done.stderr[-3000:]


# -- fingerprints --------------------------------------------------------------------------------


async def _forge(engine: Engine, backend: SearchBackend, fingerprint: str | None) -> str:
    """Make the active generation look built with ``fingerprint`` (None: none recorded)."""
    name = await backend.active_generation()
    assert name is not None
    if engine.name == "embedded":
        await backend.close()
        recorded = engine.tmp_path / "search" / name / embedded_schema.FINGERPRINT_FILE
        if fingerprint is None:
            recorded.unlink()
        else:
            recorded.write_text(fingerprint)
        return name
    client_ = backend.client  # type: ignore[attr-defined]
    forged = f"{name}-forged"
    meta = {} if fingerprint is None else {"schema": fingerprint}
    mappings = {**elastic_mapping.MAPPINGS, "_meta": meta}
    await client_.indices.create(index=forged, settings=elastic_mapping.SETTINGS, mappings=mappings)
    await backend.activate(forged)
    return forged


def test_a_generation_records_the_fingerprint_it_is_built_with(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply(upserts([customer(1)]))
        name = await b.active_generation()
        if engine.name == "embedded":
            recorded = engine.tmp_path / "search" / str(name) / embedded_schema.FINGERPRINT_FILE
            assert recorded.read_text().strip() == embedded_schema.FINGERPRINT
        else:
            fingerprints = await b._generations.fingerprints(str(name))  # type: ignore[attr-defined]
            assert fingerprints == {name: elastic_mapping.FINGERPRINT}

    engine.run(body)


def test_a_generation_of_another_fingerprint_is_incompatible(engine: Engine) -> None:
    async def body(b: SearchBackend) -> None:
        await b.apply(upserts([customer(1)]))
        await _forge(engine, b, "another-schema")
        b = engine.open() if engine.name == "embedded" else b
        try:
            with pytest.raises(IncompatibleIndex, match="another-schema"):
                await b.count()
            with pytest.raises(IncompatibleIndex):
                await b.apply(upserts([customer(2)]))
            assert await IndexReader(b).list_customer_ids(None) is None  # → MongoDB
        finally:
            if engine.name == "embedded":
                await b.close()

    engine.run(body)


def test_the_response_document_is_part_of_the_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new public customer field changes the fingerprint: an index built before holds
    response documents without it, and would serve list pages without it."""
    engine = {"engine": "x"}
    before, accepted = documents.fingerprint(engine), documents.accepted_fingerprints(engine)
    assert before in accepted and len(accepted) == 2  # and the one from before it was described
    shape = (*LISTED_SHAPE, ("tax_id", "tax_id", False))
    monkeypatch.setattr(documents, "LISTED_SHAPE", shape)
    assert documents.fingerprint(engine) != before
    # indexes from before the fingerprint described it hold today's fields, not the new one's
    assert documents.accepted_fingerprints(engine) == {documents.fingerprint(engine)}


def test_an_index_recorded_before_the_response_document_was_fingerprinted_is_kept(
    engine: Engine,
) -> None:
    older = engine_module(engine).ACCEPTED - {engine_module(engine).FINGERPRINT}

    async def body(b: SearchBackend) -> None:
        await b.apply(upserts([customer(1)]))
        (fingerprint,) = older
        await _forge(engine, b, fingerprint)
        b = engine.open() if engine.name == "embedded" else b
        try:
            assert await b.list_ids(ListQuery()) == (["cus_000001"], 1)
            await b.apply(upserts([customer(2)]))
            assert await b.count() == 2
        finally:
            if engine.name == "embedded":
                await b.close()

    engine.run(body)


def engine_module(engine: Engine) -> Any:
    """The schema module of ``engine`` (its FINGERPRINT and ACCEPTED)."""
    return embedded_schema if engine.name == "embedded" else elastic_mapping


@pytest.mark.parametrize("todays", [True, False])
def test_an_index_from_before_fingerprints_is_kept_only_if_nothing_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, todays: bool
) -> None:
    legacy = embedded_schema.FINGERPRINT if todays else "an-older-schema"
    monkeypatch.setattr(embedded_schema, "LEGACY_FINGERPRINT", legacy)
    engine = Engine("embedded", tmp_path)

    async def body() -> None:
        backend = engine.open()
        await backend.apply(upserts([customer(1)]))
        await _forge(engine, backend, None)
        backend = engine.open()
        try:
            if todays:
                assert await backend.list_ids(ListQuery()) == (["cus_000001"], 1)
            else:
                with pytest.raises(IncompatibleIndex, match="an-older-schema"):
                    await backend.count()
        finally:
            await backend.close()

    asyncio.run(body())


def test_the_sync_indexer_rebuilds_an_index_of_another_fingerprint(
    mongodb_uri: str, database_name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine("embedded", tmp_path)

    async def body(db: Any) -> None:
        await db.customers.insert_many([raw_customer(n) for n in range(20)])
        backend = engine.open()
        await Indexer(db, backend, lease_ttl=3.0).run_until_caught_up()
        old = await _forge(engine, backend, "built-before-a-field-was-declared")
        documents = engine.tmp_path / "search" / old / embedded_schema.DOCUMENTS_FILE
        documents.write_text("documents-without-that-field")  # so only MongoDB has them
        backend = engine.open()
        indexer = Indexer(db, backend, lease_ttl=3.0)
        with caplog.at_level(logging.ERROR):
            await asyncio.wait_for(indexer.run_until_caught_up(), 60)
        assert "incompatible schema" in caplog.text and "FULL REINDEX" in caplog.text
        assert await backend.generations() == [await backend.active_generation()] != [old]
        await assert_index_matches(db.customers, backend)
        await backend.close()

    with_database(mongodb_uri, database_name, body)


def test_an_index_of_another_schema_with_the_same_documents_is_rebuilt_from_itself(
    mongodb_uri: str, database_name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """New derived keys or tokens need no MongoDB copy: the old generation gives its documents
    back, and the stream from the checkpoint brings what changed since."""
    engine = Engine("embedded", tmp_path)

    async def body(db: Any) -> None:
        await db.customers.insert_many([raw_customer(n) for n in range(30)])
        await db.customers.update_one({"_id": "cus_0000004"}, {"$set": {"deleted_at": now()}})
        backend = engine.open()
        await Indexer(db, backend, lease_ttl=3.0).run_until_caught_up()
        ids = [raw_customer(n)["_id"] for n in range(30)]
        await db.customers.delete_one({"_id": ids[6]})
        await Indexer(db, backend, lease_ttl=3.0).run_until_caught_up()  # its tombstone
        before = await backend.documents(ids)
        old = str(await backend.active_generation())
        await backend.close()
        # what tantivy's lost first delete left in older indexes: not to be copied
        generation = Generation(engine.tmp_path / "search" / old)
        for n, version in ((5, before[ids[5]].version - 1), (6, before[ids[5]].version)):
            generation.writer.add_document(to_tantivy(to_search_doc(raw_customer(n), version)))
        generation.writer.commit()
        generation.close()
        assert await _forge(engine, engine.open(), "built-with-other-keys") == old
        # changed while the indexer was down: the stream brings them after the rebuild
        await db.customers.insert_many([raw_customer(n) for n in range(30, 35)])
        await db.customers.update_one({"_id": ids[1]}, {"$set": {"first_name": "Zoë"}})
        await db.customers.delete_one({"_id": ids[2]})
        backend = engine.open()
        with caplog.at_level(logging.INFO):
            await asyncio.wait_for(Indexer(db, backend, lease_ttl=3.0).run_until_caught_up(), 60)
        assert "rebuilding it from itself" in caplog.text, caplog.text
        assert "FULL REINDEX" not in caplog.text
        assert await backend.generations() == [await backend.active_generation()] != [old]
        await assert_index_matches(db.customers, backend)
        assert await backend.duplicated() == []
        after = await backend.documents(ids)
        assert ids[6] not in after
        untouched = [id for id in ids if id not in (ids[1], ids[2], ids[6])]
        # the very documents (versions included), not a copy of MongoDB at a new version
        assert {id: after[id] for id in untouched} == {id: before[id] for id in untouched}
        assert after[ids[1]].first_name == "Zoë" and ids[2] not in after
        assert after[ids[4]].deleted_at is not None  # soft-deleted ones are documents too
        last = (await IndexerState(db).load())["last_reindex"]
        assert last["reason"] == REASON and last["copied"] == 29 and last["previous"] == old
        await backend.close()

    with_database(mongodb_uri, database_name, body)


def test_a_generation_opened_compatible_records_its_documents(tmp_path: Path) -> None:
    """Generations built before the documents were recorded get the file when opened, so a
    later schema change can rebuild them from themselves."""
    engine = Engine("embedded", tmp_path)

    async def body() -> None:
        backend = engine.open()
        await backend.apply(upserts([customer(1)]))
        name = await backend.active_generation()
        await backend.close()
        path = engine.tmp_path / "search" / str(name)
        assert embedded_schema.recorded_documents(path) == embedded_schema.DOCUMENTS
        (path / embedded_schema.DOCUMENTS_FILE).unlink()
        backend = engine.open()
        assert await backend.count() == 1
        assert (path / embedded_schema.DOCUMENTS_FILE).read_text().strip() == (
            embedded_schema.DOCUMENTS
        )
        await backend.close()

    asyncio.run(body())


def test_a_rebuild_from_itself_stopped_or_crashed_midway_is_done_again(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    engine = Engine("embedded", tmp_path)

    async def body(db: Any) -> None:
        backend = engine.open()
        await backend.apply(upserts([customer(n) for n in range(1, 6)]))
        old = await _forge(engine, backend, "built-with-other-keys")
        backend = engine.open()
        stop = asyncio.Event()
        stop.set()
        state = IndexerState(db)
        assert await state.try_acquire("me", 30)
        seen: list[tuple[int, int]] = []
        stopped = await rebuild_from_itself(
            backend, state, "me", lambda: None, stop, lambda *p: seen.append(p)
        )
        assert stopped is None and seen == [(0, 5)]
        assert (await state.load()).get("reindex") is None  # no progress left behind
        assert await backend.generations() == [old] == [await backend.active_generation()]
        with pytest.raises(IncompatibleIndex):
            await backend.count()  # still the old one, rebuilt at the next start
        leftover = await backend.create_generation()  # as a crash midway leaves one
        seen.clear()
        report = await rebuild_from_itself(
            backend, state, "me", lambda: None, asyncio.Event(), lambda *p: seen.append(p)
        )
        assert report is not None and report.copied == 5 and report.previous == old
        assert seen == [(0, 5), (5, 5)]  # and the state document followed (index status)
        assert (await state.load())["last_reindex"]["reason"] == REASON
        assert await backend.generations() == [report.generation] != [leftover]
        assert await backend.count() == 5
        await backend.close()

    with_database(mongodb_uri, database_name, body)


def test_a_generation_from_before_documents_were_recorded_is_known_by_its_fingerprint(
    mongodb_uri: str, database_name: str, tmp_path: Path
) -> None:
    """The generations of the release before recorded no ``DOCUMENTS``; their fingerprint
    says which documents they hold, so they too are rebuilt from themselves while those are
    today's (and from MongoDB once the documents change)."""
    engine = Engine("embedded", tmp_path)
    (before, documents), *_ = embedded_schema.UNSTAMPED_DOCUMENTS.items()

    async def body(db: Any) -> None:
        backend = engine.open()
        await backend.apply(upserts([customer(n) for n in range(1, 4)]))
        old = await _forge(engine, backend, before)
        (engine.tmp_path / "search" / old / embedded_schema.DOCUMENTS_FILE).unlink()
        backend = engine.open()
        state = IndexerState(db)
        assert await state.try_acquire("me", 30)
        report = await rebuild_from_itself(backend, state, "me", lambda: None, asyncio.Event())
        assert (report is not None) == (documents == embedded_schema.DOCUMENTS)
        await backend.close()

    with_database(mongodb_uri, database_name, body)
