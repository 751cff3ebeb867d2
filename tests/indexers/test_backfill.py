"""Reading MongoDB's current state into index operations (:mod:`indexers.backfill`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from indexers.backends.base import Delete, Upsert
from indexers.backfill import COPY_VERSION_MARGIN_S, copy_version, current_ops
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
