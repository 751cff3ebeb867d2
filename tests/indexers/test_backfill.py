"""Reading MongoDB's current state into index operations (:mod:`indexers.backfill`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import bson
from bson.raw_bson import RawBSONDocument

from indexers.backends.base import Delete, Upsert
from indexers.backfill import COPY_VERSION_MARGIN_S, _search_docs, copy_version, current_ops
from indexers.documents import to_search_doc
from tests.indexers.sync_support import raw_customer
from tests.indexers.test_sync import run


def test_current_ops_read_what_mongodb_holds_now(mongodb_uri: str, database_name: str) -> None:
    async def body(db: Any, _root: Path) -> None:
        await db.customers.insert_many(
            [raw_customer(1), {"_id": "cus_bad", "email": "x@example.com"}]  # no created_at
        )
        ids = ["cus_0000001", "cus_gone", "cus_bad"]
        ops, bad = await current_ops(db.customers, ids)
        assert [(type(op), op.id) for op in ops] == [
            (Upsert, "cus_0000001"),
            (Delete, "cus_gone"),  # gone from MongoDB: gone from the index
        ]
        version = ops[0].version
        assert ops[1].version == version and abs((version >> 32) - time.time()) < 60
        assert [(i, v) for i, v, _ in bad] == [("cus_bad", version)]
        assert "created_at" in bad[0][2]
        copied = await copy_version(db.customers)  # any later event outranks a copy
        assert 0 <= (version >> 32) - (copied >> 32) - COPY_VERSION_MARGIN_S <= 1

    run(mongodb_uri, database_name, Path("."), body)


def test_a_raw_page_maps_as_its_decoded_documents_do_and_names_the_bad_ones() -> None:
    """The reindex copy reads pages of undecoded BSON; each becomes what the sync indexer makes
    of the same customer (datetimes naive or aware), and a bad one is set aside by id."""
    rows = [
        raw_customer(1),
        {**raw_customer(2), "groups": [{"customer_group_id": "cusgroup_1", "deleted_at": None}]},
        {"_id": "cus_bad", "email": "x@example.com"},  # no created_at
        raw_customer(3),
    ]
    page = [RawBSONDocument(bson.encode(row)) for row in rows]
    docs, bad = _search_docs(page, 7)
    assert docs == [to_search_doc(row, 7) for row in rows if row["_id"] != "cus_bad"]
    assert [customer_id for customer_id, _ in bad] == ["cus_bad"]
    assert "created_at" in bad[0][1]
    assert docs[1].group_ids == ("cusgroup_1",)
